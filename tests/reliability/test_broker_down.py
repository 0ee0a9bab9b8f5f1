"""A message the broker refuses (its Redis is down) is not dropped: it is kept as a one-off
django-q2 schedule in the database, which the scheduler enqueues once the broker is back
(end to end on the PostgreSQL + Redis leg: ``test_postgres_redis``)."""

from __future__ import annotations

import ast

import pytest
from django_q.models import Schedule

from imagex_dedup.conf import dedup_settings
from imagex_dedup.scheduling import enqueue
from imagex_dedup.service.tasks import RUN_TASK
from tests.processes import free_port

pytestmark = [pytest.mark.django_db]


def test_refused_message_is_kept_as_a_schedule(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)  # the Redis broker, on a port nothing listens on
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")

    with django_capture_on_commit_callbacks(execute=True):
        enqueue(RUN_TASK, "0123abcd")

    schedule = Schedule.objects.get()
    assert (schedule.func, ast.literal_eval(schedule.args)) == (RUN_TASK, ("0123abcd",))
    assert ast.literal_eval(schedule.kwargs) == {
        "q_options": {"group": dedup_settings.task_group, "timeout": dedup_settings.task_timeout}
    }
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.ONCE, -1)
