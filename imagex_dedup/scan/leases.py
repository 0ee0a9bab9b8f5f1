"""How long a worker may hold a piece of work before it counts as lost."""

from __future__ import annotations

from datetime import timedelta

from imagex_dedup.conf import dedup_settings


def lost_after() -> timedelta:
    """A task runs at most ``TASK_TIMEOUT`` seconds (django-q2 kills it then) and an
    unacknowledged message of the ORM broker comes back after the cluster's ``retry``: work
    not finished after both is lost (a popped Redis message never comes back)."""
    from django_q.conf import Conf

    return timedelta(seconds=dedup_settings.task_timeout + int(Conf.RETRY or 0))


def batch_lease() -> timedelta:
    """How long a claimed batch stays with its worker: the task's own timeout."""
    return timedelta(seconds=dedup_settings.task_timeout)
