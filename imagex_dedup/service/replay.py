"""Refusal of replayed signed requests (opt-in), and of service bodies over the size cap.

A Volcengine signature stays valid for ``SIGNATURE_MAX_SKEW`` seconds either side of its
``X-Date``, so a captured signed POST could be re-sent within that window to run a detection
again (and be billed again). ``X-Date`` has one-second resolution, though: a client that sends
the same call twice within a second, or retries after a dropped connection, produces the *same*
signature for a legitimate request. The cloud refuses neither, so the guard is off by default
(``SIGNATURE_REJECT_REPLAYS``); a site that turns it on accepts that such retries get 401
``SignatureReplayed``.

Only POSTs are guarded: reads are idempotent. The signature is *claimed* when the action starts
and *released* if the request is refused (``ServiceError``): re-sending a refused request
changes nothing, so only honoured requests block their replays. The claim is an atomic
``cache.add`` in a cache shared by every server process, so two concurrent copies cannot both
pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import caches
from django.http import HttpRequest

from imagex_dedup.conf import dedup_settings
from imagex_dedup.service.errors import ServiceError
from imagex_dedup.volc.signing import ParsedAuthorization

KEY_PREFIX = "imagex_dedup:signature:"


def check_body_size(request: HttpRequest) -> None:
    """Refuse a body over ``SERVICE_MAX_BODY_BYTES`` by its Content-Length, before reading it.

    Django reads no more than Content-Length from a WSGI stream, so a body without one is
    empty; the length of what was read is checked again by :func:`checked_body`.
    """
    limit = dedup_settings.service_max_body_bytes
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise ServiceError("InvalidParameter", "Content-Length is not a number.") from None
    if length > limit:
        raise ServiceError("RequestEntityTooLarge", None, limit)


def checked_body(request: HttpRequest) -> bytes:
    """``request.body``, refused when it is over the cap whatever the headers said."""
    body = request.body
    limit = dedup_settings.service_max_body_bytes
    if len(body) > limit:
        raise ServiceError("RequestEntityTooLarge", None, limit)
    return body


def _key(auth: ParsedAuthorization) -> str:
    return f"{KEY_PREFIX}{auth.access_key_id}:{auth.signature}"


@contextmanager
def single_use(auth: ParsedAuthorization | None) -> Iterator[None]:
    """Run the body once per signature: refuse a replay; release the claim on a refusal."""
    if auth is None or not dedup_settings.signature_reject_replays:
        yield
        return
    cache = caches[dedup_settings.signature_replay_cache]
    key = _key(auth)
    # The signature is valid from X-Date - skew to X-Date + skew: remember it that long.
    if not cache.add(key, 1, timeout=2 * dedup_settings.signature_max_skew + 60):
        raise ServiceError("SignatureReplayed")
    try:
        yield
    except ServiceError:
        cache.delete(key)
        raise
