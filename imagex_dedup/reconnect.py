"""Database connections after a long wait on the network.

A django-q2 worker opens its connection when a task starts, then may spend seconds to minutes
fetching images or posting a callback. If PostgreSQL drops the session meanwhile (a restart,
``pg_terminate_backend``, an idle timeout of a pooler), the task's next write fails and its
result is lost: the broker has already handed the message out. Django checks connections only
at request boundaries (``close_old_connections``); tasks call :func:`refresh_connections` at the
same kind of boundary, between the network wait and their writes.
"""

from __future__ import annotations

from django.db import connections


def refresh_connections() -> None:
    """Close connections that are obsolete (``CONN_MAX_AGE``) or broken, so the next query
    opens a fresh one; with ``CONN_HEALTH_CHECKS`` the next query checks the connection first.

    Connections inside ``atomic()`` are left alone (closing one would break the transaction).
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
