"""A library scan on a real qcluster, with faults: the whole cluster killed with SIGKILL in the
middle of a batch (while saved images wait for their checks), two runs at once, and (PostgreSQL
+ Redis leg) the broker restarted without persistence. Nobody runs a command afterwards: the
broker's retry (ORM) or the catch-up schedule (Redis: popped messages are gone) finishes the
work. Each case must leave one checked fingerprint per image, no pending check, and exactly the
groups a single-process ``dedup_scan`` of the same library gives.

The children run with ``TASK_TIMEOUT`` 10 s and the broker's ``retry`` 12 s (``q_settings``), so
a check or a batch counts as lost after 22 s, and the catch-up runs every minute.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django_q.brokers import get_broker

from imagex_dedup.models import PendingCheck, ScanBatch, ScanRun
from imagex_dedup.scan.planning import start_run
from imagex_dedup.scan.schedule import install_schedule
from imagex_dedup.scan.targets import resolve
from tests.processes import stop_process
from tests.reliability.conftest import start_fault_child
from tests.reliability.test_postgres_redis import private_redis  # noqa: F401  (fixture)
from tests.scan.conftest import scan_here
from tests.support.hook import upload
from tests.support.library import (
    assert_scanned_once,
    distinct_image,
    encode,
    forget_results,
    library_bytes,
    make_library,
    open_groups,
)
from tests.testapp.models import Photo

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OPTIONS = {
    "MODELS": {"testapp.Photo": "image"},
    "TASK_TIMEOUT": 10,
    "SCAN_BATCH_SIZE": 6,
    "SCAN_CONCURRENCY": 2,
    "CATCHUP_ENABLED": True,
    "CATCHUP_INTERVAL": 1,
}
SIDE = 384  # pixels: a batch takes long enough to be killed in the middle
HEAL_DEADLINE = 300.0


class Cluster:
    """A qcluster child that can be killed (SIGKILL, every process of it) and started again."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.log_dir, self.env, self.starts = log_dir, env, 0
        self.process: Any = None

    def start(self) -> None:
        self.starts += 1
        log = self.log_dir / f"qcluster-{self.starts}.log"
        self.process = start_fault_child(
            ["qcluster"], log, IMAGEX_DEDUP_OPTIONS=json.dumps(OPTIONS), **self.env
        )

    def kill(self) -> int:
        """SIGKILL the cluster and all its processes at once, as a machine crash would."""
        pids = [self.process.pid, *descendants(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return len(pids)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in sorted(self.log_dir.glob("qcluster-*")))


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
def options(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process enqueues to the children's broker with their settings and retry."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "RETRY", 12)
    with override_settings(IMAGEX_DEDUP=OPTIONS):
        install_schedule()
        yield


@pytest.fixture
def library(transactional_db: None) -> list[Photo]:
    with override_settings(IMAGEX_DEDUP={**OPTIONS, "ENABLED": False}):
        return make_library(60, side=SIDE, prefix="fault")


def save_near_copies(indices: range) -> list[Photo]:
    """Photos saved through the hook: near-duplicates of library photos ``indices``."""
    return [
        Photo.objects.create(
            image=upload(f"hook-{i}.jpg", encode(distinct_image(i, SIDE).resize((300, 300)), 60))
        )
        for i in indices
    ]


def wait_until(
    done: Callable[[], bool], cluster: Cluster, what: str, *, poll: float = 0.5
) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > HEAL_DEADLINE:
            raise AssertionError(f"{what} not after {HEAL_DEADLINE} s: {state()}\n{cluster.logs()}")
        time.sleep(poll)
    return time.monotonic() - started


def state() -> dict[str, Any]:
    """What is left, for a failure's message."""
    return {
        "runs": list(ScanRun.objects.values_list("pk", "status", "planned")),
        "batches": list(
            ScanBatch.objects.exclude(stage=ScanBatch.Stage.CHECKED).values_list(
                "pk", "stage", "lease_until", "claimed_at", "attempts", "messages"
            )
        ),
        "pending": list(PendingCheck.objects.values_list("object_id", "due_at", "attempts")),
    }


def healed() -> bool:
    return (
        not ScanRun.objects.filter(status=ScanRun.Status.RUNNING).exists()
        and not PendingCheck.objects.exists()
    )


def assert_single_process_groups(
    photos: list[Photo], cluster: Cluster, *, groups_at_least: int = 15
) -> None:
    """One checked fingerprint per photo, and the groups a single-process scan gives (the
    library's 15 planted pairs, more with the hook's copies)."""
    cluster.stop()
    assert_scanned_once(photos)
    assert not ScanRun.objects.exclude(status=ScanRun.Status.FINISHED).exists()
    assert not ScanBatch.objects.exclude(stage=ScanBatch.Stage.CHECKED).exists()
    on_cluster = open_groups()
    assert len(on_cluster) >= groups_at_least, on_cluster
    forget_results()
    with override_settings(IMAGEX_DEDUP={**OPTIONS, "ENABLED": False}):
        scan_here()
    assert open_groups() == on_cluster


def wait_mid_batch(cluster: Cluster) -> ScanBatch:
    """A batch claimed and not fingerprinted yet: its worker is in the middle of it."""
    found: list[ScanBatch] = []

    def claimed() -> bool:
        found[:] = ScanBatch.objects.filter(
            stage=ScanBatch.Stage.PENDING, lease_until__isnull=False
        )[:1]
        return bool(found)

    wait_until(claimed, cluster, "a claimed batch", poll=0.01)
    return found[0]


@pytest.fixture
def cluster(options: None, tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    yield cluster
    cluster.stop()


def test_two_runs_at_once_give_the_single_process_groups(library, cluster) -> None:
    cluster.start()
    start_run(resolve(None))
    start_run(resolve(None), force=True)
    took = wait_until(healed, cluster, "both runs finished")
    print(f"\ntwo runs of {len(library)} images on 2 workers: {took:.1f} s")
    assert_single_process_groups(library, cluster)


def test_cluster_killed_mid_batch_heals_by_itself(library, cluster) -> None:
    cluster.start()
    run = start_run(resolve(None))
    hooked = save_near_copies(range(0, 40, 8))
    batch = wait_mid_batch(cluster)
    killed = cluster.kill()
    left = ScanBatch.objects.exclude(stage=ScanBatch.Stage.CHECKED).count()
    pending = PendingCheck.objects.count()
    cluster.start()  # what a process supervisor does; no dedup command is run
    took = wait_until(healed, cluster, "the run and the saved images' checks")
    print(
        f"\nSIGKILL of {killed} processes mid-batch {batch.pk}: {left} batches and {pending} "
        f"saved images left; healed {took:.1f} s after the restart "
        f"({connection.vendor}, {'redis' if 'redis' in settings.Q_CLUSTER else 'orm'} broker)"
    )
    assert ScanBatch.objects.get(pk=batch.pk).attempts >= 2, "the killed batch was done again"
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.FINISHED
    assert_single_process_groups(library + hooked, cluster)


def test_saved_images_whose_checks_died_with_the_cluster_are_checked(cluster) -> None:
    """The case of issue 16: 40 images saved, the cluster killed once some were checked; no
    scan is run, the broker's retry (ORM) or the catch-up (Redis) checks the rest."""
    from imagex_dedup.models import ImageFingerprint

    cluster.start()
    photos = [
        Photo.objects.create(image=upload(f"saved-{index}.jpg", data))
        for index, data in enumerate(library_bytes(40, SIDE))
    ]
    wait_until(
        lambda: ImageFingerprint.objects.exclude(checked_at=None).count() >= 13,
        cluster,
        "13 checks",
        poll=0.01,
    )
    cluster.kill()
    unchecked = PendingCheck.objects.count()
    cluster.start()
    took = wait_until(healed, cluster, "the saved images' checks")
    print(f"\ncluster killed with {unchecked} of 40 checks pending: healed after {took:.1f} s")
    assert unchecked > 0
    assert_single_process_groups(photos, cluster, groups_at_least=10)


@pytest.fixture
def redis_cluster(private_redis, options, monkeypatch, tmp_path: Path):  # noqa: F811
    """The cluster on a private Redis (restartable), this process enqueueing there too."""
    from django_q.conf import Conf

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL + Redis leg (tests.settings_pg)")
    port, (_cli, restart) = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(Conf, "REDIS", url)
    cluster = Cluster(tmp_path, IMAGEX_DEDUP_REDIS_URL=url)
    yield cluster, restart
    cluster.stop()


def test_redis_restart_without_persistence_heals_by_itself(library, redis_cluster) -> None:
    cluster, restart = redis_cluster
    cluster.start()
    run = start_run(resolve(None))
    wait_mid_batch(cluster)
    hooked = save_near_copies(range(0, 60, 3))
    queued = get_broker().queue_size()
    restart()  # SHUTDOWN NOSAVE: every queued message is gone
    left = ScanBatch.objects.exclude(stage=ScanBatch.Stage.CHECKED).count()
    took = wait_until(healed, cluster, "the run and the saved images' checks")
    print(
        f"\nredis restarted with {queued} messages queued, {left} batches left: "
        f"healed after {took:.1f} s"
    )
    assert queued > 0, "nothing was lost: the test proves nothing"
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.FINISHED
    assert_single_process_groups(library + hooked, cluster)
