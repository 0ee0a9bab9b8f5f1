"""System checks for integration mistakes (ids ``imagex_dedup.E0xx`` / ``W0xx``)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.compatibility)
def check_django_q(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if not apps.is_installed("django_q"):
        errors.append(
            Error(
                "imagex_dedup schedules its work with django-q2, but 'django_q' is not in "
                "INSTALLED_APPS.",
                hint="Add 'django_q' to INSTALLED_APPS and run migrate.",
                id="imagex_dedup.E001",
            )
        )
    q_cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    if "orm" not in q_cluster and "redis" not in q_cluster:
        try:
            import redis  # noqa: F401
        except ImportError:
            errors.append(
                Error(
                    "Q_CLUSTER names no broker, so django-q2 falls back to Redis, and the "
                    "'redis' package is not installed.",
                    hint='Set Q_CLUSTER["orm"] = "default" to use the database as the broker, '
                    "or install imagex-dedup[redis].",
                    id="imagex_dedup.E002",
                )
            )
    return errors
