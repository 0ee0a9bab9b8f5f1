"""Fixtures of the hostile-input tests: a hostile loopback HTTP server, trap servers on other
loopback addresses, services with and without private-address access, and a guard that fails
any test whose process tries to connect anywhere but loopback.

Only loopback traffic ever leaves these tests. Private-range URLs (10.0.0.0/8, 169.254.169.254
...) appear as URL *text* only; the guard below proves the refusal happened before a connection.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from PIL import Image

from imagex_dedup.models import (
    AccessKey,
    CallbackAttempt,
    DetectionService,
    DetectionTask,
    DuplicateGroup,
    ImageFingerprint,
    UsageRecord,
)
from tests.conftest import image_bytes, photo_path
from tests.loopback import LoopbackHandler
from tests.service.conftest import AK, SERVICE_ID, SK, ServiceClient

TRICKLE_SECONDS = 15.0  # the slow-loris handler gives up after this, whatever the client does


# --- no traffic off loopback -----------------------------------------------------------------


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fail on any connect() to a non-loopback address (before it happens)."""
    attempts: list[Any] = []
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise AssertionError(f"test tried to connect to {address!r}")

    def connect(sock: socket.socket, address: Any) -> None:
        guard(sock, address)
        return original_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard(sock, address)
        return original_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert attempts == []


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()  # rate-limit counters and replay nonces
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def replay_guard_on(settings: Any) -> None:
    """The replay guard is off by default; these tests check it when a site turns it on."""
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "SIGNATURE_REJECT_REPLAYS": True}


# --- hostile payloads ----------------------------------------------------------------------------


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``, with a tiny IDAT."""
    return _png(width, height, zlib.compress(b"\x00" * 1024))


def zip_bomb_png(side: int = 10_000) -> bytes:
    """A real deflate bomb: side x side black RGB (300 MB of pixels at 10000) in about 300 KB."""
    row = b"\x00" * (1 + side * 3)  # filter byte + pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return _png(side, side, idat)


def photo_bytes(name: str = "flower.jpg", fmt: str = "JPEG") -> bytes:
    with Image.open(photo_path(name)) as image:
        return image_bytes(image, fmt)


@dataclass
class Payloads:
    """path -> (status, content type, body) served by the hostile server."""

    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)


def build_payloads() -> Payloads:
    flower = photo_bytes()
    small = io.BytesIO()
    with Image.open(photo_path("flower.jpg")) as image:
        image.convert("RGB").resize((200, 150)).save(small, "JPEG", quality=70)
    routes = {
        "/flower.jpg": (200, "image/jpeg", flower),
        "/flower_small.jpg": (200, "image/jpeg", small.getvalue()),
        "/bomb.png": (200, "image/png", zip_bomb_png()),
        "/huge_dims.png": (200, "image/png", png_claiming(100_000, 100_000)),
        "/truncated.jpg": (200, "image/jpeg", flower[: len(flower) // 3]),
        "/corrupt.jpg": (200, "image/jpeg", flower[:200] + bytes(4000) + flower[4200:]),
        "/page.svg": (200, "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        "/svg_as_jpeg.jpg": (200, "image/jpeg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        "/page.html": (200, "text/html", b"<!doctype html><title>x</title>"),
        "/html_as_png.png": (200, "image/png", b"<!doctype html><title>x</title>"),
        "/oversized.jpg": (200, "image/jpeg", b"\xff" * (2 * 1024 * 1024 + 1)),
    }
    return Payloads(routes)


class _Handler(LoopbackHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.server.log.append(parts.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/slow.jpg":
            self.trickle_jpeg(TRICKLE_SECONDS)  # slow loris
        elif parts.path in self.server.payloads.routes:
            status, content_type, body = self.server.payloads.routes[parts.path]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.write_quietly(body)
        else:
            self.send_error(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: list[str]
    payloads: Payloads


@dataclass
class Hostile:
    base: str
    server: _Server

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    @property
    def log(self) -> list[str]:
        return self.server.log


@pytest.fixture(scope="session")
def _hostile_server() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.log = []
    server.payloads = build_payloads()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile(_hostile_server: _Server) -> Hostile:
    _hostile_server.log.clear()
    return Hostile(f"http://127.0.0.1:{_hostile_server.server_address[1]}", _hostile_server)


class Trap:
    """A listening socket on another loopback address that counts the connections it gets."""

    def __init__(self, family: socket.AddressFamily, host: str) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    @property
    def url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def traps() -> Iterator[dict[str, Trap]]:
    """Listeners on 127.0.0.2 and [::1]: a refused redirect must never reach them."""
    made = {"127.0.0.2": Trap(socket.AF_INET, "127.0.0.2")}
    with contextlib.suppress(OSError):  # no IPv6 loopback on this machine
        made["::1"] = Trap(socket.AF_INET6, "::1")
    yield made
    for trap in made.values():
        trap.close()


# --- services and clients ------------------------------------------------------------------------


@pytest.fixture
def public_service(db: None) -> DetectionService:
    """A production-like service: no private addresses, no host allow-list."""
    service = DetectionService.objects.create(service_id=SERVICE_ID, callback_secret="cb-secret")
    AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)
    return service


@pytest.fixture
def loopback_service(public_service: DetectionService) -> DetectionService:
    """May reach private addresses, but only the host 127.0.0.1 (the hostile server)."""
    public_service.allow_private_urls = True
    public_service.allowed_url_hosts = ["127.0.0.1"]
    public_service.save()
    return public_service


@pytest.fixture
def api(client: Any, public_service: DetectionService) -> ServiceClient:
    return ServiceClient(client)


MODELS = (DetectionTask, UsageRecord, DuplicateGroup, ImageFingerprint, CallbackAttempt)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def volc_error(response: Any) -> tuple[int, str]:
    """(HTTP status, Volcengine error code) of a service error response; checks the shape."""
    payload = response.json()
    metadata = payload["ResponseMetadata"]
    assert "Result" not in payload, payload
    assert set(metadata["Error"]) == {"CodeN", "Code", "Message"}, metadata
    assert metadata["Error"]["CodeN"] > 0 and metadata["Error"]["Message"]
    return response.status_code, metadata["Error"]["Code"]
