"""The Wagtail demo: the gallery demo's settings plus a small Wagtail site whose pages use
near-duplicate images in a foreign key, a StreamField and rich text (``manage.py
load_wagtail_demo``). Its database and media are its own (``demo_wagtail.sqlite3``,
``demo_wagtail_media/``), so the gallery demo is untouched. Needs ``pip install -e ".[wagtail]"``.
"""

from __future__ import annotations

import os

from demo_project.settings import *  # noqa: F403
from demo_project.settings import BASE_DIR, DATABASES, INSTALLED_APPS

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "imagex_dedup.contrib.wagtail",
    "demo_project.wagtailsite",
]
ROOT_URLCONF = "demo_project.urls_wagtail"
DATABASES = {
    "default": {
        **DATABASES["default"],
        "NAME": os.environ.get("IMAGEX_DEMO_DB", str(BASE_DIR / "demo_wagtail.sqlite3")),
    }
}
MEDIA_ROOT = os.environ.get("IMAGEX_DEMO_MEDIA_ROOT", str(BASE_DIR / "demo_wagtail_media"))
WAGTAIL_SITE_NAME = "imagex_dedup Wagtail demo"
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
