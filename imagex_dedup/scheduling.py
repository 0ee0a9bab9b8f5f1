"""Hand work to django-q2 once the surrounding transaction commits, and how long it may take.

Tasks are named by dotted path and get plain arguments only (strings, numbers), so nothing is
pickled but primitives and a worker never runs before the rows it needs are committed.
:func:`lost_after` and :func:`batch_lease` say when a piece of work handed out counts as lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction

from imagex_dedup.conf import dedup_settings

logger = logging.getLogger(__name__)


def _q_options() -> dict[str, Any]:
    return {"group": dedup_settings.task_group, "timeout": dedup_settings.task_timeout}


def _keep(func_path: str, args: tuple[Any, ...]) -> None:
    """Store a message the broker refused (Redis down or restarting) as a one-off django-q2
    schedule due now: it lives in the database, and the scheduler enqueues it once the broker
    answers again (a failed try leaves the schedule for the next tick)."""
    from django.utils import timezone
    from django_q.models import Schedule

    try:
        Schedule.objects.create(
            name=f"imagex_dedup {func_path.rsplit('.', 1)[-1]} {args!r}"[:100],
            func=func_path,
            args=repr(args),
            kwargs=repr({"q_options": _q_options()}),
            schedule_type=Schedule.ONCE,
            repeats=-1,  # deleted once it has run
            next_run=timezone.now(),
        )
    except Exception:
        logger.exception("imagex_dedup: could not keep %s%r as a schedule either", func_path, args)


def _send(func_path: str, args: tuple[Any, ...]) -> None:
    from django_q.tasks import async_task

    try:
        async_task(func_path, *args, q_options=_q_options())
    except Exception:
        logger.exception(
            "imagex_dedup: could not enqueue %s%r; kept as a schedule", func_path, args
        )
        _keep(func_path, args)


def enqueue(func_path: str, *args: Any, using: str = "default") -> None:
    """Queue ``func_path(*args)`` with django-q2 after the transaction on ``using`` commits."""
    transaction.on_commit(lambda: _send(func_path, args), using=using)


def lost_after() -> timedelta:
    """A task runs at most ``TASK_TIMEOUT`` seconds (django-q2 kills it then) and an
    unacknowledged message of the ORM broker comes back after the cluster's ``retry``: work
    not finished after both is lost (a popped Redis message never comes back)."""
    from django_q.conf import Conf

    return timedelta(seconds=dedup_settings.task_timeout + int(Conf.RETRY or 0))


def batch_lease() -> timedelta:
    """How long a claimed batch stays with its worker: the task's own timeout."""
    return timedelta(seconds=dedup_settings.task_timeout)
