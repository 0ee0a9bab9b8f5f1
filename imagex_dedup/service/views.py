"""The veImageX-compatible service endpoint: one view, routed on ``Action`` and ``Version``.

``POST <mount>/?Action=GetImageDuplicateDetection&Version=2018-08-01&ServiceId=...``,
``GET <mount>/?Action=GetDedupTaskStatus&Version=2018-08-01&TaskId=...`` and the extension
``GET <mount>/?Action=GetDedupUsage&Version=2018-08-01&ServiceId=...``. Every answer, error
or not, is a Volcengine envelope; the work is done by :mod:`imagex_dedup.service.actions`.
"""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from imagex_dedup.apidocs import SCHEMA
from imagex_dedup.service import actions, envelope, params, replay
from imagex_dedup.service.auth import (
    IsServiceCaller,
    SignedRequest,
    VolcSignatureAuthentication,
    caller_of,
)
from imagex_dedup.service.schema import detection_schema, query_schema
from imagex_dedup.service.throttling import DetectionRateThrottle, StatusRateThrottle
from imagex_dedup.volc.errors import new_request_id

THROTTLES: dict[str, type[BaseThrottle]] = {
    params.DETECT: DetectionRateThrottle,
    params.STATUS: StatusRateThrottle,
    params.USAGE: StatusRateThrottle,
}


class ServiceView(APIView):
    """Dispatcher of the service's actions."""

    schema = SCHEMA
    permission_classes = [IsServiceCaller]
    renderer_classes = [JSONRenderer]
    # The body is read raw by service.params (to answer in Volcengine terms); the parser is
    # declared for the schema.
    parser_classes = [JSONParser]
    content_negotiation_class = envelope.FirstRendererNegotiation

    action = ""
    request_id = ""

    def get_authenticators(self) -> list[Any]:
        return [
            VolcSignatureAuthentication(),
            *(auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES),
        ]

    def get_throttles(self) -> list[BaseThrottle]:
        return [THROTTLES[self.action]()]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.request_id = new_request_id()
        # Before authentication, which reads the body to check its signature.
        replay.check_body_size(request._request)
        self.action = params.resolve_action(request.method or "", request.query_params)
        super().initial(request, *args, **kwargs)

    def _metadata(self) -> dict[str, str]:
        query = self.request.query_params
        auth = getattr(self.request, "_auth", None)
        return {
            "request_id": self.request_id or new_request_id(),
            "action": query.get("Action", ""),
            "version": query.get("Version", ""),
            "region": (
                auth.authorization.region
                if isinstance(auth, SignedRequest)
                else envelope.DEFAULT_REGION
            ),
        }

    def handle_exception(self, exc: Exception) -> Response:
        return envelope.failure(exc, **self._metadata())

    @detection_schema
    def post(self, request: Request) -> Response:
        signed = request.auth if isinstance(request.auth, SignedRequest) else None
        with replay.single_use(signed.authorization if signed else None):
            result = actions.detect_duplicates(
                caller_of(request),
                request.query_params,
                request.content_type or "",
                replay.checked_body(request._request),
                request_id=self.request_id,
            )
        return envelope.success(result, **self._metadata())

    @query_schema
    def get(self, request: Request) -> Response:
        caller = caller_of(request)
        if self.action == params.USAGE:
            result = actions.usage(caller, request.query_params)
        else:
            result = actions.task_status(caller, request.query_params)
        return envelope.success(result, **self._metadata())
