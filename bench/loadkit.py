"""Shared parts of the load and fault scripts: a throwaway app environment, the image set,
callback receivers that can be taken down, and CPU/load readings from ``/proc``.

The server plumbing (throwaway database, schema without migrations, loopback servers) is
``bench_service``'s, the child processes ``tests.processes``'; this module adds what load and
fault runs need on top.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import (  # re-exported for the load scripts
    ROOT,
    STOP_SECONDS,
    configure,
    create_schema,
    percentile,
    serve,
    throwaway_app,
    wait_for_server,
)

from tests.processes import (  # re-exported too (bench_service put the repository on sys.path)
    free_port,
    start_django,
    start_process,
    stop_process,
)

__all__ = [
    "ROOT",
    "STOP_SECONDS",
    "CallbackCounter",
    "ProcessCPU",
    "configure",
    "create_schema",
    "free_port",
    "load_average",
    "percentile",
    "serve",
    "serve_files",
    "start_django",
    "start_process",
    "stop_process",
    "tcp_listen_drops",
    "throwaway_app",
    "wait_for_server",
    "write_photo_set",
]

# Transforms applied to each test photo; every fifth file is a PNG, the rest JPEG (web mix).
VARIANTS = (None, "resize", "jpeg_q50", "crop_side", "brightness", "hflip")


def write_photo_set(directory: Path) -> list[str]:
    """The photos of ``tests/data/photos`` and variants of each, as files in ``directory``."""
    from PIL import Image

    from tests.support.variants import make_variant

    sources = sorted(p for p in (ROOT / "tests" / "data" / "photos").iterdir() if p.suffix != ".md")
    names: list[str] = []
    for source in sources:
        with Image.open(source) as opened:
            original = opened.convert("RGB")
        for transform in VARIANTS:
            picture = make_variant(original, transform, seed=1) if transform else original
            fmt, suffix = ("PNG", "png") if len(names) % 5 == 4 else ("JPEG", "jpg")
            buffer = io.BytesIO()
            picture.save(buffer, fmt, **({"quality": 88} if fmt == "JPEG" else {}))
            name = f"{source.stem}-{transform or 'orig'}.{suffix}"
            (directory / name).write_bytes(buffer.getvalue())
            names.append(name)
    return names


class QuietFiles(SimpleHTTPRequestHandler):
    """Static files over HTTP/1.1 with keep-alive (as a CDN answers), without a request log."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FileServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: bursts of concurrent downloads overflow it and
    # every dropped SYN costs the client a 1 s (then 2 s, ...) retransmission, a stall no CDN adds.
    request_queue_size = 128


def serve_files(directory: Path) -> str:
    """Base URL of a loopback file server (thread per connection) for ``directory``."""
    handler = functools.partial(QuietFiles, directory=str(directory))
    server = _FileServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def tcp_listen_drops() -> int:
    """Machine-wide count of connection attempts dropped by full listen queues (ListenDrops)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields.get("ListenDrops", 0))
    return 0


def load_average() -> str:
    """The 1/5/15-minute load averages, as ``/proc/loadavg`` shows them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from ``/proc/*/stat`` parent ids)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def _run_queue_ns(pid: int) -> int:
    """Nanoseconds all threads of ``pid`` spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    try:
        for thread in Path(f"/proc/{pid}/task").iterdir():
            total += int((thread / "schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return total


def _cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class ProcessCPU:
    """CPU seconds used by a process tree between :meth:`start` and :meth:`stop`.

    Samples every second so that short-lived children (recycled workers) are counted too.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._waits_first: dict[int, int] = {}
        self._waits_last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.wall = 0.0

    def _sample(self) -> None:
        for pid in _descendants(self.pid):
            ticks = _cpu_ticks(pid)
            self._first.setdefault(pid, ticks)
            self._last[pid] = max(ticks, self._last.get(pid, 0))
            waited = _run_queue_ns(pid)
            self._waits_first.setdefault(pid, waited)
            self._waits_last[pid] = max(waited, self._waits_last.get(pid, 0))

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._began = time.monotonic()
        self._thread.start()

    def stop(self) -> float:
        """Seconds of CPU used (all cores together)."""
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.monotonic() - self._began
        ticks = sum(self._last[pid] - self._first[pid] for pid in self._last)
        return ticks / os.sysconf("SC_CLK_TCK")

    @property
    def run_queue_wait(self) -> float:
        """Thread-seconds the tree was runnable but had no CPU (other processes had it)."""
        waits = self._waits_last
        return sum(waits[pid] - self._waits_first[pid] for pid in waits) / 1e9


class CallbackCounter:
    """A callback receiver on a fixed loopback port that counts deliveries per TaskId and can
    be down (port closed: connection refused) and brought up again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/done"
        self.deliveries: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload: dict[str, Any] = json.loads(body)
                self.send_response(204)
                self.end_headers()
                with counter._lock:
                    counter.deliveries[payload["TaskId"]] += 1
                    counter.statuses[payload["Status"]] += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
