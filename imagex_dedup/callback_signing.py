"""Signatures on the callback bodies the detection service POSTs to its clients.

Header ``X-Imagex-Dedup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` where the MAC is
computed with the service's ``callback_secret`` over ``f"{t}.".encode() + body``. Binding the
timestamp into the MAC lets a receiver refuse replays older than ``max_age`` seconds.

Receivers that do not run this package can verify with the standard library only::

    t, v1 = (dict(p.split("=", 1) for p in header.split(","))[k] for k in ("t", "v1"))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) <= 300
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Imagex-Dedup-Signature"
SCHEME = "v1"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed at ``timestamp`` (now by default)."""
    if timestamp is None:
        timestamp = int(time.time())
    return f"t={timestamp},{SCHEME}={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, *, max_age: int = 300) -> None:
    """Check a header value against ``body``; raise ``ValueError`` saying why it is refused."""
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, value)
    if "t" not in fields or SCHEME not in fields:
        raise ValueError(f"signature header must contain t= and {SCHEME}=")
    try:
        timestamp = int(fields["t"])
    except ValueError:
        raise ValueError("signature timestamp is not an integer") from None
    if abs(time.time() - timestamp) > max_age:
        raise ValueError("signature timestamp is outside the allowed window")
    if not hmac.compare_digest(_mac(secret, body, timestamp), fields[SCHEME].lower()):
        raise ValueError("signature does not match the body")
