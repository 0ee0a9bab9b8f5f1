"""Settings of the demo: one machine, SQLite and the django-q2 ORM broker, no other server.

The database and the uploaded media live at git-ignored paths in the repository root
(``demo.sqlite3`` and ``demo_media/``); ``IMAGEX_DEMO_DB`` and ``IMAGEX_DEMO_MEDIA_ROOT`` move
them (the smoke tests point them at a temp directory).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# DEBUG is on so runserver serves /media/ and /static/ and shows tracebacks: this settings file
# is for trying the app on your own machine, never for a public server.
DEBUG = True
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret-do-not-deploy")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "demo_project.urls"
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
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc files for /api/docs/, no CDN
    "django_q",
    "imagex_dedup",
    "demo_project.gallery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# runserver and the qcluster workers write to the same file: WAL lets readers go on while one
# writes, IMMEDIATE transactions take the write lock up front (no lock-upgrade deadlocks), and
# the timeout makes a writer wait for the lock instead of failing with "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("IMAGEX_DEMO_DB", str(BASE_DIR / "demo.sqlite3")),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

MEDIA_ROOT = os.environ.get("IMAGEX_DEMO_MEDIA_ROOT", str(BASE_DIR / "demo_media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

# The database is the queue: `manage.py qcluster` runs the checks, no Redis needed.
# Q_CLUSTER is read once, when django_q is imported; restart qcluster after changing it.
Q_CLUSTER = {
    "name": "demo",
    "orm": "default",
    "workers": 2,
    "timeout": 60,
    "retry": 90,
    "max_attempts": 3,
    "catch_up": False,
    "poll": 0.5,
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "imagex_dedup demo",
    "DESCRIPTION": "The REST API of imagex_dedup, as mounted by the demo project.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# gallery.Photo is registered here; gallery.Author is registered in code (gallery/apps.py):
# the two ways a host names the image fields to watch.
IMAGEX_DEDUP = {
    "MODELS": {"gallery.Photo": "image"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "imagex_dedup": {"handlers": ["console"], "level": "INFO"},
        "demo_project": {"handlers": ["console"], "level": "INFO"},
    },
}
