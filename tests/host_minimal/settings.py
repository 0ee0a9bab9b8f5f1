"""A host project set up exactly as the install docs say, and nothing more.

No ``REST_FRAMEWORK`` setting, no ``drf_spectacular`` (nor its sidecar) in ``INSTALLED_APPS``,
no static files served: every page the app mounts must still answer without a 500.
``tests.testapp`` stands for the host's own app (its ``Photo`` model is the one watched).
"""

import os

SECRET_KEY = "host-minimal-not-secret"
DEBUG = True  # a developer's first run: Django's DEBUG-only errors must not show up either
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.host_minimal.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HOST_MINIMAL_DB"]}
}
MEDIA_ROOT = os.environ["HOST_MINIMAL_MEDIA"]
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
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

# --- the install docs, verbatim from here -----------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tests.testapp",  # the host's own app
    "rest_framework",
    "django_q",
    "imagex_dedup",
]

# django-q2 runs the checks. "orm" makes the database the queue: no other server needed.
Q_CLUSTER = {"name": "mysite", "orm": "default", "workers": 2, "timeout": 60, "retry": 90}

IMAGEX_DEDUP = {
    "MODELS": {"testapp.Photo": "image"},  # the image fields to watch (or register in code)
}
