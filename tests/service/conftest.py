"""Fixtures of the service tests: real images on a real loopback HTTP server, a real callback
receiver, signed requests, and (end to end) real child processes: a qcluster and a second
server process."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from PIL import Image

from imagex_dedup.models import AccessKey, DetectionService
from imagex_dedup.service.fpcache import fingerprint_cache
from imagex_dedup.volc.signing import Credentials, sign_request
from tests.conftest import image_bytes, photo_path
from tests.processes import REPO_ROOT, free_port, start_django, stop_process, wait_for_port
from tests.support.variants import make_variant

SERVICE_ID = "svc-test"
AK, SK = "AKLTtestkey", "test-secret-key"
CALLBACK_SECRET = "callback-secret"
VERSION = "2018-08-01"

# name -> (source photo, transform or None, format). flower_* are near-duplicates of each other,
# card_* of each other; iss is a different picture.
PHOTOS: dict[str, tuple[str, str | None, str]] = {
    "flower.jpg": ("flower.jpg", None, "JPEG"),
    "flower_small.jpg": ("flower.jpg", "resize_jpeg", "JPEG"),
    "flower_bright.png": ("flower.jpg", "brightness", "PNG"),
    "flower_crop.jpg": ("flower.jpg", "crop_side", "JPEG"),
    "card.png": ("test-card.png", None, "PNG"),
    "card_flip.jpg": ("test-card.png", "hflip", "JPEG"),
    "iss.jpg": ("iss634.webp", None, "JPEG"),
}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(handler: Any) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def photo_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a loopback http.server serving the PHOTOS plus a corrupt and a text file."""
    root = tmp_path_factory.mktemp("photos")
    for name, (source, transform, fmt) in PHOTOS.items():
        with Image.open(photo_path(source)) as image:
            picture = make_variant(image, transform) if transform else image.convert("RGB")
        (root / name).write_bytes(image_bytes(picture, fmt))
    (root / "broken.jpg").write_bytes((root / "flower.jpg").read_bytes()[:300])
    (root / "notes.txt").write_text("not an image")
    server, _ = serve(partial(QuietHandler, directory=str(root)))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_fingerprint_cache() -> Iterator[None]:
    """Each test starts with an empty in-process fingerprint cache (and leaves one)."""
    fingerprint_cache().clear()
    yield
    fingerprint_cache().clear()


def create_service() -> DetectionService:
    """The test service (private URLs allowed, with a callback secret) and its access key."""
    service = DetectionService.objects.create(
        service_id=SERVICE_ID, allow_private_urls=True, callback_secret=CALLBACK_SECRET
    )
    AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)
    return service


@pytest.fixture
def service(db: None) -> DetectionService:
    return create_service()


def signed_headers(
    method: str, url: str, body: bytes, content_type: str | None, *, ak: str = AK, sk: str = SK
) -> dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    return sign_request(method, url, headers, body, Credentials(ak, sk))


@dataclass
class ServiceClient:
    """Django test client calls to the service, signed with an access key unless told not to."""

    client: Any
    ak: str = AK
    sk: str = SK
    path: str = "/imagex/"

    def call(
        self,
        method: str,
        query: dict[str, str],
        body: Any = None,
        *,
        content_type: str | None = "application/json",
        sign: bool = True,
        **extra_headers: str,
    ) -> Any:
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        if method == "GET":
            content_type = None
        target = f"{self.path}?{urlencode(query)}"
        headers = {"Host": "testserver", **extra_headers}
        if sign:
            headers = signed_headers(
                method, f"http://testserver{target}", raw, content_type, ak=self.ak, sk=self.sk
            )
            headers.pop("Content-Type", None)
        kwargs = {"content_type": content_type} if content_type else {}
        return self.client.generic(method, target, raw, headers=headers, **kwargs)

    def detect(self, body: Any, *, service_id: str | None = SERVICE_ID, **kwargs: Any) -> Any:
        query = {"Action": "GetImageDuplicateDetection", "Version": VERSION}
        if service_id is not None:
            query["ServiceId"] = service_id
        return self.call("POST", query, body, **kwargs)

    def status(self, task_id: str, **kwargs: Any) -> Any:
        query = {"Action": "GetDedupTaskStatus", "Version": VERSION, "TaskId": task_id}
        return self.call("GET", query, **kwargs)


@pytest.fixture
def api(client: Any, service: DetectionService) -> ServiceClient:
    return ServiceClient(client)


@dataclass
class CallbackReceiver:
    """A loopback HTTP server that records POSTs and answers with queued status codes."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: queue.Queue[int] = field(default_factory=queue.Queue)
    delivered: threading.Event = field(default_factory=threading.Event)

    def wait(self, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} callbacks received, wanted {count}")
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    box: dict[str, CallbackReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            me = box["receiver"]
            try:
                status = me.answers.get_nowait()
            except queue.Empty:
                status = 200
            # Recorded before answering: the sender may look at the receiver as soon as it has
            # the answer.
            me.received.append((dict(self.headers), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, _ = serve(Handler)
    box["receiver"] = CallbackReceiver(f"http://127.0.0.1:{server.server_address[1]}/done")
    yield box["receiver"]
    server.shutdown()


# --- child processes (end-to-end tests) ----------------------------------------------------------


def child_env() -> dict[str, str]:
    """What a child process needs to share the test database, cache and settings."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "IMAGEX_DEDUP_DB_NAME": str(connection.settings_dict["NAME"]),
        "IMAGEX_DEDUP_Q_SYNC": "0",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.fixture
def qcluster(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Path]:
    """A real django-q2 cluster in a child process; this process enqueues instead of running."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    log = tmp_path / "qcluster.log"
    process = start_django(["qcluster"], env=child_env(), log=log)
    yield log
    stop_process(process)


@pytest.fixture
def second_server(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """The app served by a second process (runserver) on the same database and cache."""
    port = free_port()
    log = tmp_path / "rs.log"
    command = ["runserver", "--noreload", f"127.0.0.1:{port}"]
    process = start_django(command, env=child_env(), log=log)
    wait_for_port(port, process, log)
    yield f"http://127.0.0.1:{port}"
    stop_process(process)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def wait_for_delivery(task_id: str, timeout: float = 30) -> None:
    """Wait until the task's callback delivery is recorded (the receiver may answer first)."""
    from imagex_dedup.models import DetectionTask

    wait_for(
        lambda: DetectionTask.objects.filter(
            task_id=task_id, callback_delivered_at__isnull=False
        ).exists(),
        timeout,
        "the delivery to be recorded",
    )
