"""Which host models (and which of their file fields) imagex_dedup watches.

Two equivalent ways in:

* settings: ``IMAGEX_DEDUP = {"MODELS": {"gallery.Photo": "image", "shop.Item": ["a", "b"]}}``,
  read in ``AppConfig.ready()``; mistakes there are reported by system checks
  (``imagex_dedup.E003``-``E007``), never at first save;
* code: ``imagex_dedup.register(Photo, field="image")``, or ``@register(field="image")`` on the
  model class; mistakes raise :class:`RegistrationError` at once.

The registry is keyed by ``(app_label, model_name)`` of the *concrete* model: registering a proxy
registers its concrete model, an abstract model is refused (register its concrete children).
Registering connects the model's signal receivers; :func:`unregister` disconnects exactly those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar, overload

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from imagex_dedup.hook import handlers

ModelT = TypeVar("ModelT", bound=type[models.Model])
RegistryKey = tuple[str, str]


class RegistrationError(Exception):
    """A model or field that cannot be watched (abstract model, missing or non-file field)."""


class AlreadyRegistered(RegistrationError):
    """The model is registered already; unregister it first to change its fields."""


class NotRegistered(RegistrationError):
    """``unregister`` was asked about a model that is not registered."""


@dataclass(frozen=True)
class Registration:
    """The watched file fields of one concrete model."""

    model: type[models.Model]
    fields: tuple[str, ...]
    from_settings: bool = False

    @property
    def key(self) -> RegistryKey:
        return registry_key(self.model)


_registry: dict[RegistryKey, Registration] = {}


def registry_key(model: type[models.Model]) -> RegistryKey:
    concrete = model._meta.concrete_model or model
    return (concrete._meta.app_label, concrete._meta.model_name or "")


def field_problem(model: type[models.Model], field_name: str) -> str | None:
    """Why ``field_name`` of ``model`` cannot be watched, or ``None`` if it can."""
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return f"{model._meta.label} has no field {field_name!r}"
    if not isinstance(field, models.FileField):
        return (
            f"{model._meta.label}.{field_name} is a {type(field).__name__}, "
            "not a FileField or ImageField"
        )
    return None


def _field_names(field: str | Iterable[str]) -> tuple[str, ...]:
    names = (field,) if isinstance(field, str) else tuple(field)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise RegistrationError(f"field must be a field name or a list of names, not {field!r}")
    return tuple(dict.fromkeys(names))


def _validated(model: type[models.Model], field: str | Iterable[str]) -> Registration:
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        raise RegistrationError(f"{model!r} is not a Django model class")
    if model._meta.abstract:
        raise RegistrationError(
            f"{model.__name__} is abstract: register its concrete subclasses instead"
        )
    concrete = model._meta.concrete_model or model
    names = _field_names(field)
    for name in names:
        problem = field_problem(concrete, name)
        if problem:
            raise RegistrationError(problem)
    return Registration(model=concrete, fields=names)


def _add(registration: Registration) -> None:
    if registration.key in _registry:
        raise AlreadyRegistered(f"{registration.model._meta.label} is already registered")
    _registry[registration.key] = registration
    handlers.connect(registration.model, registration.fields)


@overload
def register(model: ModelT, *, field: str | Iterable[str]) -> ModelT: ...
@overload
def register(model: None = None, *, field: str | Iterable[str]) -> Callable[[ModelT], ModelT]: ...


def register(
    model: ModelT | None = None, *, field: str | Iterable[str]
) -> ModelT | Callable[[ModelT], ModelT]:
    """Watch ``field`` (a name or several) of ``model``; usable as ``@register(field=...)``.

    Returns the model unchanged, so the decorator form keeps the class.
    """

    def decorate(model_class: ModelT) -> ModelT:
        _add(_validated(model_class, field))
        return model_class

    return decorate if model is None else decorate(model)


def unregister(model: type[models.Model]) -> None:
    """Stop watching ``model`` and disconnect its receivers."""
    key = registry_key(model)
    if key not in _registry:
        raise NotRegistered(f"{model._meta.label} is not registered")
    registration = _registry.pop(key)
    handlers.disconnect(registration.model)


def is_registered(model: type[models.Model]) -> bool:
    return registry_key(model) in _registry


def get_registered_models() -> list[type[models.Model]]:
    return [registration.model for registration in _registry.values()]


def get_registration(model_or_key: type[models.Model] | RegistryKey) -> Registration | None:
    key = model_or_key if isinstance(model_or_key, tuple) else registry_key(model_or_key)
    return _registry.get(key)


def registrations() -> Iterator[Registration]:
    yield from list(_registry.values())


def settings_entries(models_setting: object) -> Iterator[tuple[str, object]]:
    """``(label, fields)`` pairs of the ``MODELS`` setting (the checks validate the shapes)."""
    if isinstance(models_setting, dict):
        yield from models_setting.items()


def register_from_settings() -> None:
    """Register the models named in ``IMAGEX_DEDUP["MODELS"]``.

    Called from ``AppConfig.ready()``. Invalid entries and models already registered in code are
    skipped here: the system checks report them with a clear message.
    """
    from imagex_dedup.conf import dedup_settings

    for label, fields in settings_entries(dedup_settings.user_settings.get("MODELS", {})):
        try:
            model = apps.get_model(label)
            registration = _validated(model, fields)  # type: ignore[arg-type]
        except (LookupError, ValueError, RegistrationError):
            continue
        if registration.key not in _registry:
            _add(Registration(registration.model, registration.fields, from_settings=True))


def clear() -> None:
    """Unregister every model (test fixtures pair this with :func:`register_from_settings`)."""
    for registration in registrations():
        unregister(registration.model)
