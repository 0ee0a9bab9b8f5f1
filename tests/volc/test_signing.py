"""Signer and verifier against the published vector, SDK-generated vectors and the live SDK."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagex_dedup.volc.errors import (
    ERRORS,
    SignatureError,
    code_n_for,
    error_body,
    http_status_for,
    message_for,
    new_request_id,
)
from imagex_dedup.volc.signing import (
    X_DATE_FORMAT,
    Credentials,
    parse_authorization,
    sign_request,
    verify_request,
)
from tests.volc.conftest import TEST_AK, TEST_SK, load_vectors

VECTORS = load_vectors()
GENERATED = {"X-Date", "X-Content-Sha256", "Authorization"}
CREDS = Credentials(TEST_AK, TEST_SK)
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
SECRETS = {TEST_AK: TEST_SK}.get
# 20261125T120000Z with the date in Arabic-Indic digits, which re's \d would accept.
ARABIC_INDIC_X_DATE = "".join(chr(0x0660 + int(d)) for d in "20261125") + "T120000Z"


def _x_date(vector: dict) -> datetime:
    return datetime.strptime(vector["x_date"], X_DATE_FORMAT).replace(tzinfo=UTC)


def _creds(vector: dict) -> Credentials:
    return Credentials(
        vector["access_key_id"], vector["secret_access_key"], vector["region"], vector["service"]
    )


def _url(vector: dict) -> str:
    return f"https://{vector['host']}{vector['path']}?{vector['raw_query']}"


def _ids(vector: dict) -> str:
    return vector["name"]


def test_vectors_cover_the_published_example_and_the_sdk() -> None:
    sources = {v["source"].split()[0] for v in VECTORS}
    assert sources == {"volcengine"}
    published = [v for v in VECTORS if v["name"] == "published_iam_list_users"]
    assert published[0]["signature"] == (
        "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"
    )
    assert len(VECTORS) >= 8


@pytest.mark.parametrize("vector", VECTORS, ids=_ids)
def test_signer_reproduces_vector(vector: dict) -> None:
    headers = {k: v for k, v in vector["headers"].items() if k not in GENERATED}
    signed = sign_request(
        vector["method"],
        _url(vector),
        headers,
        vector["body"].encode(),
        _creds(vector),
        now=_x_date(vector),
    )
    assert signed["Authorization"] == vector["headers"]["Authorization"]
    assert signed["Authorization"].endswith("Signature=" + vector["signature"])
    assert signed["X-Date"] == vector["x_date"]


def _query_forms(vector: dict) -> list:
    pairs = [tuple(p) for p in vector["query"]]
    mapping: dict[str, list[str]] = {}
    for name, value in pairs:
        mapping.setdefault(name, []).append(value)
    return [
        vector["raw_query"],  # urlencode: spaces as "+" (what the Python SDK sends)
        urlencode(pairs, quote_via=quote, safe="-_.~"),  # spaces as "%20"
        mapping,  # already-parsed query (e.g. Django's QueryDict)
    ]


@pytest.mark.parametrize("vector", VECTORS, ids=_ids)
def test_verifier_accepts_vector(vector: dict) -> None:
    for query in _query_forms(vector):
        auth = verify_request(
            vector["method"],
            vector["path"],
            query,
            vector["headers"],
            vector["body"].encode(),
            {vector["access_key_id"]: vector["secret_access_key"]}.get,
            now=_x_date(vector) + timedelta(seconds=30),
        )
        assert auth.signature == vector["signature"]
        assert auth.service == vector["service"]


def _reference_signature(
    secret: str,
    method: str,
    canonical_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    x_date: str,
    region: str,
    service: str,
) -> str:
    """Independent, literal transcription of the documented algorithm (path "/")."""
    names = ";".join(name for name, _ in headers)
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in headers)
    body_hash = hashlib.sha256(body).hexdigest()
    canonical = f"{method}\n/\n{canonical_query}\n{canonical_headers}\n{names}\n{body_hash}"
    scope = f"{x_date[:8]}/{region}/{service}/request"
    to_sign = f"HMAC-SHA256\n{x_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = secret.encode()
    for part in (x_date[:8], region, service, "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _authorization(ak: str, x_date: str, region: str, service: str, names: str, sig: str) -> str:
    return (
        f"HMAC-SHA256 Credential={ak}/{x_date[:8]}/{region}/{service}/request, "
        f"SignedHeaders={names}, Signature={sig}"
    )


def test_verifier_accepts_unsigned_content_sha256_on_empty_body() -> None:
    # Some SDKs sign only host;x-date and send no X-Content-Sha256 for an empty body.
    x_date = T0.strftime(X_DATE_FORMAT)
    query = "Action=GetDedupTaskStatus&TaskId=t1&Version=2018-08-01"
    signed = [("host", "imagex.volcengineapi.com"), ("x-date", x_date)]
    sig = _reference_signature(TEST_SK, "GET", query, signed, b"", x_date, "cn-north-1", "imagex")
    headers = {
        "Host": "imagex.volcengineapi.com",
        "X-Date": x_date,
        "Authorization": _authorization(
            TEST_AK, x_date, "cn-north-1", "imagex", "host;x-date", sig
        ),
    }
    auth = verify_request("GET", "/", query, headers, b"", SECRETS, now=T0)
    assert auth.signed_headers == ["host", "x-date"]


def test_verifier_accepts_literal_plus_in_raw_query() -> None:
    # A client that signed "a+b" and put the "+" on the wire unencoded.
    x_date = T0.strftime(X_DATE_FORMAT)
    signed = [("host", "h"), ("x-date", x_date)]
    sig = _reference_signature(TEST_SK, "GET", "Tag=a%2Bb", signed, b"", x_date, "r", "s")
    headers = {
        "Host": "h",
        "X-Date": x_date,
        "Authorization": _authorization(TEST_AK, x_date, "r", "s", "host;x-date", sig),
    }
    assert verify_request("GET", "/", "Tag=a+b", headers, b"", SECRETS, now=T0)


def _signed(method: str = "POST", query: str = "Action=A&Version=V&ServiceId=s 1") -> tuple:
    url = f"http://127.0.0.1:8000/imagex/?{query.replace(' ', '%20')}"
    body = b'{"Urls": ["https://example.com/a.jpg"]}'
    headers = sign_request(method, url, {"Content-Type": "application/json"}, body, CREDS, now=T0)
    return method, "/imagex/", url.split("?", 1)[1], headers, body


def test_verifier_accepts_own_signature_within_skew() -> None:
    method, path, query, headers, body = _signed()
    for offset in (-899, 0, 899):
        now = T0 + timedelta(seconds=offset)
        assert verify_request(method, path, query, headers, body, SECRETS, now=now)


def _drop(headers: dict, name: str) -> dict:
    return {k: v for k, v in headers.items() if k.lower() != name}


def _with(headers: dict, name: str, value: str) -> dict:
    return {**headers, name: value}


def _authz(headers: dict, old: str, new: str) -> dict:
    return _with(headers, "Authorization", headers["Authorization"].replace(old, new))


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda r: {**r, "body": r["body"] + b" "}, "SignatureDoesNotMatch"),
        (lambda r: {**r, "query": r["query"].replace("s%201", "s%202")}, "SignatureDoesNotMatch"),
        (lambda r: {**r, "query": r["query"] + "&Extra=1"}, "SignatureDoesNotMatch"),
        (lambda r: {**r, "path": "/other/"}, "SignatureDoesNotMatch"),
        (lambda r: {**r, "method": "PUT"}, "SignatureDoesNotMatch"),
        (
            lambda r: {**r, "headers": _with(r["headers"], "Content-Type", "text/plain")},
            "SignatureDoesNotMatch",
        ),
        (
            lambda r: {**r, "headers": _with(r["headers"], "Host", "evil.example:8000")},
            "SignatureDoesNotMatch",
        ),
        (
            lambda r: {**r, "headers": _with(r["headers"], "X-Content-Sha256", "0" * 64)},
            "SignatureDoesNotMatch",
        ),
        (lambda r: {**r, "headers": _drop(r["headers"], "host")}, "SignatureDoesNotMatch"),
        (
            lambda r: {**r, "headers": _with(r["headers"], "X-Content-Sha256", "é" * 64)},
            "SignatureDoesNotMatch",
        ),
        (lambda r: {**r, "secret": "wrong-secret"}, "SignatureDoesNotMatch"),
        (lambda r: {**r, "now": T0 + timedelta(seconds=901)}, "InvalidTimestamp"),
        (lambda r: {**r, "now": T0 - timedelta(seconds=901)}, "InvalidTimestamp"),
        (
            lambda r: {**r, "headers": _drop(r["headers"], "authorization")},
            "MissingAuthenticationToken",
        ),
        (lambda r: {**r, "headers": _drop(r["headers"], "x-date")}, "MissingRequestInfo"),
        (
            lambda r: {**r, "headers": _with(r["headers"], "X-Date", "2026-11-25T12:00:00Z")},
            "InvalidTimestamp",
        ),
        (
            lambda r: {**r, "headers": _with(r["headers"], "X-Date", ARABIC_INDIC_X_DATE)},
            "InvalidTimestamp",
        ),
        (
            lambda r: {**r, "headers": _authz(r["headers"], TEST_AK, "AKunknown")},
            "InvalidAccessKey",
        ),
        (
            lambda r: {**r, "headers": _authz(r["headers"], "/20261125/", "/20261124/")},
            "SignatureDoesNotMatch",
        ),
        (
            lambda r: {**r, "headers": _authz(r["headers"], "/cn-north-1/", "/cn-beijing/")},
            "SignatureDoesNotMatch",
        ),
        (
            lambda r: {**r, "headers": _authz(r["headers"], "HMAC-SHA256 ", "AWS4-HMAC-SHA256 ")},
            "InvalidAuthorization",
        ),
        (
            lambda r: {**r, "headers": _authz(r["headers"], "SignedHeaders", "Signed")},
            "InvalidAuthorization",
        ),
    ],
    ids=[
        "body",
        "query-value",
        "query-extra",
        "path",
        "method",
        "content-type",
        "host",
        "content-sha256",
        "signed-header-missing",
        "content-sha256-non-ascii",
        "wrong-sk",
        "expired",
        "future",
        "no-authorization",
        "no-x-date",
        "bad-x-date",
        "unicode-digits-x-date",
        "unknown-ak",
        "scope-date",
        "scope-region",
        "algorithm",
        "malformed",
    ],
)
def test_verifier_rejects(tamper, code: str) -> None:
    method, path, query, headers, body = _signed()
    request = {
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "secret": TEST_SK,
        "now": T0,
    }
    r = tamper(request)
    with pytest.raises(SignatureError) as excinfo:
        verify_request(
            r["method"],
            r["path"],
            r["query"],
            r["headers"],
            r["body"],
            {TEST_AK: r["secret"]}.get,
            now=r["now"],
        )
    assert excinfo.value.code == code
    assert excinfo.value.http_status == http_status_for(code)


def test_signature_error_statuses() -> None:
    assert SignatureError("SignatureDoesNotMatch", "x").http_status == 401
    assert SignatureError("InvalidAccessKey", "x").http_status == 401
    assert SignatureError("InvalidTimestamp", "x").http_status == 400
    assert SignatureError("MissingParameter", "x").code_n == 100002


def test_parse_authorization_tolerates_spacing() -> None:
    auth = parse_authorization(
        "HMAC-SHA256 Credential=AK/20261125/cn-north-1/ImageX/request,SignedHeaders=Host;X-Date,"
        "  Signature=" + "AB" * 32
    )
    assert (auth.access_key_id, auth.region, auth.service) == ("AK", "cn-north-1", "ImageX")
    assert auth.signed_headers == ["host", "x-date"]
    assert auth.signature == "ab" * 32
    assert auth.credential_scope == "20261125/cn-north-1/ImageX/request"


def test_credentials_repr_hides_secret() -> None:
    assert TEST_SK not in repr(CREDS)


# -- round trip -----------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    segments=st.lists(_text, max_size=3),
    pairs=st.lists(st.tuples(_text.filter(bool), _text), max_size=5),
    body=st.binary(max_size=256),
    plus_for_space=st.booleans(),
)
def test_round_trip(
    method: str, segments: list[str], pairs: list, body: bytes, plus_for_space: bool
) -> None:
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    quote_via = quote_plus if plus_for_space else quote
    query = urlencode(pairs, quote_via=quote_via)
    url = f"https://imagex.volcengineapi.com{path}" + (f"?{query}" if query else "")
    headers = sign_request(method, url, {"Content-Type": "application/json"}, body, CREDS, now=T0)
    auth = verify_request(method, path, query, headers, body, SECRETS, now=T0)
    assert auth.access_key_id == TEST_AK


# -- the live SDK over loopback --------------------------------------------------------------


def test_live_volcengine_sdk_requests_verify(loopback_server, monkeypatch) -> None:
    imagex = pytest.importorskip("volcengine.imagex.ImageXService")
    service = imagex.ImageXService("cn-north-1")
    monkeypatch.setattr(service.service_info, "host", loopback_server.url.split("//", 1)[1])
    monkeypatch.setattr(service.service_info, "scheme", "http")
    service.set_ak(TEST_AK)
    service.set_sk(TEST_SK)

    service.get_image_duplicate_detection(
        {
            "ServiceId": "svc 1+2/中",
            "Urls": ["https://example.com/a.jpg", "https://example.com/b.jpg"],
            "Async": False,
            "Callback": "",
            "Similarity": 0.84,
        }
    )
    service.imagex_get("GetDedupTaskStatus", {"TaskId": "task 1+é"})

    assert [r.get("error") for r in loopback_server.received] == [None, None]
    first, second = loopback_server.received
    assert first["method"] == "POST" and "ServiceId=svc+1%2B2" in first["query"]
    assert first["auth"].service == "ImageX"
    assert second["method"] == "GET" and second["body"] == b""
    # SDK quirk worth knowing server-side: its GetDedupTaskStatus ApiInfo sends
    # Action=GetImageDuplicateDetection (a GET with a TaskId).
    assert "Action=GetImageDuplicateDetection" in second["query"]
    assert "TaskId=task+1%2B%C3%A9" in second["query"]


# -- error bodies ----------------------------------------------------------------------------


def test_error_codes_are_non_zero_and_have_statuses() -> None:
    assert all(spec.code_n for spec in ERRORS.values())
    assert len({spec.code_n for spec in ERRORS.values()}) == len(ERRORS)
    assert http_status_for("SignatureDoesNotMatch") == 401
    assert http_status_for("FlowLimitExceeded") == 429
    assert http_status_for("NoSuchCode") == 500
    assert code_n_for("NoSuchCode") == ERRORS["InternalError"].code_n
    assert message_for("InvalidAccessKey", "AK1") == (
        "The accesskey [AK1] included in the request is invalid."
    )


def test_error_body_shape() -> None:
    body = error_body(
        "InvalidTimestamp",
        "expired",
        request_id="rid",
        action="GetImageDuplicateDetection",
        version="2018-08-01",
    )
    assert body == {
        "ResponseMetadata": {
            "RequestId": "rid",
            "Action": "GetImageDuplicateDetection",
            "Version": "2018-08-01",
            "Service": "imagex",
            "Region": "cn-north-1",
            "Error": {"CodeN": 100006, "Code": "InvalidTimestamp", "Message": "expired"},
        }
    }


def test_request_id_style() -> None:
    rid = new_request_id(datetime(2024, 9, 14, 3, 14, 22, tzinfo=UTC))
    assert re.fullmatch(r"20240914111422[0-9A-F]{18}", rid)
    assert new_request_id() != new_request_id()
