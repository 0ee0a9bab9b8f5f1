"""OpenAPI description of the service endpoint (drf-spectacular); used for documentation only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
)
from rest_framework import serializers

from imagex_dedup.apidocs import extend_schema
from imagex_dedup.service import params


class VolcSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "imagex_dedup.service.auth.VolcSignatureAuthentication"
    name = "volcengineSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Volcengine SignerV4: HMAC-SHA256 Credential=AK/date/region/"
            "service/request, SignedHeaders=..., Signature=... with X-Date.",
        }


class ErrorSerializer(serializers.Serializer):
    CodeN = serializers.IntegerField()
    Code = serializers.CharField()
    Message = serializers.CharField()


class ResponseMetadataSerializer(serializers.Serializer):
    RequestId = serializers.CharField()
    Action = serializers.CharField()
    Version = serializers.CharField()
    Service = serializers.CharField()
    Region = serializers.CharField()
    Error = ErrorSerializer(required=False)


class DetectionRequestSerializer(serializers.Serializer):
    Urls = serializers.ListField(child=serializers.URLField(), min_length=1)
    Async = serializers.BooleanField(default=False)
    Callback = serializers.CharField(required=False, help_text="Required when Async is true.")
    Similarity = serializers.FloatField(
        required=False, min_value=0, max_value=1, help_text="At most two decimals."
    )
    ExtractorType = serializers.ChoiceField(choices=sorted(params.EXTRACTOR_TYPES), default="hash")
    ServiceId = serializers.CharField(required=False, help_text="Also accepted in the query.")


class FailedUrlSerializer(serializers.Serializer):
    Url = serializers.CharField()
    Code = serializers.CharField()
    Message = serializers.CharField()


class DetectionResultSerializer(serializers.Serializer):
    Score = serializers.CharField(required=False, help_text="Only for exactly two usable URLs.")
    Groups = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    FailedUrls = FailedUrlSerializer(many=True, help_text="imagex_dedup extension.")


class AsyncAcceptedSerializer(serializers.Serializer):
    TaskId = serializers.CharField()
    Callback = serializers.CharField()


class TaskStatusSerializer(DetectionResultSerializer):
    Status = serializers.IntegerField(help_text="0 running, 1 success, 2 failed.")
    TaskId = serializers.CharField()
    Result = DetectionResultSerializer()
    Error = ErrorSerializer(required=False)


class UsageDaySerializer(serializers.Serializer):
    Date = serializers.DateField()
    Requests = serializers.IntegerField()
    Images = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    ServiceId = serializers.CharField()
    StartTime = serializers.DateTimeField()
    EndTime = serializers.DateTimeField()
    Requests = serializers.IntegerField()
    Images = serializers.IntegerField()
    Daily = UsageDaySerializer(many=True)


def _envelope(name: str, result: serializers.Serializer) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {"ResponseMetadata": ResponseMetadataSerializer(), "Result": result},
    )


class ErrorResponseSerializer(serializers.Serializer):
    ResponseMetadata = ResponseMetadataSerializer()


_ERRORS = {
    status: OpenApiResponse(ErrorResponseSerializer, description=text)
    for status, text in {
        400: "MissingParameter, MissingRequestInfo, InvalidParameter, InvalidAuthorization, "
        "InvalidTimestamp",
        401: "MissingAuthenticationToken, InvalidAccessKey, SignatureDoesNotMatch, "
        "SignatureReplayed (only with SIGNATURE_REJECT_REPLAYS)",
        413: "RequestEntityTooLarge",
        403: "AccessDenied",
        404: "InvalidActionOrVersion, InvalidServiceId, TaskNotFound",
        429: "FlowLimitExceeded",
        504: "RequestTimeout",
    }.items()
}


def _query(name: str, description: str, *, required: bool = False, enum: list[str] | None = None):
    return OpenApiParameter(
        name, str, OpenApiParameter.QUERY, required=required, description=description, enum=enum
    )


_ACTION_VERSION = [_query("Version", "API version.", required=True, enum=[params.API_VERSION])]

detection_schema = extend_schema(
    operation_id="GetImageDuplicateDetection",
    summary="Group near-duplicate images (veImageX GetImageDuplicateDetection)",
    parameters=[
        _query("Action", "The action.", required=True, enum=[params.DETECT]),
        *_ACTION_VERSION,
        _query("ServiceId", "The detection service (or ServiceId in the body)."),
    ],
    request=DetectionRequestSerializer,
    responses={
        200: PolymorphicProxySerializer(
            component_name="GetImageDuplicateDetectionResponse",
            serializers=[
                _envelope("DetectionResponse", DetectionResultSerializer()),
                _envelope("DetectionAsyncResponse", AsyncAcceptedSerializer()),
            ],
            resource_type_field_name=None,
        ),
        **_ERRORS,
    },
    examples=[
        OpenApiExample(
            "Sync",
            request_only=True,
            value={"Urls": ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"]},
        ),
        OpenApiExample(
            "Async",
            request_only=True,
            value={
                "Urls": ["https://img.example.com/a.jpg", "https://img.example.com/b.png"],
                "Async": True,
                "Callback": "https://client.example.com/dedup-done",
                "Similarity": 0.84,
            },
        ),
        OpenApiExample(
            "Sync result",
            response_only=True,
            value={
                "ResponseMetadata": {
                    "RequestId": "20261125184500A1B2C3D4E5F6A7B8C9D0",
                    "Action": params.DETECT,
                    "Version": params.API_VERSION,
                    "Service": "imagex",
                    "Region": "cn-north-1",
                },
                "Result": {
                    "Score": "0.96",
                    "Groups": {
                        "group0": [
                            "https://img.example.com/a.jpg",
                            "https://img.example.com/b.jpg",
                        ]
                    },
                    "FailedUrls": [],
                },
            },
        ),
    ],
)

query_schema = extend_schema(
    operation_id="GetDedupTaskStatus",
    summary="Poll an async detection (GetDedupTaskStatus) or read usage (GetDedupUsage)",
    parameters=[
        _query("Action", "The action.", required=True, enum=[params.STATUS, params.USAGE]),
        *_ACTION_VERSION,
        _query("TaskId", "GetDedupTaskStatus: the task."),
        _query("ServiceId", "GetDedupUsage: the service."),
        _query("StartTime", "GetDedupUsage: RFC 3339 time or date (default: 30 days ago)."),
        _query("EndTime", "GetDedupUsage: RFC 3339 time or date (default: now)."),
    ],
    responses={
        200: PolymorphicProxySerializer(
            component_name="ServiceQueryResponse",
            serializers=[
                _envelope("TaskStatusResponse", TaskStatusSerializer()),
                _envelope("UsageResponse", UsageSerializer()),
            ],
            resource_type_field_name=None,
        ),
        **_ERRORS,
    },
)
