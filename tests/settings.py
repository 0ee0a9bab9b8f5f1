"""Test settings: SQLite + the django-q2 ORM broker (the default CI leg).

Database and media paths are shared with child processes (a real ``qcluster`` worker, a live
server) through environment variables, set here once by the first process that imports this module.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def shared_path(env_name: str, default_name: str) -> str:
    """A temp path chosen once per test run and inherited by child processes via the env."""
    if env_name not in os.environ:
        os.environ[env_name] = os.path.join(tempfile.gettempdir(), f"{default_name}_{os.getpid()}")
    return os.environ[env_name]


SECRET_KEY = "imagex-dedup-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "imagex_dedup",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The test database is a file (not :memory:) so a qcluster child process can open it:
# child processes get IMAGEX_DEDUP_DB_NAME pointing at the test database.
_test_db = shared_path("IMAGEX_DEDUP_TEST_DB", "imagex_dedup_test") + ".sqlite3"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "IMAGEX_DEDUP_DB_NAME", os.path.join(tempfile.gettempdir(), "imagex_dedup_dev.sqlite3")
        ),
        "TEST": {"NAME": _test_db},
        "OPTIONS": {"timeout": 30},
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": shared_path("IMAGEX_DEDUP_CACHE_DIR", "imagex_dedup_cache"),
    }
}

MEDIA_ROOT = shared_path("IMAGEX_DEDUP_MEDIA_ROOT", "imagex_dedup_media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# sync=True runs tasks inline in unit tests; end-to-end tests start a real qcluster and switch
# django_q.conf.Conf.SYNC off with monkeypatch (Q_CLUSTER is read once, at import).
Q_CLUSTER = {
    "name": "imagex_dedup_tests",
    "orm": "default",
    "sync": os.environ.get("IMAGEX_DEDUP_Q_SYNC", "1") == "1",
    "workers": 2,
    "timeout": 60,
    "retry": 90,
    "max_attempts": 3,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": 1000,
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

IMAGEX_DEDUP = {
    "MODELS": {"testapp.Photo": "image"},
    # Tests count django-q2 schedules; tests/scan and tests/reliability turn the catch-up on.
    "CATCHUP_ENABLED": False,
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"imagex_dedup": {"handlers": ["console"], "level": "WARNING"}},
}
