"""Engine test fixtures: images made in code from the bundled photos; a real loopback server."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from tests.loopback import LoopbackHandler

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "photos"
TRICKLE_LIMIT = 8.0  # seconds a slow handler trickles at most, so the server always ends


def photo(name: str = "flower.jpg") -> Image.Image:
    with Image.open(PHOTOS / name) as image:
        return image.convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    return (PHOTOS / "flower.jpg").read_bytes()


@dataclass
class LoopbackServer:
    """A real HTTP/1.1 server on 127.0.0.1 with one handler per scenario (see ``_Handler``)."""

    port: int
    image: bytes
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, client port)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _port in self.requests]


class _Handler(LoopbackHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append((self.path, self.client_address[1]))
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        name = url.path.strip("/").split("/")[0]
        handler = getattr(self, f"_serve_{name.replace('-', '_')}", None)
        if handler is None:
            self._send(404, b"not found", "text/plain")
        else:
            handler(url.path, query)

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve_image(self, path: str, query: dict[str, str]) -> None:
        self._send(200, self.server.state.image, query.get("type", "image/jpeg") or None)

    def _serve_redirect(self, path: str, query: dict[str, str]) -> None:
        self.send_response(int(query.get("status", "302")))
        self.send_header("Location", query["to"])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve_loop(self, path: str, query: dict[str, str]) -> None:
        hop = int(path.rsplit("/", 1)[1])
        self._serve_redirect(path, {"to": f"/loop/{hop + 1}"})

    def _serve_status(self, path: str, query: dict[str, str]) -> None:
        self._send(int(path.rsplit("/", 1)[1]), b"error page", "text/plain")

    def _serve_html(self, path: str, query: dict[str, str]) -> None:
        self._send(200, b"<!doctype html><title>x</title>", "text/html; charset=utf-8")

    def _serve_svg(self, path: str, query: dict[str, str]) -> None:
        self._send(200, b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")

    def _serve_huge(self, path: str, query: dict[str, str]) -> None:
        """``size`` bytes; announced in Content-Length unless ``length=none``."""
        size = int(query["size"])
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if query.get("length") == "none":
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        self.write_quietly(b"\xff" * size)

    def _serve_lying(self, path: str, query: dict[str, str]) -> None:
        """Announce ``claim`` bytes, send ``send`` bytes, then close."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", query["claim"])
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.write_quietly(b"\xff" * int(query["send"]))

    def _serve_slow_body(self, path: str, query: dict[str, str]) -> None:
        self.trickle_jpeg(TRICKLE_LIMIT)

    def _serve_slow_headers(self, path: str, query: dict[str, str]) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self.trickle(b"a", TRICKLE_LIMIT)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: LoopbackServer


@pytest.fixture(scope="session")
def _http_server(jpeg_bytes: bytes) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = LoopbackServer(port=server.server_address[1], image=jpeg_bytes)
    thread = threading.Thread(target=server.serve_forever, name="loopback-http", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server(_http_server: _Server) -> LoopbackServer:
    """The loopback server, with its request log emptied for this test."""
    _http_server.state.requests.clear()
    return _http_server.state
