"""Property-based fuzzing (hypothesis, bounded): each parser of untrusted input raises only its
own error type, whatever it is fed.

* service request parser (``service.params``): random JSON bodies and query strings ->
  only ``ServiceError``;
* signature verifier (``volc.signing.verify_request``): random and mutated headers ->
  only ``SignatureError``;
* callback body parser (``callbacks._parse``) and signature check (``callback_signing.verify``)
  -> only ``BadCallback`` / ``ValueError``;
* image loader + fingerprint: mutated real JPEG/PNG/WebP bytes -> only ``ImageLoadError``.

The longer run is ``bench/fuzz/run_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagex_dedup import callback_signing
from imagex_dedup.backends.callback_view import BadCallback, _parse
from imagex_dedup.engine import ImageLoadError, fingerprint_image, load_image
from imagex_dedup.models import DetectionTask
from imagex_dedup.service import params
from imagex_dedup.service.errors import ServiceError
from imagex_dedup.volc.errors import SignatureError
from imagex_dedup.volc.signing import Credentials, sign_request, verify_request
from tests.conftest import photo_path

# bench/fuzz/run_fuzz.py raises the example counts through this variable.
SCALE = float(os.environ.get("IMAGEX_DEDUP_FUZZ_SCALE", "1"))
FAST = settings(
    max_examples=int(150 * SCALE),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
KEYS = ["ServiceId", "Urls", "Similarity", "Async", "Callback", "ExtractorType"]
URLISH = st.one_of(
    st.text(max_size=60),
    st.builds(lambda h, p: f"http://{h}/{p}", st.text(max_size=20), st.text(max_size=20)),
    st.sampled_from(["http://[::1", "http://a:99999/", "https://x.test/a.jpg", "http://"]),
)
detection_bodies = st.fixed_dictionaries(
    {},
    optional={
        "ServiceId": json_values | st.text(max_size=10),
        "Urls": st.lists(URLISH, max_size=4) | json_values,
        "Similarity": json_values | st.floats(-2, 2) | st.floats(allow_nan=True),
        "Async": json_values,
        "Callback": URLISH | json_values,
        "ExtractorType": st.sampled_from(["hash", "cnn", "x"]) | json_values,
    },
)
query_dicts = st.dictionaries(
    st.sampled_from(["Action", "Version", "ServiceId", "TaskId", "StartTime", "EndTime", *KEYS]),
    st.text(max_size=30),
    max_size=6,
)


def _bytes_of(body: Any) -> bytes:
    try:
        return json.dumps(body).encode()
    except (ValueError, TypeError):
        return b"{}"


@FAST
@given(
    query_dicts,
    st.one_of(detection_bodies.map(_bytes_of), st.binary(max_size=200)),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]),
)
def test_service_parser_raises_only_service_error(query, body, content_type) -> None:
    for call in (
        lambda: params.resolve_action("POST", query),
        lambda: params.resolve_action("GET", query),
        lambda: params.parse_detection(query, content_type, body, max_urls=3),
        lambda: params.parse_task_id(query),
        lambda: params.parse_usage(query, now=datetime(2026, 11, 25, tzinfo=UTC)),
    ):
        try:
            call()
        except ServiceError as error:
            assert error.code and error.message


def test_service_parser_refuses_deep_nesting() -> None:
    with pytest.raises(ServiceError):
        params.parse_detection({}, "application/json", b"[" * 50_000, max_urls=3)


# --- signature verifier --------------------------------------------------------------------------

CREDS = Credentials("AKfuzz", "secret")
URL = "http://testserver/imagex/?Action=GetImageDuplicateDetection&Version=2018-08-01"
BASE = sign_request("POST", URL, {"Content-Type": "application/json"}, b"{}", CREDS)
HEADER_NAMES = ["Authorization", "X-Date", "X-Content-Sha256", "Host", "Content-Type", "X-Extra"]


def _mutate(value: str, cut: int, insert: str) -> str:
    cut %= len(value) + 1
    return value[:cut] + insert + value[cut + 1 :]


@FAST
@given(
    st.dictionaries(st.sampled_from(HEADER_NAMES), st.text(max_size=120), max_size=6),
    st.sampled_from(HEADER_NAMES),
    st.integers(0, 300),
    st.text(max_size=5),
    st.text(max_size=80),
    st.binary(max_size=40),
)
def test_signature_verifier_raises_only_signature_error(
    random_headers, mutated, cut, insert, query, body
) -> None:
    mutated_headers = dict(BASE)
    if mutated in mutated_headers:
        mutated_headers[mutated] = _mutate(mutated_headers[mutated], cut, insert)
    for headers in (random_headers, mutated_headers, {**BASE, **random_headers}):
        try:
            verify_request(
                "POST", "/imagex/", query, headers, body, {"AKfuzz": "secret"}.get, max_skew=900
            )
        except SignatureError as error:
            assert error.code and error.http_status in (400, 401)


# --- callback body and signature -----------------------------------------------------------------


@FAST
@given(
    st.one_of(
        st.fixed_dictionaries(
            {"Status": json_values | st.sampled_from([0, 1, 2]), "TaskId": json_values},
            optional={"Result": json_values, "Error": json_values},
        ).map(_bytes_of),
        json_values.map(_bytes_of),
        st.binary(max_size=100),
    ),
    st.text(max_size=80),
)
def test_callback_parser_raises_only_bad_callback(body, header) -> None:
    task = DetectionTask(task_id="a" * 32, remote_task_id="remote-1")
    try:
        payload = _parse(body, task)
    except BadCallback:
        pass
    else:
        assert payload["Status"] in (0, 1, 2)
    with contextlib.suppress(ValueError):
        callback_signing.verify("secret", body, header)


def test_callback_parser_refuses_deep_nesting() -> None:
    with pytest.raises(BadCallback):
        _parse(b"[" * 50_000, DetectionTask(task_id="a" * 32))


# --- image loader --------------------------------------------------------------------------------

SAMPLES = {
    name: photo_path(name).read_bytes() for name in ("flower.jpg", "test-card.png", "iss634.webp")
}


@settings(
    max_examples=int(120 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow],
          database=None)  # fmt: skip
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)), max_size=8
    ),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_loader_and_fingerprint_raise_only_image_load_error(name, patches, keep) -> None:
    data = bytearray(SAMPLES[name])
    for position, patch in patches:
        at = int(position * len(data))
        data[at : at + len(patch)] = patch
    if keep is not None:
        del data[int(keep * len(data)) :]
    try:
        loaded = load_image(bytes(data))
    except ImageLoadError as error:
        assert error.code in {"too_large", "too_many_pixels", "unsupported_format", "corrupt",
                              "not_an_image"}  # fmt: skip
        return
    assert len(fingerprint_image(loaded.image).to_bytes()) > 0
