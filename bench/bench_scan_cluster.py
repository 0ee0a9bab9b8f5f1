"""A library scan on the django-q2 cluster: PostgreSQL + Redis, 1 and 2 worker processes.

The library is ``bench_scan_scale``'s (N distinct 96 px JPEGs, N/100 planted near-duplicates),
bulk-created as ``testapp.Photo`` rows in a PostgreSQL database made for the run
(``--pg-database``, dropped afterwards). For each worker count a ``qcluster`` with that many
workers is started on a Redis database of its own (``--redis``, purged first), the run is
enqueued (``scan.planning.start_run``, as ``dedup_scan --enqueue`` does) and this process waits
for it to finish; the results are then truncated before the next worker count.

Reported per worker count: wall time from enqueue to finished and images/s, the CPU time per
image of the cluster's processes (workers, sentinel, monitor, pusher), of its workers alone and
of the PostgreSQL backends serving them, peak RSS of each worker process (sampled from /proc
every 0.2 s), the database size, groups found and planted pairs recovered, the machine's load;
then the speed-up and an extrapolation to 1M images (see ``extrapolate``).

Run: ``.venv/bin/python bench/bench_scan_cluster.py [--n 10000] [--workers 1,2]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO_ROOT), str(BENCH)]

from bench_index import postgres_database  # noqa: E402
from bench_scan_scale import generate, planted_pairs  # noqa: E402

PG_NAME = "bench_scan_cluster_imagex_dedup"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
ONE_HOUR_RATE = 1_000_000 / 3600  # images/s for 1M in an hour


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def cpu_s(pid: int) -> float:
    """User + system CPU of ``pid`` and of its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


class Sampler:
    """CPU (last value seen per process) and peak RSS per process, every 0.2 s: the cluster's
    process tree, and the PostgreSQL backends serving the bench database (found once a second;
    the server runs on this machine, and the workers keep their sessions: ``CONN_MAX_AGE``)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.cpu: dict[int, float] = {}
        self.peak: dict[int, int] = {}
        self.backend_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _backends(self) -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def _run(self) -> None:
        from django.db import connection

        backends: list[int] = []
        ticks = 0
        while not self._stop.is_set():
            if ticks % 5 == 0:
                backends = self._backends()
            ticks += 1
            for pid in tree(self.root):
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_s(pid))
                self.peak[pid] = max(self.peak.get(pid, 0), rss(pid))
            for pid in backends:
                self.backend_cpu[pid] = max(self.backend_cpu.get(pid, 0.0), cpu_s(pid))
            self._stop.wait(0.2)
        connection.close()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def database_mb() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
        sizes = {}
        for table in (
            "imagex_dedup_imagefingerprint",
            "imagex_dedup_imagefingerprintkey",
            "imagex_dedup_scanbatch",
        ):
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table.removeprefix("imagex_dedup_")] = round(cursor.fetchone()[0] / 2**20, 1)
    return {"database_mb": round(total / 2**20), "tables_mb": sizes}


def reset_results() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE imagex_dedup_imagefingerprint, imagex_dedup_imagefingerprintkey,"
            " imagex_dedup_duplicategroup, imagex_dedup_duplicategroupmember,"
            " imagex_dedup_scanrun, imagex_dedup_scanbatch, imagex_dedup_detectiontask,"
            " django_q_task CASCADE"
        )


def recovered(n: int) -> tuple[int, int, int]:
    """(groups, planted pairs found in one group, planted pairs)."""
    from imagex_dedup.models import DuplicateGroupMember

    group_of = {
        int(object_id) - 1: group
        for group, object_id in DuplicateGroupMember.objects.values_list("group_id", "object_id")
    }
    pairs = planted_pairs(n, n // 100)
    found = sum(1 for a, b in pairs if a in group_of and group_of[a] == group_of.get(b))
    return len(set(group_of.values())), found, len(pairs)


def scan_on_cluster(n: int, workers: int, env: dict[str, str], log_dir: Path) -> dict:
    from django_q.brokers import get_broker

    from imagex_dedup.models import ScanRun
    from imagex_dedup.scan.planning import start_run
    from imagex_dedup.scan.progress import progress
    from imagex_dedup.scan.targets import resolve

    get_broker().purge_queue()
    log = (log_dir / f"qcluster-{workers}.log").open("wb")
    cluster = subprocess.Popen(
        [sys.executable, "-m", "django", "qcluster"],
        cwd=REPO_ROOT,
        env={**env, "BENCH_WORKERS": str(workers)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(5)  # the cluster starts its processes
        load_before = os.getloadavg()
        with Sampler(cluster.pid) as sampler:
            started = time.perf_counter()
            run = start_run(resolve(None))
            while ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.RUNNING:
                if cluster.poll() is not None:
                    raise RuntimeError(f"qcluster exited; see {log.name}")
                time.sleep(0.5)
            wall = time.perf_counter() - started
        load_after = os.getloadavg()
    finally:
        cluster.terminate()
        cluster.wait(60)
        log.close()
    report = progress(ScanRun.objects.get(pk=run.pk))
    groups, found, planted = recovered(n)
    cluster_cpu = sum(sampler.cpu.values())
    # The workers are the cluster's busiest processes (the others: main, sentinel, pusher,
    # monitor); without setproctitle their command lines are all alike.
    busiest = sorted(sampler.cpu, key=sampler.cpu.__getitem__, reverse=True)[:workers]
    return {
        "workers": workers,
        "n": n,
        "done": report.done,
        "errors": report.errors,
        "wall_s": round(wall, 1),
        "images_per_s": round(n / wall, 1),
        "cluster_cpu_ms_per_image": round(1000 * cluster_cpu / n, 2),
        "worker_cpu_ms_per_image": round(1000 * sum(sampler.cpu[pid] for pid in busiest) / n, 2),
        "postgres_cpu_ms_per_image": round(1000 * sum(sampler.backend_cpu.values()) / n, 2),
        "peak_rss_per_worker_mb": [round(sampler.peak[pid] / 2**20) for pid in busiest],
        "groups": groups,
        "planted_recovered": f"{found}/{planted}",
        **database_mb(),
        "load_before": [round(x, 1) for x in load_before],
        "load_after": [round(x, 1) for x in load_after],
    }


def extrapolate(results: list[dict]) -> dict:
    """1M images with N machines x 4 workers, two ways.

    *Measured*: the images/s per worker process of the largest run here, contention of this
    shared machine included (a floor). *CPU-bound*: one worker on a core of its own does
    ``1000 / worker CPU ms`` images/s; the database needs ``postgres CPU ms`` per image, so the
    PostgreSQL cores 1M in an hour needs follow too. The fingerprint stage shares no rows
    between batches, so workers add up until the database's cores are the limit."""
    best = max(results, key=lambda r: r["workers"])
    measured = best["images_per_s"] / best["workers"]
    cpu_bound = 1000 / best["worker_cpu_ms_per_image"]

    def plan(per_worker: float) -> dict:
        workers = ONE_HOUR_RATE / per_worker
        return {
            "per_worker_images_per_s": round(per_worker, 1),
            "workers_for_1M_in_1h": round(workers, 1),
            "machines_x4_for_1M_in_1h": int(-(-workers // 4)),
            "hours_for_1M_by_machines_x4": {
                str(m): round(1_000_000 / (per_worker * 4 * m) / 3600, 2) for m in (1, 2, 4, 8)
            },
        }

    return {
        "measured": plan(measured),
        "cpu_bound": plan(cpu_bound),
        "postgres_cores_for_1M_in_1h": round(
            ONE_HOUR_RATE * best["postgres_cpu_ms_per_image"] / 1000, 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--pg-database", default=PG_NAME)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_scan_cluster_"))
    media = work / "media"
    (media / "photos").mkdir(parents=True)
    started = time.perf_counter()
    generate(media / "photos", args.n, args.n // 100, 2)
    print(f"generated {args.n} images in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scan_cluster_settings",
        "BENCH_PG_NAME": args.pg_database,
        "BENCH_MEDIA_ROOT": str(media),
        "BENCH_REDIS_URL": args.redis,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(BENCH)]),
    }
    os.environ.update(env)
    import django

    with postgres_database(args.pg_database):
        django.setup()
        from django.core.management import call_command

        from tests.testapp.models import Photo

        call_command("migrate", verbosity=0)
        for start in range(0, args.n, 5000):
            Photo.objects.bulk_create(
                Photo(title=str(i), image=f"photos/{i:07d}.jpg")
                for i in range(start, min(start + 5000, args.n))
            )
        results = []
        for workers in (int(w) for w in args.workers.split(",")):
            reset_results()
            results.append(scan_on_cluster(args.n, workers, env, work))
            print(json.dumps(results[-1]), file=sys.stderr)
        from django.db import connections

        connections.close_all()
    summary = {"runs": results, "extrapolation": extrapolate(results)}
    if len(results) > 1:
        fewest, most = sorted(results, key=lambda r: r["workers"])[:: len(results) - 1]
        summary["speed_up"] = round(most["images_per_s"] / fewest["images_per_s"], 2)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
