"""Detection backends: where the duplicates of a stored host image are looked for.

``IMAGEX_DEDUP["BACKEND"]`` is ``"local"`` (default), ``"imagex"`` or a dotted path to a
:class:`~imagex_dedup.backends.base.DetectionBackend` subclass.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from imagex_dedup.backends.base import DetectionBackend
from imagex_dedup.conf import dedup_settings

BACKENDS = {
    "local": "imagex_dedup.backends.local.LocalBackend",
    "imagex": "imagex_dedup.backends.imagex.ImagexBackend",
}


def backend_class(name: str | None = None) -> type[DetectionBackend]:
    """The backend class named ``name`` (default: the ``BACKEND`` setting)."""
    name = name or dedup_settings.backend
    path = BACKENDS.get(name, name)
    try:
        backend = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"imagex_dedup backend {name!r} cannot be imported: {error}"
        ) from error
    if not (isinstance(backend, type) and issubclass(backend, DetectionBackend)):
        raise ImproperlyConfigured(f"{path} is not a DetectionBackend subclass")
    return backend


def get_backend(name: str | None = None) -> DetectionBackend:
    return backend_class(name)()


__all__ = ["BACKENDS", "DetectionBackend", "backend_class", "get_backend"]
