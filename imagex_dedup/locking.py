"""Transactions that serialise writers on every database we support.

PostgreSQL (and other databases with row locks) serialise our group updates with
``select_for_update``. SQLite has no row locks, and its deferred transactions fail at once with
"database is locked" when two of them have read and both then try to write. So on SQLite a
:func:`write_transaction` takes the database write lock first, with a write that changes
nothing; a second writer then waits its turn (up to the connection's busy timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def write_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """``transaction.atomic(using)`` that holds the write lock from its start on SQLite."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "sqlite":
            from .models import ImageFingerprint

            with connection.cursor() as cursor:
                table = connection.ops.quote_name(ImageFingerprint._meta.db_table)
                cursor.execute(f"UPDATE {table} SET id = id WHERE 0")  # noqa: S608
        yield
