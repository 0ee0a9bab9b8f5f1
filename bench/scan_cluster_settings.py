"""Settings of ``bench_scan_cluster.py`` and of the ``qcluster`` processes it starts: PostgreSQL
and the django-q2 Redis broker, named by environment variables the bench sets."""

from __future__ import annotations

import os

SECRET_KEY = "bench"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_q",
    "imagex_dedup",
    "tests.testapp",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["BENCH_PG_NAME"],
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
}
MEDIA_ROOT = os.environ["BENCH_MEDIA_ROOT"]
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
Q_CLUSTER = {
    "name": "bench_scan_cluster",
    "redis": os.environ["BENCH_REDIS_URL"],
    "workers": WORKERS,
    "timeout": 300,
    "retry": 360,
    "max_attempts": 1,
    "save_limit": 100,
    "sync": False,
    # django-q2 replaces a worker process after 500 tasks by default; the bench attributes CPU
    # and memory to the busiest processes, so keep each worker for the whole run
    "recycle": 1_000_000,
}
IMAGEX_DEDUP = {
    "MODELS": {"testapp.Photo": "image"},
    "ENABLED": False,
    "TASK_TIMEOUT": 300,
    "SCAN_CONCURRENCY": WORKERS,
    "CATCHUP_ENABLED": False,
}
LOGGING_CONFIG = None
ROOT_URLCONF = "scan_cluster_settings"  # no views: the system checks only need a URLconf
urlpatterns: list[object] = []
