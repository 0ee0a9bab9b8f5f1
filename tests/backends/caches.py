"""The cache the cross-process rate limit test shares between processes.

The limiter needs a create-if-absent that is atomic across processes: the PostgreSQL leg's
default cache (Redis) has one; the SQLite leg's default (file-based) does not, so there the test
uses a database cache table in the test database, which every process opens.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def limiter_caches(db_table: str | None) -> dict[str, Any]:
    """``CACHES`` with a "ratelimit" alias: a database cache in ``db_table``, or the default."""
    alias = (
        {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": db_table}
        if db_table
        else settings.CACHES["default"]
    )
    return {**settings.CACHES, "ratelimit": alias}
