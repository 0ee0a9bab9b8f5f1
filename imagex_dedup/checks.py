"""System checks for integration mistakes (ids ``imagex_dedup.E0xx`` / ``W0xx``)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


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


def _settings_model_errors(label: object, fields: object) -> list[CheckMessage]:
    """Problems with one ``MODELS`` entry (``E003``-``E006``)."""
    from imagex_dedup.hook.registry import field_problem

    where = f'IMAGEX_DEDUP["MODELS"][{label!r}]'
    try:
        model = apps.get_model(str(label))
    except (LookupError, ValueError):
        return [
            Error(
                f"{where}: no installed model {label!r}.",
                hint='Name a concrete model as "app_label.ModelName" (abstract models cannot be '
                "watched: name their concrete subclasses).",
                id="imagex_dedup.E003",
            )
        ]
    names = [fields] if isinstance(fields, str) else fields
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(isinstance(name, str) for name in names)
    ):
        return [
            Error(
                f"{where} must be a field name or a list of field names, not {fields!r}.",
                id="imagex_dedup.E006",
            )
        ]
    errors: list[CheckMessage] = []
    for name in names:
        problem = field_problem(model, name)
        if problem is None:
            continue
        missing = problem.endswith(f"has no field {name!r}")
        errors.append(
            Error(
                f"{where}: {problem}.",
                hint="Name a FileField or ImageField of the model.",
                obj=model,
                id="imagex_dedup.E004" if missing else "imagex_dedup.E005",
            )
        )
    return errors


@register(Tags.models)
def check_registered_models(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ``MODELS`` setting must name installed models and their file fields."""
    from imagex_dedup.conf import UPLOAD_CHECK_MODES, dedup_settings
    from imagex_dedup.hook.registry import entry_options

    models_setting = dedup_settings.user_settings.get("MODELS", {})
    if not isinstance(models_setting, dict):
        return [
            Error(
                'IMAGEX_DEDUP["MODELS"] must be a dict {"app_label.Model": "field" or [fields] '
                'or {"field": ..., "upload_check": ...}}.',
                id="imagex_dedup.E007",
            )
        ]
    errors: list[CheckMessage] = []
    for label, entry in models_setting.items():
        fields, upload_check = entry_options(entry)
        errors += _settings_model_errors(label, fields)
        if upload_check is not None and upload_check not in UPLOAD_CHECK_MODES:
            errors.append(
                Error(
                    f'IMAGEX_DEDUP["MODELS"][{label!r}]["upload_check"] = {upload_check!r} is '
                    "not a mode.",
                    hint=f"Write one of {', '.join(UPLOAD_CHECK_MODES)}, or leave it out to use "
                    "UPLOAD_CHECK.",
                    id="imagex_dedup.E019",
                )
            )
    return errors


@register(Tags.compatibility)
def check_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ``BACKEND`` setting must name an importable detection backend."""
    from django.core.exceptions import ImproperlyConfigured

    from imagex_dedup.backends import backend_class

    try:
        backend_class()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="imagex_dedup.E008")]
    return []


@register(Tags.compatibility)
def check_rates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``SERVICE_RATE`` and ``STATUS_RATE`` must be ``None`` or ``"<count>/<s|m|h|d>"``."""
    from imagex_dedup.conf import dedup_settings
    from imagex_dedup.service.throttling import parse_rate

    errors: list[CheckMessage] = []
    for name in ("SERVICE_RATE", "STATUS_RATE"):
        rate = getattr(dedup_settings, name)
        try:
            valid = rate is None or parse_rate(rate)[0] > 0
        except (AttributeError, KeyError, ValueError):
            valid = False
        if not valid:
            errors.append(
                Error(
                    f'IMAGEX_DEDUP["{name}"] = {rate!r} is not a rate.',
                    hint='Write a positive count per second, minute, hour or day ("10/s", '
                    '"600/m"), or None for no limit.',
                    id="imagex_dedup.E009",
                )
            )
    return errors


@register(Tags.compatibility)
def check_imagex_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W010-W015: settings the ``imagex`` backend needs (only when it is selected)."""
    from imagex_dedup.backends.imagex_config import check_imagex_settings

    return check_imagex_settings()


@register(Tags.compatibility)
def check_setting_values(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E016: an option of the wrong type or out of range; W017: a key no option has (a typo)."""
    from imagex_dedup.conf import DEFAULTS, SETTINGS_NAME, SPECS, dedup_settings

    given = dedup_settings.user_settings
    messages: list[CheckMessage] = [
        Warning(
            f"{SETTINGS_NAME}[{key!r}] is not an imagex_dedup setting; it is ignored.",
            hint="Check the spelling against the settings reference.",
            id="imagex_dedup.W017",
        )
        for key in given
        if key not in DEFAULTS
    ]
    for spec in SPECS:
        if spec.key not in given:
            continue
        value = dedup_settings.value(spec.key)
        kinds = tuple(kind for kind in spec.types if kind is not None)
        if value is None and None in spec.types:
            continue
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            problem = "must be " + " or ".join(
                "None" if kind is None else kind.__name__ for kind in spec.types
            )
        else:
            problem = spec.validate(value) if spec.validate else None
        if problem:
            messages.append(
                Error(
                    f"{SETTINGS_NAME}[{spec.key!r}] = {value!r}: {problem}.",
                    hint=f"{spec.key}: {spec.doc}",
                    id="imagex_dedup.E016",
                )
            )
    return messages


@register(Tags.urls)
def check_service_mount(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W018: the service is not served at its mount without the slash (``urls.mount``)."""
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    if not getattr(settings, "ROOT_URLCONF", None):  # worker-only settings: nothing is served
        return []
    try:
        bare = reverse("imagex_dedup:service").rstrip("/")
    except NoReverseMatch:  # the URLs are not mounted: a host that only uses the hook
        return []
    if not bare:
        return []
    try:
        resolve(bare)
    except Resolver404:
        return [
            Warning(
                f"POST {bare} (without the slash) is not served: Django's APPEND_SLASH answers "
                "it with a 301 that clients follow as a GET without the body (a 500 under "
                "DEBUG).",
                hint='Mount the app with imagex_dedup.urls.mount("...") instead of include().',
                id="imagex_dedup.W018",
            )
        ]
    return []
