"""The integrations' tests on PostgreSQL + the Redis broker (tests.settings_pg's services)."""

from __future__ import annotations

from tests import settings_pg
from tests.settings_wagtail import *  # noqa: F403

DATABASES = settings_pg.DATABASES
CACHES = settings_pg.CACHES
Q_CLUSTER = settings_pg.Q_CLUSTER
