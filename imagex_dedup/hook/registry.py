"""Which host models (and which of their file fields) imagex_dedup watches.

Two equivalent ways in:

* settings: ``IMAGEX_DEDUP = {"MODELS": {"gallery.Photo": "image", "shop.Item": ["a", "b"]}}``,
  read in ``AppConfig.ready()``; mistakes there are reported by system checks
  (``imagex_dedup.E003``-``E007``), never at first save;
* code: ``imagex_dedup.register(Photo, field="image")``, or ``@register(field="image")`` on the
  model class; mistakes raise :class:`RegistrationError` at once.

Either way a model may override the ``UPLOAD_CHECK`` setting: ``register(Photo, field="image",
upload_check="block")``, or ``{"gallery.Photo": {"field": "image", "upload_check": "block"}}``.

The registry is keyed by ``(app_label, model_name)`` of the *concrete* model: registering a proxy
registers its concrete model, an abstract model is refused (register its concrete children).
Registering connects the model's signal receivers; :func:`unregister` disconnects exactly those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
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
    upload_check: str | None = None
    """This model's ``UPLOAD_CHECK`` (``None``: the setting's)."""

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


def _upload_check(value: str | None) -> str | None:
    from imagex_dedup.conf import UPLOAD_CHECK_MODES

    if value is not None and value not in UPLOAD_CHECK_MODES:
        raise RegistrationError(
            f"upload_check must be one of {', '.join(UPLOAD_CHECK_MODES)} or None, not {value!r}"
        )
    return value


def _validated(
    model: type[models.Model], field: str | Iterable[str], upload_check: str | None = None
) -> Registration:
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
    return Registration(model=concrete, fields=names, upload_check=_upload_check(upload_check))


def _add(registration: Registration) -> None:
    if registration.key in _registry:
        raise AlreadyRegistered(f"{registration.model._meta.label} is already registered")
    _registry[registration.key] = registration
    handlers.connect(registration.model, registration.fields)


@overload
def register(
    model: ModelT, *, field: str | Iterable[str], upload_check: str | None = None
) -> ModelT: ...
@overload
def register(
    model: None = None, *, field: str | Iterable[str], upload_check: str | None = None
) -> Callable[[ModelT], ModelT]: ...


def register(
    model: ModelT | None = None, *, field: str | Iterable[str], upload_check: str | None = None
) -> ModelT | Callable[[ModelT], ModelT]:
    """Watch ``field`` (a name or several) of ``model``; usable as ``@register(field=...)``.

    ``upload_check`` (``"warn"``, ``"block"``, ``"off"``) overrides the ``UPLOAD_CHECK`` setting
    for this model. Returns the model unchanged, so the decorator form keeps the class.
    """

    def decorate(model_class: ModelT) -> ModelT:
        _add(_validated(model_class, field, upload_check))
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
    """``(label, entry)`` pairs of the ``MODELS`` setting (the checks validate the shapes)."""
    if isinstance(models_setting, dict):
        yield from models_setting.items()


def entry_options(entry: object) -> tuple[object, object]:
    """``(fields, upload_check)`` of one ``MODELS`` entry: a field name, a list of names, or
    ``{"field": name or names, "upload_check": mode}``."""
    if isinstance(entry, dict):
        return entry.get("field"), entry.get("upload_check")
    return entry, None


def register_from_settings() -> None:
    """Register the models named in ``IMAGEX_DEDUP["MODELS"]``.

    Called from ``AppConfig.ready()``. Invalid entries and models already registered in code are
    skipped here: the system checks report them with a clear message.
    """
    from imagex_dedup.conf import dedup_settings

    for label, entry in settings_entries(dedup_settings.user_settings.get("MODELS", {})):
        fields, upload_check = entry_options(entry)
        try:
            model = apps.get_model(label)
            registration = _validated(model, fields, upload_check)  # type: ignore[arg-type]
        except (LookupError, ValueError, RegistrationError):
            continue
        if registration.key not in _registry:
            _add(replace(registration, from_settings=True))


def clear() -> None:
    """Unregister every model (test fixtures pair this with :func:`register_from_settings`)."""
    for registration in registrations():
        unregister(registration.model)
