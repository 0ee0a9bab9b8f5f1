"""Pieces of the loopback HTTP servers that misbehave on purpose in the tests."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler


class LoopbackHandler(BaseHTTPRequestHandler):
    """A request handler without a request log, whose writes tolerate a client that hangs up
    (as the code under test should, on a hostile answer) and that can trickle a slow answer."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def write_quietly(self, data: bytes) -> bool:
        """Write and flush ``data``; False if the client has gone."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up, as it should
            return False
        return True

    def trickle(self, byte: bytes, seconds: float) -> None:
        """Send ``byte`` every 0.1 s for ``seconds`` at most (so the server always ends), or
        until the client hangs up; the connection is closed afterwards."""
        self.close_connection = True
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.write_quietly(byte):
            time.sleep(0.1)

    def trickle_jpeg(self, seconds: float) -> None:
        """Slow loris: a 200 announcing a 1,000,000-byte JPEG, then its body one byte every
        0.1 s (see :meth:`trickle`)."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.trickle(b"\xff", seconds)
