"""The catch-up's django-q2 schedule, installed and kept up to date after ``migrate``.

``post_migrate`` runs after every ``migrate`` (and when a test database is created), so a
changed ``CATCHUP_INTERVAL`` or ``CATCHUP_ENABLED`` takes effect at the next deploy's migrate.
One schedule, found by its name; the cluster's scheduler runs it on one worker at a time.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from imagex_dedup.conf import dedup_settings

SCHEDULE_NAME = "imagex_dedup catch-up"
CATCHUP_TASK = "imagex_dedup.scan.catchup.catch_up"


def install_schedule() -> Any:
    """Create, update or (when ``CATCHUP_ENABLED`` is off) delete the schedule; returns it."""
    from django_q.models import Schedule

    if not dedup_settings.catchup_enabled:
        Schedule.objects.filter(name=SCHEDULE_NAME).delete()
        return None
    wanted = {
        "func": CATCHUP_TASK,
        "schedule_type": Schedule.MINUTES,
        "minutes": dedup_settings.catchup_interval,
        "repeats": -1,
        "kwargs": repr(
            {
                "q_options": {
                    "group": dedup_settings.task_group,
                    "timeout": dedup_settings.task_timeout,
                }
            }
        ),
    }
    schedule = Schedule.objects.filter(name=SCHEDULE_NAME).first()
    if schedule is None:
        return Schedule.objects.create(name=SCHEDULE_NAME, next_run=timezone.now(), **wanted)
    changed = [name for name, value in wanted.items() if getattr(schedule, name) != value]
    if changed:
        for name in changed:
            setattr(schedule, name, wanted[name])
        schedule.save(update_fields=changed)
    return schedule


def on_post_migrate(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """``post_migrate`` receiver of this app (sent once every migration has run); nothing
    when django_q's tables are not there (``migrate`` of some apps only)."""
    if using != DEFAULT_DB_ALIAS:
        return
    from django.db import connections

    tables = connections[using].introspection.table_names()
    if "django_q_schedule" in tables:
        install_schedule()
