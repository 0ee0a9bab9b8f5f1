"""Signal receivers that turn saves and deletes of watched host objects into dedup work.

Receivers are connected per sender (the registered concrete model and its proxies) with a
``dispatch_uid``. They never raise into the host's ``save()``/``delete()``: failures are logged.

A check is scheduled when an image really changed: the file names seen on ``post_init`` are
compared on ``post_save``. Nothing is scheduled for ``raw`` saves (fixtures), when ``ENABLED`` is
off, when ``update_fields`` leaves the field out, or when the field is deferred. A field that was
deferred when the object was loaded and has been loaded or assigned since has no snapshot, so it
counts as changed (the check is idempotent).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import ModelSignal, post_delete, post_init, post_save

from imagex_dedup import scheduling
from imagex_dedup.conf import dedup_settings
from imagex_dedup.hook import outbox

logger = logging.getLogger(__name__)

CHECK_TASK = "imagex_dedup.hook.tasks.check_object"
_SNAPSHOT = "_imagex_dedup_files"
_PENDING = object()
"""Snapshot value of a file assigned but not yet saved to storage: always a change."""

# Per concrete model (``label_lower``): its watched fields, and the receivers connected for it.
_watched: dict[str, tuple[str, ...]] = {}
_connected: dict[str, list[tuple[ModelSignal, type[models.Model], str]]] = {}


def _label(model: type[models.Model]) -> str:
    return (model._meta.concrete_model or model)._meta.label_lower


def _senders(model: type[models.Model]) -> list[type[models.Model]]:
    """The concrete model plus its proxies (Django sends signals with the proxy as sender)."""
    senders = [model]
    if apps.models_ready:
        senders += [
            other
            for other in apps.get_models()
            if other._meta.proxy and other._meta.concrete_model is model
        ]
    return senders


def connect(model: type[models.Model], fields: tuple[str, ...]) -> None:
    """Watch ``fields`` of ``model``: connect its receivers (idempotent thanks to
    ``dispatch_uid``). The registry calls this; the receivers never look the registry up."""
    key = _label(model)
    _watched[key] = fields
    connections = _connected.setdefault(key, [])
    for sender in _senders(model):
        label = sender._meta.label_lower
        for signal, receiver in (
            (post_init, on_post_init),
            (post_save, on_post_save),
            (post_delete, on_post_delete),
        ):
            uid = f"imagex_dedup_{receiver.__name__}_{label}"
            signal.connect(receiver, sender=sender, dispatch_uid=uid, weak=False)
            if (signal, sender, uid) not in connections:
                connections.append((signal, sender, uid))


def disconnect(model: type[models.Model]) -> None:
    """Disconnect exactly what :func:`connect` connected for ``model``."""
    _watched.pop(_label(model), None)
    for signal, sender, uid in _connected.pop(_label(model), []):
        signal.disconnect(sender=sender, dispatch_uid=uid)


def _snapshot_value(value: Any) -> object:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, FieldFile) and value._committed:
        return value.name or ""
    return _PENDING


def _fields(instance: models.Model) -> tuple[str, ...]:
    return _watched.get(_label(type(instance)), ())


def on_post_init(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Remember the file name of each watched, loaded field (deferred fields are skipped)."""
    try:
        values = instance.__dict__
        instance.__dict__[_SNAPSHOT] = {
            name: _snapshot_value(values[name]) for name in _fields(instance) if name in values
        }
    except Exception:
        logger.exception("imagex_dedup: could not snapshot %r", instance)


def changed_fields(
    instance: models.Model, created: bool, update_fields: frozenset[str] | None
) -> list[str]:
    """Watched fields whose file changed in this save (a new object: those holding a file)."""
    snapshot: dict[str, object] = instance.__dict__.get(_SNAPSHOT, {})
    changed = []
    for name in _fields(instance):
        if name not in instance.__dict__:  # deferred and never loaded: untouched
            continue
        if update_fields is not None and name not in update_fields:
            continue
        before = snapshot.get(name, _PENDING)
        after = getattr(instance, name).name or ""
        if created and not after:
            continue
        if created or before is _PENDING or before != after:
            changed.append(name)
    return changed


def on_post_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool,
    using: str,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    """Schedule a check (after commit) for each watched field whose file changed."""
    if raw or not dedup_settings.enabled:
        return
    try:
        opts = instance._meta.concrete_model._meta
        content_type = ContentType.objects.db_manager(using).get_for_model(instance)
        for name in changed_fields(instance, created, update_fields):
            # In the host's transaction: the catch-up re-sends a check whose message is lost.
            outbox.note_saved(content_type.pk, str(instance.pk), name, using)
            scheduling.enqueue(
                CHECK_TASK, opts.app_label, opts.model_name, str(instance.pk), name, using=using
            )
        on_post_init(sender, instance)
    except Exception:
        logger.exception("imagex_dedup: could not schedule a check for %r", instance)


def on_post_delete(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    """Forget the deleted object's fingerprints and drop it from open groups, after commit."""
    if not dedup_settings.enabled:
        return
    try:
        content_type = ContentType.objects.db_manager(using).get_for_model(instance)
        for name in _fields(instance):
            transaction.on_commit(
                partial(_forget_logged, content_type.pk, str(instance.pk), name), using=using
            )
    except Exception:
        logger.exception("imagex_dedup: could not schedule cleanup for %r", instance)


def _forget_logged(content_type_id: int, object_id: str, field_name: str) -> None:
    from imagex_dedup.groups import forget

    try:
        forget(content_type_id, object_id, field_name)
    except Exception:
        logger.exception(
            "imagex_dedup: could not forget %s:%s:%s", content_type_id, object_id, field_name
        )
