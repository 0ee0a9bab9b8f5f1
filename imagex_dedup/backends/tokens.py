"""Per-task tokens that authenticate inbound callbacks.

veImageX cannot sign a callback with our secret, so the callback URL we hand out carries a token:
a ``TimestampSigner`` signature (``SECRET_KEY`` + a salt) over the task id. It expires after
``CALLBACK_TOKEN_MAX_AGE`` seconds and is only good for its own task.
"""

from __future__ import annotations

import hmac

from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import DetectionTask

SALT = "imagex_dedup.callback"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(task_id: str) -> str:
    """The token for ``task_id`` (the signature part only: the id is in the URL already)."""
    return _signer().sign(task_id).removeprefix(f"{task_id}:")


def verify_token(task_id: str, token: str) -> bool:
    """Whether ``token`` was issued for ``task_id`` and has not expired."""
    if not token:
        return False
    try:
        value = _signer().unsign(
            f"{task_id}:{token}", max_age=dedup_settings.callback_token_max_age
        )
    except signing.BadSignature:
        return False
    return hmac.compare_digest(value.encode(), task_id.encode())


def callback_url(task: DetectionTask, request: HttpRequest | None = None) -> str:
    """The absolute URL a backend should POST ``task``'s result to.

    Built on ``PUBLIC_BASE_URL`` when set, else on ``request``'s host.
    """
    path = reverse("imagex_dedup:callback", args=[task.task_id])
    query = "?" + urlencode({"token": make_token(task.task_id)})
    base = dedup_settings.public_base_url.rstrip("/")
    if base:
        return f"{base}{path}{query}"
    if request is None:
        raise ImproperlyConfigured(
            'Set IMAGEX_DEDUP["PUBLIC_BASE_URL"] to build callback URLs outside a request.'
        )
    return request.build_absolute_uri(path) + query
