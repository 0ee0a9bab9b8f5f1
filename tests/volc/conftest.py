"""Fixtures for the Volcengine signing and client tests: a fake HTTP transport and a real
loopback HTTP server that authenticates requests with ``verify_request``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from imagex_dedup.volc.errors import SignatureError, error_body, new_request_id
from imagex_dedup.volc.signing import verify_request

VECTORS_PATH = Path(__file__).resolve().parents[1] / "data" / "volc_sign_vectors.json"

TEST_AK = "AKLTtestclientaccesskey"
TEST_SK = "c2VjcmV0LWZvci1jbGllbnQtdGVzdHM="


def load_vectors() -> list[dict[str, Any]]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def make_response(
    request: requests.PreparedRequest,
    status: int = 200,
    payload: Any = None,
    *,
    content: bytes | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = content if content is not None else json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = request.url
    response.request = request
    return response


def ok_payload(result: dict[str, Any], action: str = "GetImageDuplicateDetection") -> dict:
    return {
        "ResponseMetadata": {
            "RequestId": new_request_id(),
            "Action": action,
            "Version": "2018-08-01",
            "Service": "imagex",
            "Region": "cn-north-1",
        },
        "Result": result,
    }


def err_payload(code: str, message: str = "boom") -> dict:
    return error_body(
        code,
        message,
        request_id="20261125000000ABCDEF0123456789ABCD",
        action="GetImageDuplicateDetection",
        version="2018-08-01",
    )


class FakeTransport(BaseAdapter):
    """A requests transport adapter that answers from a script instead of the network.

    Each scripted item is ``(status, payload)``, ``(status, b"raw body")`` or an exception
    instance to raise. Every request and its send() kwargs are recorded.
    """

    def __init__(self, *script: tuple[int, Any] | Exception) -> None:
        super().__init__()
        self.script = list(script)
        self.requests: list[requests.PreparedRequest] = []
        self.kwargs: list[dict[str, Any]] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.requests.append(request)
        self.kwargs.append(kwargs)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        status, body = item
        if isinstance(body, bytes):
            return make_response(request, status, content=body)
        return make_response(request, status, body)

    def close(self) -> None:
        pass


def session_with(transport: FakeTransport) -> requests.Session:
    session = requests.Session()
    session.mount("http://", transport)
    session.mount("https://", transport)
    return session


@dataclass
class LoopbackServer:
    url: str
    secrets: dict[str, str]
    result: dict[str, Any] = field(default_factory=lambda: {"Groups": {}})
    received: list[dict[str, Any]] = field(default_factory=list)


class _VerifyingHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def _handle(self) -> None:
        state: LoopbackServer = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        split = urlsplit(self.path)
        action = parse_qs(split.query).get("Action", [""])[0]
        record = {"method": self.command, "path": split.path, "query": split.query, "body": body}
        try:
            record["auth"] = verify_request(
                self.command,
                split.path,
                split.query,
                dict(self.headers.items()),
                body,
                state.secrets.get,
            )
            status, payload = 200, ok_payload(state.result, action)
        except SignatureError as exc:
            record["error"] = exc.code
            payload = error_body(
                exc.code,
                exc.message,
                request_id=new_request_id(),
                action=action,
                version="2018-08-01",
            )
            status = exc.http_status
        state.received.append(record)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1 that verifies every request's signature."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _VerifyingHandler)
    state = LoopbackServer(url=f"http://127.0.0.1:{httpd.server_port}", secrets={TEST_AK: TEST_SK})
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
