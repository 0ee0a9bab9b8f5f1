"""Database plumbing every layer shares: writer-serialising transactions, fresh connections.

**Serialised writers.** PostgreSQL (and other databases with row locks) serialise our group
updates with ``select_for_update``. SQLite has no row locks, and its deferred transactions fail
at once with "database is locked" when two of them have read and both then try to write. So on
SQLite a :func:`write_transaction` takes the database write lock first, with a write that changes
nothing; a second writer then waits its turn (up to the connection's busy timeout).

**Connections after a long wait on the network.** A django-q2 worker opens its connection when
a task starts, then may spend seconds to minutes fetching images or posting a callback. If
PostgreSQL drops the session meanwhile (a restart, ``pg_terminate_backend``, an idle timeout of a
pooler), the task's next write fails and its result is lost: the broker has already handed the
message out. Django checks connections only at request boundaries (``close_old_connections``);
tasks call :func:`refresh_connections` at the same kind of boundary, between the network wait
and their writes.
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
            from imagex_dedup.models import ImageFingerprint

            with connection.cursor() as cursor:
                table = connection.ops.quote_name(ImageFingerprint._meta.db_table)
                cursor.execute(f"UPDATE {table} SET id = id WHERE 0")  # noqa: S608
        yield


def refresh_connections() -> None:
    """Close connections that are obsolete (``CONN_MAX_AGE``) or broken, so the next query
    opens a fresh one; with ``CONN_HEALTH_CHECKS`` the next query checks the connection first.

    Connections inside ``atomic()`` are left alone (closing one would break the transaction).
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
