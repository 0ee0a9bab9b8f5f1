"""Authentication of service requests: Volcengine HMAC-SHA256 signatures by access key, next to
whatever DRF authentication the host configures (session, basic, token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import AccessKey
from imagex_dedup.service.access import Caller
from imagex_dedup.service.envelope import VolcAuthenticationFailed
from imagex_dedup.volc.errors import SignatureError
from imagex_dedup.volc.signing import ALGORITHM, ParsedAuthorization, verify_request


@dataclass(frozen=True)
class SignedRequest:
    """``request.auth`` of a request signed with an access key."""

    access_key: AccessKey
    authorization: ParsedAuthorization


class VolcSignatureAuthentication(BaseAuthentication):
    """``Authorization: HMAC-SHA256 Credential=AK/date/region/service/request, ...``.

    Requests without such a header are left to the other authenticators. The key must be active
    and belong to an active service; which service it may call is checked by the action.
    """

    def authenticate(self, request: Request) -> tuple[Any, SignedRequest] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(ALGORITHM):
            return None
        keys: dict[str, AccessKey] = {}

        def secret_for(access_key_id: str) -> str | None:
            key = (
                AccessKey.objects.select_related("service", "user")
                .filter(access_key_id=access_key_id, is_active=True, service__is_active=True)
                .first()
            )
            if key is None:
                return None
            keys[access_key_id] = key
            return key.secret_access_key

        django_request = request._request
        try:
            parsed = verify_request(
                request.method or "GET",
                django_request.path,
                request.META.get("QUERY_STRING", ""),
                dict(django_request.headers),
                django_request.body,
                secret_for,
                max_skew=dedup_settings.signature_max_skew,
            )
        except SignatureError as exc:
            raise VolcAuthenticationFailed(exc.code, exc.message) from None
        key = keys[parsed.access_key_id]
        user = key.user if key.user is not None and key.user.is_active else AnonymousUser()
        return user, SignedRequest(key, parsed)

    def authenticate_header(self, request: Request) -> str:
        return ALGORITHM


class IsServiceCaller(BasePermission):
    """A signed request, or an authenticated host-site user."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, SignedRequest) or bool(
            request.user and request.user.is_authenticated
        )


def caller_of(request: Request) -> Caller:
    signed = request.auth if isinstance(request.auth, SignedRequest) else None
    user = request.user if request.user and request.user.is_authenticated else None
    return Caller(user=user, access_key=signed.access_key if signed else None)
