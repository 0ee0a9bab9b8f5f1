"""Test settings for the media-library integrations: tests.settings plus real Wagtail and
django-filer (the ``wagtail`` and ``filer`` extras). Run for ``tests/contrib`` only."""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "wagtail.contrib.forms",
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
    "easy_thumbnails",
    "filer",
    "imagex_dedup.contrib.wagtail",
    "imagex_dedup.contrib.filer",
    "tests.mediaapp",
]
ROOT_URLCONF = "tests.urls_wagtail"
WAGTAIL_SITE_NAME = "imagex_dedup tests"
WAGTAILADMIN_BASE_URL = "http://testserver"
THUMBNAIL_HIGH_RESOLUTION = False
