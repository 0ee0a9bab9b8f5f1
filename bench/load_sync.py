"""Sustained load on the synchronous GetImageDuplicateDetection API, on loopback.

A real server process (gunicorn, 2 workers x 4 threads, ``--server runserver`` for Django's
threaded dev server) serves the app with the test settings and a throwaway SQLite database;
the images (photos of ``tests/data/photos`` and variants) come from a local ``http.server``
speaking HTTP/1.1 with keep-alive and a listen backlog of 128, as a CDN would.
``--users`` access keys each send signed requests with 2-10 random image URLs at ``--rate``
per second (default 10, the service's limit) for ``--duration`` seconds; one more key
(``--hot-rate``, default 15/s) goes over the limit to show the 429s.

The generator is open-loop: request *i* of a user is due at ``start + i / rate`` and is sent by
a thread pool whatever the previous answers are doing, so a slow server shows up as latency
(and as late sends, reported) instead of silently lowering the offered rate.

The server keeps its in-process fingerprint cache (``FINGERPRINT_CACHE_SIZE``, default) unless
``--no-fingerprint-cache`` is given; with 48 images, nearly every image is a cache hit after the
first few seconds, so the two runs bracket a service whose clients re-check the same images and
one that never sees the same bytes twice.

Run: ``.venv/bin/python bench/load_sync.py [--users 3] [--duration 60] [--rate 10]
[--no-fingerprint-cache]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from loadkit import (
    STOP_SECONDS,
    ProcessCPU,
    free_port,
    load_average,
    percentile,
    serve_files,
    start_process,
    stop_process,
    tcp_listen_drops,
    throwaway_app,
    wait_for_server,
    write_photo_set,
)

SERVICE_ID = "load"
QUERY = urlencode(
    {"Action": "GetImageDuplicateDetection", "Version": "2018-08-01", "ServiceId": SERVICE_ID}
)


@dataclass
class Sample:
    user: str
    due: float  # monotonic time the request was due
    sent: float  # monotonic time it was sent
    latency: float  # seconds from send to the end of the answer
    status: int  # HTTP status, 0 for a transport error
    code: str  # error Code of the envelope, "" on success


def start_server(kind: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """gunicorn (2 workers x 4 threads) or ``runserver --noreload`` (threaded) on loopback."""
    if kind == "gunicorn":
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            "--threads=4",
            f"--bind=127.0.0.1:{port}",
            "--timeout=90",
            # The generator keeps its connections open, as a load balancer in front of gunicorn
            # would. With gunicorn's default of 2 s, a request sent on a connection the server
            # is closing at that moment fails (the keep-alive race): 1 of 1,800 in one run.
            "--keep-alive=75",
            "django.core.wsgi:get_wsgi_application()",
        ]
    else:
        command = [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"]
    return start_process(command, env=env, log=log)


def without_fingerprint_cache(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """The server's environment with settings that turn the fingerprint cache off."""
    (workdir / "load_sync_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "IMAGEX_DEDUP = {**IMAGEX_DEDUP, 'FINGERPRINT_CACHE_SIZE': 0}  # noqa: F405\n"
    )
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "load_sync_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), env["PYTHONPATH"]]),
    }


class LoadRun:
    """Paced signed requests from several access keys; collects one :class:`Sample` each."""

    def __init__(self, base: str, urls: list[str], url_range: tuple[int, int]) -> None:
        self.target = f"{base}/imagex/?{QUERY}"
        self.urls = urls
        self.url_range = url_range
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def send(self, user: str, secret: str, due: float, urls: list[str]) -> None:
        from imagex_dedup.volc.signing import Credentials, sign_request

        body = json.dumps({"Urls": urls}).encode()
        headers = sign_request(
            "POST",
            self.target,
            {"Content-Type": "application/json"},
            body,
            Credentials(user, secret),
        )
        sent = time.monotonic()
        try:
            response = self._session().post(self.target, data=body, headers=headers, timeout=60)
            status, payload = response.status_code, response.json()
        except (requests.RequestException, ValueError) as error:
            detail = f"{type(error).__name__}: {error}"[:160]
            status, payload = 0, {"ResponseMetadata": {"Error": {"Code": detail}}}
        latency = time.monotonic() - sent
        code = payload.get("ResponseMetadata", {}).get("Error", {}).get("Code", "")
        if status == 200 and payload["Result"]["FailedUrls"]:
            code = "FailedUrls"
        with self._lock:
            self.samples.append(Sample(user, due, sent, latency, status, code))

    def user(
        self,
        pool: ThreadPoolExecutor,
        key: tuple[str, str],
        rate: float,
        began: float,
        duration: float,
        seed: int,
    ) -> None:
        """Submit this user's requests on schedule until ``duration`` is over."""
        rng = random.Random(seed)
        for index in range(int(duration * rate)):
            due = began + index / rate
            time.sleep(max(0.0, due - time.monotonic()))
            urls = rng.sample(self.urls, rng.randint(*self.url_range))
            pool.submit(self.send, key[0], key[1], due, urls)


def summarize(samples: list[Sample], duration: float) -> dict[str, Any]:
    ok = [s.latency for s in samples if s.status == 200 and not s.code]
    # From the due time: what a client on schedule waited (no coordinated omission).
    waited = [s.sent - s.due + s.latency for s in samples if s.status == 200 and not s.code]
    codes = Counter(s.code or str(s.status) for s in samples)
    lateness = [s.sent - s.due for s in samples]
    # Achieved rate: answers over the time from the first due request to the last answer.
    span = max(s.sent + s.latency for s in samples) - min(s.due for s in samples)
    return {
        "sent": len(samples),
        "offered/s": len(samples) / duration,
        "ok/s": len(ok) / span,
        "p50 ms": percentile(ok, 0.5) * 1000 if ok else float("nan"),
        "p99 ms": percentile(ok, 0.99) * 1000 if ok else float("nan"),
        "max ms": max(ok) * 1000 if ok else float("nan"),
        "from due p50 ms": percentile(waited, 0.5) * 1000 if waited else float("nan"),
        "from due p99 ms": percentile(waited, 0.99) * 1000 if waited else float("nan"),
        "late p99 ms": percentile(lateness, 0.99) * 1000 if lateness else 0.0,
        "outcomes": dict(codes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3, help="access keys held at --rate")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per user")
    parser.add_argument("--hot-rate", type=float, default=15.0, help="the over-limit user; 0: none")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--min-urls", type=int, default=2)
    parser.add_argument("--max-urls", type=int, default=10)
    parser.add_argument("--server", choices=("gunicorn", "runserver"), default="gunicorn")
    parser.add_argument(
        "--no-fingerprint-cache",
        action="store_true",
        help="serve with FINGERPRINT_CACHE_SIZE 0 (every image decoded and fingerprinted)",
    )
    args = parser.parse_args()

    with throwaway_app("imagex_load_", ignore_cleanup_errors=True) as (workdir, env):
        from imagex_dedup.models import AccessKey, DetectionService, UsageRecord

        service = DetectionService.objects.create(service_id=SERVICE_ID, allow_private_urls=True)
        users = {f"AKload{n}": f"secret-{n}" for n in range(args.users)}
        hot = {"AKhot": "secret-hot"} if args.hot_rate > 0 else {}
        for ak, sk in {**users, **hot}.items():
            AccessKey.objects.create(service=service, access_key_id=ak, secret_access_key=sk)
        images = serve_files(workdir / "images")
        urls = [f"{images}/{name}" for name in write_photo_set(workdir / "images")]

        port = free_port()
        log = workdir / "server.log"
        if args.no_fingerprint_cache:
            env = without_fingerprint_cache(workdir, env)
        server = start_server(args.server, port, env, log)
        try:
            wait_for_server(port, server, log)
            run = LoadRun(f"http://127.0.0.1:{port}", urls, (args.min_urls, args.max_urls))
            for ak, sk in {**users, **hot}.items():  # warm every worker and import path
                run.send(ak, sk, time.monotonic(), urls[:2])
            run.samples.clear()
            time.sleep(1.5)  # let the warm-up requests leave the 1 s throttle window
            load_before = load_average()
            drops_before = tcp_listen_drops()
            cpu = ProcessCPU(server.pid)
            cpu.start()
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            began = time.monotonic() + 0.2
            workers = max(32, int((args.users + 2) * args.rate * 2))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                schedules = [
                    threading.Thread(
                        target=run.user,
                        args=(
                            pool,
                            (ak, sk),
                            args.hot_rate if ak in hot else args.rate,
                            began,
                            args.duration,
                            seed,
                        ),
                    )
                    for seed, (ak, sk) in enumerate({**users, **hot}.items())
                ]
                for thread in schedules:
                    thread.start()
                for thread in schedules:
                    thread.join()
            server_cpu = cpu.stop()
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            load_after = load_average()
            drops = tcp_listen_drops() - drops_before
        finally:
            stop_process(server, STOP_SECONDS)
        wall = cpu.wall
        own_cpu = (own_after.ru_utime + own_after.ru_stime) - (
            own_before.ru_utime + own_before.ru_stime
        )
        print(
            f"# sync load: {args.server}, {args.users} users at {args.rate}/s"
            f" + 1 at {args.hot_rate}/s, {args.duration:.0f} s, "
            f"{args.min_urls}-{args.max_urls} URLs/request, {len(urls)} images, fingerprint cache"
            f" {'off' if args.no_fingerprint_cache else 'on'}"
        )
        print(f"load average before {load_before}, after {load_after}")
        print(f"TCP connection attempts dropped by full listen queues (machine-wide): {drops}")
        in_limit = [s for s in run.samples if s.user in users]
        for label, part in (
            ("in-limit users", in_limit),
            ("over-limit user", [s for s in run.samples if s.user in hot]),
        ):
            if part:
                print(f"{label}: {summarize(part, args.duration)}")
        unintended = [s for s in in_limit if s.status != 200 or s.code]
        print(
            f"unintended errors (in-limit users): {len(unintended)} of {len(in_limit)}"
            f" {dict(Counter(s.code or str(s.status) for s in unintended))}"
        )
        images_done = sum(UsageRecord.objects.values_list("image_count", flat=True))
        print(
            f"server CPU: {server_cpu:.1f} s over {wall:.1f} s wall ="
            f" {server_cpu / wall * 100:.0f}% of one core (2 cores = 200%);"
            f" load generator + image server: {own_cpu / wall * 100:.0f}%;"
            f" images fingerprinted (metered): {images_done};"
            f" CPU per answered request {server_cpu / max(1, len(run.samples)) * 1000:.0f} ms;"
            f" server threads runnable but waiting for a CPU: {cpu.run_queue_wait:.0f} thread-s"
        )


if __name__ == "__main__":
    main()
