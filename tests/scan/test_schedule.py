"""The catch-up schedule is installed by migrate and follows the settings (the test settings
turn it off, so other tests can count schedules)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_q.models import Schedule

from imagex_dedup.scan.schedule import (
    CATCHUP_TASK,
    SCHEDULE_NAME,
    install_schedule,
    on_post_migrate,
)

pytestmark = pytest.mark.django_db
ON = {"MODELS": {"testapp.Photo": "image"}, "CATCHUP_ENABLED": True}


def test_migrate_installs_the_schedule_when_enabled() -> None:
    assert not Schedule.objects.filter(name=SCHEDULE_NAME).exists()
    with override_settings(IMAGEX_DEDUP=ON):
        call_command("migrate", verbosity=0)
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        CATCHUP_TASK,
        Schedule.MINUTES,
        5,
        -1,
    )
    assert "'group': 'imagex_dedup'" in schedule.kwargs


@override_settings(IMAGEX_DEDUP=ON)
def test_the_schedule_follows_the_interval_and_the_off_switch() -> None:
    with override_settings(IMAGEX_DEDUP={**ON, "CATCHUP_INTERVAL": 2}):
        on_post_migrate(using="default")
    assert Schedule.objects.get(name=SCHEDULE_NAME).minutes == 2
    assert install_schedule().minutes == 5, "back to the default"
    with override_settings(IMAGEX_DEDUP={**ON, "CATCHUP_ENABLED": False}):
        assert install_schedule() is None
    assert not Schedule.objects.filter(name=SCHEDULE_NAME).exists()
    install_schedule()
    install_schedule()
    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


@override_settings(IMAGEX_DEDUP=ON)
def test_other_databases_are_left_alone() -> None:
    on_post_migrate(using="other")
    assert not Schedule.objects.exists()
