"""django-q2 tasks. All state changes happen here, never in django-q hooks (they swallow errors).

Tasks take plain arguments and re-fetch what they need, so they are safe to retry and to run twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError
from django.utils import timezone

from imagex_dedup.backends import DetectionBackend, get_backend
from imagex_dedup.db import write_transaction
from imagex_dedup.groups import forget, remove_ref
from imagex_dedup.hook import outbox
from imagex_dedup.index.analysis import Analysis
from imagex_dedup.index.handoff import analyse_stored
from imagex_dedup.index.store import save_analyses
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, ImageFingerprint

logger = logging.getLogger(__name__)


def _leave_old_groups(record: ImageFingerprint, previous_hash: str) -> None:
    """An image whose content changed leaves the open groups of its old image (an unreadable
    file changes no groups)."""
    if not record.error and previous_hash and previous_hash != record.content_hash:
        remove_ref(record.ref)


def mark_checked(records: Sequence[ImageFingerprint]) -> None:
    """Record that the duplicates of ``records`` were looked up (a record stored with an
    error counts: there is nothing to look up)."""
    ImageFingerprint.objects.filter(pk__in=[record.pk for record in records]).update(
        checked_at=timezone.now()
    )


def check_stored(record: ImageFingerprint, backend: DetectionBackend) -> None:
    """Look for the duplicates of a stored record; one stored with an error is only logged."""
    if record.error:
        logger.warning("imagex_dedup: %s: %s", record, record.error)
        return
    backend.check(record)


def record_and_check(
    content_type: ContentType,
    object_id: str,
    field_name: str,
    file_name: str,
    analysis: Analysis,
    backend: DetectionBackend,
) -> ImageFingerprint:
    """Store an analysed image in the index and look for its duplicates.

    A file that could not be read as an image is stored with its error and changes no groups.
    When the image content changed, the object first leaves the open groups of its old image.
    """
    (record,) = record_batch(content_type, field_name, [(object_id, file_name, analysis)])
    check_stored(record, backend)
    mark_checked([record])
    return record


def record_batch(
    content_type: ContentType,
    field_name: str,
    items: Sequence[tuple[str, str, Analysis]],
) -> list[ImageFingerprint]:
    """Store a batch of analysed images of one field (``(object_id, file_name, analysis)``,
    :func:`index.save_analyses`) and, in the same transaction, take those whose content changed
    out of the open groups of their old image. Returns the records in the order of ``items``;
    the caller then runs :func:`check_stored` on each and :func:`mark_checked`, as
    :func:`record_and_check` does for one image.

    A concurrent writer that creates one of the records first (PostgreSQL; SQLite writers take
    turns) makes the insert fail: the batch is stored again, now updating that record.
    """
    retries = 2
    while True:
        try:
            with write_transaction():
                stored = save_analyses(content_type, field_name, items)
                for record, previous_hash in stored:
                    _leave_old_groups(record, previous_hash)
            return [record for record, _ in stored]
        except IntegrityError:
            retries -= 1
            if retries < 0:
                raise


def check_object(app_label: str, model_name: str, pk: str, field_name: str) -> None:
    """Fingerprint one host image, store it in the index, and look for its duplicates.

    A deleted object or an emptied field forgets the image instead. An image the upload check
    fingerprinted is not decoded again (:func:`imagex_dedup.index.handoff.analyse_stored`).
    Either way the image's pending-check row (``hook.outbox``) goes, unless a later save wrote
    it again.
    """
    started = time.monotonic()
    saved_before = timezone.now()  # a save after this keeps its pending-check row
    model = apps.get_model(app_label, model_name)
    content_type = ContentType.objects.get_for_model(model)
    instance = model._default_manager.filter(pk=pk).first()
    field_file = getattr(instance, field_name) if instance is not None else None
    ref = [(content_type.pk, str(pk), field_name)]
    if not field_file:
        forget(content_type.pk, pk, field_name)
        outbox.clear(ref, saved_before)
        _log_check(model, pk, field_name, "forgotten (object gone or field empty)", started)
        return
    record = record_and_check(
        content_type,
        str(instance.pk),
        field_name,
        field_file.name,
        analyse_stored(field_file),
        get_backend(),
    )
    outbox.clear(ref, saved_before)
    if logger.isEnabledFor(logging.INFO):
        _log_check(model, pk, field_name, _outcome(record), started)


def _outcome(record: ImageFingerprint) -> str:
    """What a check left, for the log: the open groups the image is in, or its error."""
    if record.error:
        return f"unreadable: {record.error}"
    groups = DuplicateGroupMember.objects.filter(
        content_type_id=record.content_type_id,
        object_id=record.object_id,
        field_name=record.field_name,
        group__status=DuplicateGroup.Status.OPEN,
    ).values_list("group_id", flat=True)
    return ", ".join(f"in open group {pk}" for pk in groups) or "no open group"


def _log_check(model: type, pk: str, field_name: str, outcome: str, started: float) -> None:
    logger.info(
        "imagex_dedup: checked %s pk=%s %s: %s (%.0f ms)",
        model._meta.label,  # type: ignore[attr-defined]
        pk,
        field_name,
        outcome,
        (time.monotonic() - started) * 1000,
    )
