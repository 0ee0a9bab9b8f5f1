"""Fixtures of the fault tests: loopback servers that misbehave on purpose (a slow image, a
fake veImageX endpoint, a slow callback receiver), a qcluster child with a short broker retry,
and finding which process holds a loopback connection (to kill the right worker)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.backends.conftest import make_photo  # noqa: F401  (fixture)
from tests.processes import start_django
from tests.service.conftest import (  # noqa: F401  (fixtures)
    child_env,
    photo_base,
    receiver,
    serve,
)


def base_settings() -> str:
    """The settings module this run is based on (under ``q_settings``, the one it extends)."""
    current = os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings")
    if current == "tests.reliability.q_settings":
        return os.environ.get("IMAGEX_DEDUP_BASE_SETTINGS", "tests.settings")
    return current


def start_fault_child(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``django-admin <args>`` on the test database with ``tests.reliability.q_settings`` (the
    current settings plus a 12 s broker retry; ``env`` adds variables it reads)."""
    child = {
        **child_env(),
        "DJANGO_SETTINGS_MODULE": "tests.reliability.q_settings",
        "IMAGEX_DEDUP_BASE_SETTINGS": base_settings(),
        **env,
    }
    return start_django(args, env=child, log=log)


def _socket_inode(local_port: int) -> str | None:
    """The inode of the loopback TCP socket whose local port is ``local_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                return fields[9]
    return None


def pid_of_client(local_port: int) -> int:
    """The process whose socket has ``local_port`` (the client side of a loopback connection)."""
    inode = _socket_inode(local_port)
    if inode is None:
        raise LookupError(f"no socket on local port {local_port}")
    target = f"socket:[{inode}]"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(str(fd.readlink()) == target for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise LookupError(f"no process holds {target}")


@dataclass
class SlowImage:
    """Serves one image; the first GET blocks (up to ``hold`` s) until :meth:`release`, and
    records the client's port, so a test can kill the process fetching it mid-task."""

    url: str
    requests: list[int] = field(default_factory=list)  # client ports, one per GET
    first_request: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def slow_image(photo_base: str) -> Iterator[SlowImage]:  # noqa: F811
    import requests

    data = requests.get(f"{photo_base}/flower_small.jpg", timeout=10).content
    box: dict[str, SlowImage] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            me = box["slow"]
            me.requests.append(self.client_address[1])
            if len(me.requests) == 1:
                me.first_request.set()
                me.released.wait(30)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, _ = serve(Handler)
    box["slow"] = SlowImage(f"http://127.0.0.1:{server.server_address[1]}/slow.jpg")
    yield box["slow"]
    box["slow"].release()
    server.shutdown()


@dataclass
class FakeImageX:
    """A loopback stand-in for the veImageX OpenAPI: answers each request with the next scripted
    reply (HTTP status and JSON body, optionally after a delay) and records arrival times."""

    url: str
    script: queue.Queue[tuple[float, int, dict[str, Any]]] = field(default_factory=queue.Queue)
    arrivals: list[float] = field(default_factory=list)
    before_reply: Any = None  # called (no arguments) before each answer, e.g. to inject a fault

    def reply(self, status: int, body: dict[str, Any], *, delay: float = 0.0) -> None:
        self.script.put((delay, status, body))


def error_body(code: str, code_n: int) -> dict[str, Any]:
    return {
        "ResponseMetadata": {
            "RequestId": "fake",
            "Action": "GetImageDuplicateDetection",
            "Version": "2018-08-01",
            "Error": {"Code": code, "CodeN": code_n, "Message": code},
        }
    }


@pytest.fixture
def fake_imagex() -> Iterator[FakeImageX]:
    box: dict[str, FakeImageX] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = box["fake"]
            me.arrivals.append(time.monotonic())
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                delay, status, body = me.script.get_nowait()
            except queue.Empty:
                delay, status, body = 0.0, 500, error_body("InternalError", 100014)
            time.sleep(delay)
            if me.before_reply is not None:
                me.before_reply()
            raw = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass  # the client gave up (timeout) before the answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, _ = serve(Handler)
    box["fake"] = FakeImageX(f"http://127.0.0.1:{server.server_address[1]}/")
    yield box["fake"]
    server.shutdown()
