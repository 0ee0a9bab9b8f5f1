"""Regenerate tests/data/volc_sign_vectors.json with the official ``volcengine`` SDK signer.

Run from the repository root with the dev extra installed:

    python tests/volc/make_vectors.py

Each vector is signed by ``volcengine.auth.SignerV4.sign_only`` (the SDK's deterministic entry
point: it takes the signing time as a parameter) and records the exact inputs, the headers the
SDK produced and the expected signature. Only the request shapes below are hand-written; every
signature comes from the SDK. ``raw_query`` is the query as the SDK puts it on the wire
(``urllib.parse.urlencode``: spaces as "+"); the tests also check the "%20" spelling.
The published documentation vector (docs 6369/67270) is added last, with its inputs verbatim.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import volcengine
from volcengine.auth.SignerV4 import SignerV4
from volcengine.auth.SignParam import SignParam
from volcengine.Credentials import Credentials

OUT = Path(__file__).resolve().parents[1] / "data" / "volc_sign_vectors.json"

AK = "AKLTdGVzdC1hY2Nlc3Mta2V5LWlkLWZvci12ZWN0b3Jz"
SK = "dGVzdC1zZWNyZXQtYWNjZXNzLWtleS1mb3ItdmVjdG9ycw=="
VERSION = "2018-08-01"
DEDUP_BODY = json.dumps(
    {
        "ServiceId": "svc123",
        "Urls": ["https://example.com/a.jpg", "https://example.com/b.png"],
        "Async": False,
        "Callback": "",
        "Similarity": 0.84,
    }
)

CASES = [
    {
        "name": "dedup_post_json_cn_north_1",
        "region": "cn-north-1",
        "service": "ImageX",
        "method": "POST",
        "host": "imagex.volcengineapi.com",
        "path": "/",
        "query": [
            ("Action", "GetImageDuplicateDetection"),
            ("Version", VERSION),
            ("ServiceId", "svc123"),
        ],
        "headers": {"Content-Type": "application/json"},
        "body": DEDUP_BODY,
        "x_date": datetime(2026, 11, 25, 8, 30, 0),
    },
    {
        "name": "dedup_post_json_ap_southeast_1",
        "region": "ap-southeast-1",
        "service": "ImageX",
        "method": "POST",
        "host": "imagex.ap-southeast-1.volcengineapi.com",
        "path": "/",
        "query": [
            ("Action", "GetImageDuplicateDetection"),
            ("Version", VERSION),
            ("ServiceId", "sg-svc"),
        ],
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"Urls": ["https://example.com/x.jpg"], "Async": True}),
        "x_date": datetime(2026, 1, 2, 23, 59, 59),
    },
    {
        "name": "task_status_get_empty_body",
        "region": "cn-north-1",
        "service": "ImageX",
        "method": "GET",
        "host": "imagex.volcengineapi.com",
        "path": "/",
        "query": [
            ("Action", "GetDedupTaskStatus"),
            ("Version", VERSION),
            ("TaskId", "task-0001"),
        ],
        "headers": {},
        "body": "",
        "x_date": datetime(2026, 11, 25, 8, 31, 5),
    },
    {
        "name": "task_status_get_lowercase_service_us_east_1",
        "region": "us-east-1",
        "service": "imagex",
        "method": "GET",
        "host": "imagex-us-east-1.volcengineapi.com",
        "path": "/",
        "query": [("Action", "GetDedupTaskStatus"), ("Version", VERSION), ("TaskId", "t 2")],
        "headers": {"Accept": "application/json"},
        "body": "",
        "x_date": datetime(2025, 6, 30, 12, 0, 0),
    },
    {
        "name": "unicode_space_plus_in_query",
        "region": "cn-beijing",
        "service": "ImageX",
        "method": "POST",
        "host": "imagex.volcengineapi.com",
        "path": "/",
        "query": [
            ("Action", "GetImageDuplicateDetection"),
            ("Version", VERSION),
            ("ServiceId", "svc 1+2"),
            ("Note", "héllo wörld/中文?&=*~'"),
            ("Empty", ""),
        ],
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": json.dumps({"Urls": ["https://example.com/ü.jpg"]}, ensure_ascii=False),
        "x_date": datetime(2026, 11, 25, 9, 0, 0),
    },
    {
        "name": "repeated_query_name",
        "region": "cn-north-1",
        "service": "ImageX",
        "method": "GET",
        "host": "imagex.volcengineapi.com",
        "path": "/",
        "query": [
            ("Action", "GetDedupTaskStatus"),
            ("Version", VERSION),
            ("TaskId", ["b", "a"]),
        ],
        "headers": {},
        "body": "",
        "x_date": datetime(2026, 11, 25, 9, 1, 0),
    },
    {
        "name": "loopback_path_prefix_with_port",
        "region": "cn-north-1",
        "service": "ImageX",
        "method": "POST",
        "host": "127.0.0.1:8000",
        "path": "/imagex/",
        "query": [
            ("Action", "GetImageDuplicateDetection"),
            ("Version", VERSION),
            ("ServiceId", "local"),
        ],
        "headers": {"Content-Type": "application/json", "X-Request-Tag": "tag-1"},
        "body": DEDUP_BODY,
        "x_date": datetime(2026, 11, 25, 9, 2, 0),
    },
    {
        "name": "default_port_dropped_from_host",
        "region": "cn-north-1",
        "service": "ImageX",
        "method": "GET",
        "host": "imagex.volcengineapi.com:443",
        "path": "/",
        "query": [("Action", "GetDedupTaskStatus"), ("Version", VERSION), ("TaskId", "p443")],
        "headers": {},
        "body": "",
        "x_date": datetime(2026, 11, 25, 9, 3, 0),
    },
]

# docs 6369/67270 (older revision): IAM ListUsers, inputs as published.
PUBLISHED = {
    "name": "published_iam_list_users",
    "source": "volcengine docs 6369/67270 (published example)",
    "access_key_id": "AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE",
    "secret_access_key": "TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ==",
    "region": "cn-north-1",
    "service": "iam",
    "method": "GET",
    "host": "iam.volcengineapi.com",
    "path": "/",
    "query": [["Action", "ListUsers"], ["Version", "2018-01-01"], ["Limit", "10"], ["Offset", "0"]],
    "headers": {
        "Host": "iam.volcengineapi.com",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Date": "20201230T081805Z",
        "X-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "Authorization": (
            "HMAC-SHA256 Credential=AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE/20201230/"
            "cn-north-1/iam/request, SignedHeaders=content-type;host;x-content-sha256;x-date, "
            "Signature=28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"
        ),
    },
    "body": "",
    "x_date": "20201230T081805Z",
    "signature": "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7",
}


def _flat_pairs(query: list[tuple[str, str | list[str]]]) -> list[list[str]]:
    pairs = []
    for name, value in query:
        for v in value if isinstance(value, list) else [value]:
            pairs.append([name, v])
    return pairs


def sign_case(case: dict) -> dict:
    param = SignParam()
    param.set_method(case["method"])
    param.set_host(case["host"])
    param.set_path(case["path"])
    param.set_query(OrderedDict(case["query"]))
    param.set_body(case["body"].encode())
    headers = OrderedDict(Host=case["host"], **case["headers"])
    param.set_header_list(headers)
    param.set_date(case["x_date"])
    result = SignerV4.sign_only(param, Credentials(AK, SK, case["service"], case["region"]))
    sent = dict(headers)  # sign_only added X-Date and X-Content-Sha256 to it
    sent["Authorization"] = result.authorization
    return {
        "name": case["name"],
        "source": f"volcengine {volcengine.VERSION} SignerV4.sign_only",
        "access_key_id": AK,
        "secret_access_key": SK,
        "region": case["region"],
        "service": case["service"],
        "method": case["method"],
        "host": case["host"],
        "path": case["path"],
        "query": _flat_pairs(case["query"]),
        "raw_query": urlencode(case["query"], doseq=True),
        "headers": sent,
        "body": case["body"],
        "x_date": result.xdate,
        "signature": result.xSignature,
    }


def main() -> None:
    vectors = [sign_case(case) for case in CASES]
    published = dict(PUBLISHED)
    published["raw_query"] = urlencode([tuple(pair) for pair in published["query"]])
    vectors.append(published)
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {OUT.name}")


if __name__ == "__main__":
    main()
