"""Volcengine response envelopes for the service view, and DRF exceptions in Volcengine terms."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from imagex_dedup.service.errors import ServiceError
from imagex_dedup.volc.errors import error_body, http_status_for, message_for, response_metadata

logger = logging.getLogger(__name__)

DEFAULT_REGION = "cn-north-1"


class VolcAuthenticationFailed(exceptions.AuthenticationFailed):
    """A signature check failed; carries the Volcengine error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.volc_code = code
        self.status_code = http_status_for(code)


class FirstRendererNegotiation(BaseContentNegotiation):
    """Always JSON: SDK clients send assorted Accept headers and expect JSON back."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


def as_service_error(exc: Exception, *, action: str, version: str) -> ServiceError:
    """The Volcengine error for any exception raised while serving a request."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, VolcAuthenticationFailed):
        return ServiceError(exc.volc_code, str(exc.detail))
    if isinstance(exc, exceptions.Throttled):
        return ServiceError("FlowLimitExceeded")
    if isinstance(exc, exceptions.NotAuthenticated):
        return ServiceError("MissingAuthenticationToken")
    if isinstance(exc, exceptions.AuthenticationFailed):
        return ServiceError("InvalidAccessKey", str(exc.detail))
    if isinstance(exc, exceptions.PermissionDenied):
        return ServiceError("AccessDenied", str(exc.detail))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return ServiceError("InvalidActionOrVersion", None, action, version)
    if isinstance(exc, exceptions.APIException):
        return ServiceError("InvalidParameter", str(exc.detail))
    if isinstance(exc, RequestDataTooBig):  # over the host's DATA_UPLOAD_MAX_MEMORY_SIZE
        return ServiceError("RequestEntityTooLarge", "The request body is too large.")
    logger.exception("imagex_dedup: service request failed")
    return ServiceError("InternalError", message_for("InternalError"))


def success(
    result: dict[str, Any], *, request_id: str, action: str, version: str, region: str
) -> Response:
    metadata = response_metadata(
        request_id=request_id, action=action, version=version, region=region
    )
    return Response({"ResponseMetadata": metadata, "Result": result})


def failure(exc: Exception, *, request_id: str, action: str, version: str, region: str) -> Response:
    error = as_service_error(exc, action=action, version=version)
    body = error_body(
        error.code,
        error.message,
        request_id=request_id,
        action=action,
        version=version,
        region=region,
    )
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    response = Response(body, status=error.http_status, headers=headers)
    response.exception = True
    return response
