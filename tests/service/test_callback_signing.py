"""callback_signing: the header a client receives with every callback body."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from imagex_dedup.callback_signing import HEADER, sign, verify

BODY = b'{"Status":1,"TaskId":"abc","Result":{"Groups":{}}}'


def test_header_format_matches_the_documented_recipe() -> None:
    header = sign("s3cret", BODY, timestamp=1764096000)
    expected = hmac.new(b"s3cret", b"1764096000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1764096000,v1={expected}"
    assert HEADER == "X-Imagex-Dedup-Signature"


def test_round_trip_now() -> None:
    verify("s3cret", BODY, sign("s3cret", BODY))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (lambda: sign("other", BODY), "does not match"),
        (lambda: sign("s3cret", BODY + b" "), "does not match"),
        (lambda: sign("s3cret", BODY, timestamp=int(time.time()) - 301), "window"),
        (lambda: sign("s3cret", BODY, timestamp=int(time.time()) + 301), "window"),
        (lambda: "v1=" + "0" * 64, "t= and v1="),
        (lambda: f"t={int(time.time())}", "t= and v1="),
        (lambda: "t=soon,v1=" + "0" * 64, "not an integer"),
        (lambda: "", "t= and v1="),
    ],
)
def test_refusals(header, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        verify("s3cret", BODY, header())


def test_timestamp_is_bound_into_the_mac() -> None:
    now = int(time.time())
    mac = sign("s3cret", BODY, timestamp=now).split("v1=")[1]
    with pytest.raises(ValueError, match="does not match"):
        verify("s3cret", BODY, f"t={now - 10},v1={mac}")


def test_max_age_is_configurable() -> None:
    old = sign("s3cret", BODY, timestamp=int(time.time()) - 1000)
    verify("s3cret", BODY, old, max_age=3600)
