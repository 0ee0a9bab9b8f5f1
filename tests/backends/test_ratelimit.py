"""CacheRateLimiter: counting per second in the shared cache, in one process and across two."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from imagex_dedup.backends.ratelimit import WAKE_JITTER, CacheRateLimiter, cache_is_shared
from tests.backends.caches import limiter_caches

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_admits_rate_per_second_then_waits_for_the_next_second() -> None:
    fake = FakeTime(1_000_000.25)
    limiter = CacheRateLimiter(3, clock=fake.clock, sleep=fake.sleep)
    key = f"AK-{uuid.uuid4()}"

    admitted_at = []
    for _ in range(7):
        limiter.acquire(key)
        admitted_at.append(int(fake.now))

    assert admitted_at == [1_000_000] * 3 + [1_000_001] * 3 + [1_000_002]
    assert len(fake.sleeps) == 2
    # Each wait ends early in the next second: at most the wake-up jitter into it.
    assert 0.75 <= fake.sleeps[0] <= 0.75 + WAKE_JITTER


def test_keys_are_limited_independently() -> None:
    fake = FakeTime(2_000_000.5)
    limiter = CacheRateLimiter(2, clock=fake.clock, sleep=fake.sleep)
    suffix = uuid.uuid4()
    for key in (f"AK-a-{suffix}", f"AK-b-{suffix}", f"AK-a-{suffix}", f"AK-b-{suffix}"):
        limiter.acquire(key)
    assert fake.sleeps == []


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CacheRateLimiter(0)


def test_repr_names_no_access_key() -> None:
    limiter = CacheRateLimiter(10)
    limiter.acquire("AKLTsecretish")
    assert "AKLT" not in repr(limiter)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_the_limit() -> None:
    """Two real processes on a shared cache: never more than RATE per counted second."""
    table = None if cache_is_shared("default") else "imagex_dedup_test_ratelimit"
    if table:
        with override_settings(CACHES=limiter_caches(table)):
            call_command("createcachetable", verbosity=0)
    rate, per_process = 10, 15
    key = f"AK-shared-{uuid.uuid4()}"
    start = time.time() + 1.5  # both children are up before they start competing
    command = [sys.executable, "-m", "tests.backends.ratelimit_worker", key, str(per_process)]
    command += [str(rate), repr(start), *([table] if table else [])]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "IMAGEX_DEDUP_DB_NAME": str(connection.settings_dict["NAME"]),
    }
    children = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=60)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]

    seconds = [int(line) for out in outputs for line in out.split()]
    assert len(seconds) == 2 * per_process
    per_second = collections.Counter(seconds)
    assert max(per_second.values()) <= rate
    # 30 admissions at 10 per second need at least three distinct seconds.
    assert len(per_second) >= 3


@pytest.mark.parametrize(
    ("backend", "shared"),
    [
        ("django.core.cache.backends.redis.RedisCache", True),
        ("django.core.cache.backends.db.DatabaseCache", True),
        ("django.core.cache.backends.filebased.FileBasedCache", False),
        ("django.core.cache.backends.locmem.LocMemCache", False),
        ("thirdparty.cache.AtomicCache", True),
    ],
)
def test_cache_is_shared(backend: str, shared: bool) -> None:
    with override_settings(CACHES={"default": {"BACKEND": backend}}):
        assert cache_is_shared("default") is shared
