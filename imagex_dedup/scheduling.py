"""Hand work to django-q2 once the surrounding transaction commits.

Tasks are named by dotted path and get plain arguments only (strings, numbers), so nothing is
pickled but primitives and a worker never runs before the rows it needs are committed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from .conf import dedup_settings

logger = logging.getLogger(__name__)


def _send(func_path: str, args: tuple[Any, ...]) -> None:
    from django_q.tasks import async_task

    try:
        async_task(
            func_path,
            *args,
            q_options={"group": dedup_settings.TASK_GROUP, "timeout": dedup_settings.TASK_TIMEOUT},
        )
    except Exception:
        logger.exception("imagex_dedup: could not enqueue %s%r", func_path, args)


def enqueue(func_path: str, *args: Any, using: str = "default") -> None:
    """Queue ``func_path(*args)`` with django-q2 after the transaction on ``using`` commits."""
    transaction.on_commit(lambda: _send(func_path, args), using=using)
