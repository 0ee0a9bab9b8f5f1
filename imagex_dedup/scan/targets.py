"""What a scan covers: registered models and their watched image fields."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from imagex_dedup.hook.registry import get_registration, registrations


class UnknownTarget(ValueError):
    """A model label that names no registered model."""


@dataclass(frozen=True)
class Target:
    model: type[models.Model]
    field_name: str

    @property
    def label(self) -> str:
        """``app_label.model.field``, how a run stores it."""
        return f"{self.model._meta.label_lower}.{self.field_name}"

    def images(self) -> models.QuerySet:
        """The host rows whose field holds a file."""
        return self.model._default_manager.exclude(**{self.field_name: ""}).exclude(
            **{f"{self.field_name}__isnull": True}
        )


def resolve(labels: list[str] | None) -> list[Target]:
    """The targets of ``labels`` (``app_label.Model``), or of every registered model."""
    if not labels:
        chosen = list(registrations())
    else:
        chosen = []
        for label in labels:
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError) as error:
                raise UnknownTarget(f"Unknown model {label!r}: {error}") from error
            registration = get_registration(model)
            if registration is None:
                raise UnknownTarget(f"{label} is not registered with imagex_dedup")
            chosen.append(registration)
    return [Target(r.model, field_name) for r in chosen for field_name in r.fields]


def from_label(label: str) -> Target:
    """The target a run stored as ``app_label.model.field``."""
    model_label, field_name = label.rsplit(".", 1)
    return Target(apps.get_model(model_label), field_name)
