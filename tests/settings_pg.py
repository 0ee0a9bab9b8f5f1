"""Test settings: PostgreSQL + the django-q2 Redis broker + a Redis cache (the second CI leg)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import Q_CLUSTER

RUN_ID = os.environ.setdefault("IMAGEX_DEDUP_RUN_ID", str(os.getpid()))
# Parallel runs on one server pick their own test database (IMAGEX_DEDUP_PG_TEST_DB).
_test_db = os.environ.get("IMAGEX_DEDUP_PG_TEST_DB", "test_imagex_dedup")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("IMAGEX_DEDUP_DB_NAME", "imagex_dedup"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "TEST": {"NAME": _test_db},
    }
}

REDIS_URL = os.environ.get("IMAGEX_DEDUP_REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"imagex_dedup_tests_{RUN_ID}",
    }
}

Q_CLUSTER = {k: v for k, v in Q_CLUSTER.items() if k != "orm"}
Q_CLUSTER["redis"] = REDIS_URL
Q_CLUSTER["name"] = f"imagex_dedup_tests_{RUN_ID}"
