"""Latency and throughput of the veImageX-compatible service on loopback.

* p50/p95 latency of signed synchronous GetImageDuplicateDetection requests with 2 and with 50
  image URLs, against a real server process (``django-admin runserver --noreload`` with the test
  settings and a throwaway SQLite database), images served by a local ``http.server``;
* async throughput: tasks accepted through the service's own code path, then run by a real
  ``qcluster`` child process, each calling back a local receiver; tasks/s and per worker.

Requests are paced at the service's default limit (10 per second per caller) so none is
throttled; pacing does not change the latency of a single request.

Run: ``.venv/bin/python bench/bench_service.py [--rounds 30] [--async-tasks 40]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import (  # noqa: E402  (the repository root is on sys.path only now)
    ChildFailed,
    free_port,
    start_django,
    stop_process,
    wait_for_port,
)

SERVICE_ID, AK, SK = "bench", "AKbench", "bench-secret"
PACE = 0.11  # seconds between request starts: just under 10 requests per second
STOP_SECONDS = 20.0  # a child still running this long after SIGTERM is killed


def configure(workdir: Path) -> dict[str, str]:
    """Point this process and its children at a throwaway database, cache and media root."""
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "IMAGEX_DEDUP_DB_NAME": str(workdir / "bench.sqlite3"),
        "IMAGEX_DEDUP_CACHE_DIR": str(workdir / "cache"),
        "IMAGEX_DEDUP_MEDIA_ROOT": str(workdir / "media"),
        "IMAGEX_DEDUP_Q_SYNC": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    os.environ.update(env)
    import django

    django.setup()
    return {**os.environ, **env}


def create_schema() -> None:
    """Tables for every app straight from the models (migrations are generated later)."""
    from django.apps import apps
    from django.core.management import call_command
    from django.test.utils import override_settings

    no_migrations = {config.label: None for config in apps.get_app_configs()}
    with override_settings(MIGRATION_MODULES=no_migrations):
        call_command("migrate", run_syncdb=True, verbosity=0)


@contextlib.contextmanager
def throwaway_app(
    prefix: str, *, ignore_cleanup_errors: bool = False
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary directory with an empty ``images`` folder, this process (and the children
    started with the returned environment) configured to use it, the tables created; yields
    (directory, child environment) and removes the directory afterwards."""
    with tempfile.TemporaryDirectory(
        prefix=prefix, ignore_cleanup_errors=ignore_cleanup_errors
    ) as tmp:
        workdir = Path(tmp)
        (workdir / "images").mkdir()
        env = configure(workdir)
        create_schema()
        yield workdir, env


def write_images(directory: Path, count: int) -> list[str]:
    """``count`` distinct files: the photos and their variants, JPEG and PNG alternately."""
    sys.path.insert(0, str(ROOT / "bench"))
    from photos import originals

    from tests.support.variants import TRANSFORMS, make_variant

    names: list[str] = []
    pictures = list(originals().values())
    transforms = [None, *TRANSFORMS]
    for index in range(count):
        picture = pictures[index % len(pictures)]
        transform = transforms[index // len(pictures) % len(transforms)]
        image = make_variant(picture, transform) if transform else picture
        fmt, suffix = ("PNG", "png") if index % 2 else ("JPEG", "jpg")
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, fmt)
        name = f"img{index:03d}.{suffix}"
        (directory / name).write_bytes(buffer.getvalue())
        names.append(name)
    return names


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Receiver(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()
        with _Receiver.lock:
            _Receiver.count += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(handler: Any) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def wait_for_server(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """:func:`wait_for_port` (60 s at most); if the server does not come up, end the script
    with its log."""
    try:
        wait_for_port(port, process, log)
    except ChildFailed as failed:
        raise SystemExit(f"server did not start:\n{failed}") from None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sync_latencies(base: str, urls: list[str], rounds: int) -> list[float]:
    """Seconds per signed sync request (one warm-up request first)."""
    import requests

    from imagex_dedup.volc.signing import Credentials, sign_request

    query = urlencode(
        {"Action": "GetImageDuplicateDetection", "Version": "2018-08-01", "ServiceId": SERVICE_ID}
    )
    target = f"{base}/imagex/?{query}"
    body = json.dumps({"Urls": urls}).encode()
    latencies: list[float] = []
    with requests.Session() as session:
        for attempt in range(rounds + 1):
            began = time.monotonic()
            headers = sign_request(
                "POST", target, {"Content-Type": "application/json"}, body, Credentials(AK, SK)
            )
            response = session.post(target, data=body, headers=headers, timeout=60)
            elapsed = time.monotonic() - began
            result = response.json()
            if response.status_code != 200 or result["Result"]["FailedUrls"]:
                raise SystemExit(f"request failed: {response.status_code} {result}")
            if attempt:
                latencies.append(elapsed)
            time.sleep(max(0.0, PACE - elapsed))
    return latencies


def async_throughput(
    env: dict[str, str], workdir: Path, urls: list[str], tasks: int, callback: str
) -> tuple[float, int]:
    """Tasks per second of a qcluster draining ``tasks`` queued async requests."""
    from django_q.conf import Conf

    from imagex_dedup.models import AccessKey, DetectionTask
    from imagex_dedup.service.access import Caller
    from imagex_dedup.service.actions import detect_duplicates

    caller = Caller(access_key=AccessKey.objects.get(access_key_id=AK))
    query = {"ServiceId": SERVICE_ID}
    body = json.dumps({"Urls": urls, "Async": True, "Callback": callback}).encode()
    for number in range(tasks):
        detect_duplicates(caller, query, "application/json", body, request_id=f"bench{number}")
    cluster = start_django(["qcluster"], env=env, log=workdir / "qcluster.log")
    try:
        deadline = time.monotonic() + 600
        while DetectionTask.objects.filter(finished_at__isnull=True).exists():
            if time.monotonic() > deadline or cluster.poll() is not None:
                raise SystemExit((workdir / "qcluster.log").read_text())
            time.sleep(0.5)
        while _Receiver.count < tasks and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop_process(cluster, STOP_SECONDS)
    finished = sorted(DetectionTask.objects.values_list("finished_at", flat=True))
    span = (finished[-1] - finished[0]).total_seconds()
    return (len(finished) - 1) / span if span else float("inf"), int(Conf.WORKERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="sync requests per size")
    parser.add_argument("--async-tasks", type=int, default=40)
    parser.add_argument("--urls-per-task", type=int, default=10)
    args = parser.parse_args()

    with throwaway_app("imagex_bench_") as (workdir, env):
        from imagex_dedup.models import AccessKey, DetectionService

        service = DetectionService.objects.create(service_id=SERVICE_ID, allow_private_urls=True)
        AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)
        names = write_images(workdir / "images", 50)
        images = serve(partial(_Quiet, directory=str(workdir / "images")))
        urls = [f"{images}/{name}" for name in names]
        callback = serve(_Receiver) + "/done"

        port = free_port()
        log = workdir / "runserver.log"
        server = start_django(["runserver", "--noreload", f"127.0.0.1:{port}"], env=env, log=log)
        try:
            wait_for_server(port, server, log)
            base = f"http://127.0.0.1:{port}"
            print(f"sync latency, {args.rounds} signed requests each (runserver, loopback):")
            for size in (2, 50):
                latencies = sync_latencies(base, urls[:size], args.rounds)
                print(
                    f"  {size:2d} images: p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
                    f"  p95 {percentile(latencies, 0.95) * 1000:7.1f} ms"
                    f"  mean {statistics.fmean(latencies) * 1000:7.1f} ms"
                )
        finally:
            stop_process(server, STOP_SECONDS)

        rate, workers = async_throughput(
            env, workdir, urls[: args.urls_per_task], args.async_tasks, callback
        )
        print(
            f"async: {args.async_tasks} tasks of {args.urls_per_task} images, {workers} workers:"
            f" {rate:.2f} tasks/s ({rate / workers:.2f} per worker,"
            f" {rate * args.urls_per_task:.1f} images/s), {_Receiver.count} callbacks delivered"
        )


if __name__ == "__main__":
    main()
