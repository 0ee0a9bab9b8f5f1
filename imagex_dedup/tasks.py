"""django-q2 tasks. All state changes happen here, never in django-q hooks (they swallow errors).

Tasks take plain arguments and re-fetch what they need, so they are safe to retry and to run twice.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from .backends import DetectionBackend, get_backend
from .index import Analysis, analyse_field_file, forget, save_analysis
from .models import ImageFingerprint
from .results import remove_ref

logger = logging.getLogger(__name__)


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
    previous_hash = (
        ImageFingerprint.objects.filter(
            content_type=content_type, object_id=object_id, field_name=field_name
        )
        .values_list("content_hash", flat=True)
        .first()
    )
    record = save_analysis(content_type, object_id, field_name, file_name, analysis)
    if record.error:
        logger.warning("imagex_dedup: %s: %s", record, record.error)
        return record
    if previous_hash and previous_hash != record.content_hash:
        remove_ref(record.ref)
    backend.check(record)
    return record


def check_object(app_label: str, model_name: str, pk: str, field_name: str) -> None:
    """Fingerprint one host image, store it in the index, and look for its duplicates.

    A deleted object or an emptied field forgets the image instead.
    """
    model = apps.get_model(app_label, model_name)
    content_type = ContentType.objects.get_for_model(model)
    instance = model._default_manager.filter(pk=pk).first()
    field_file = getattr(instance, field_name) if instance is not None else None
    if not field_file:
        forget(content_type.pk, pk, field_name)
        return
    record_and_check(
        content_type,
        str(instance.pk),
        field_name,
        field_file.name,
        analyse_field_file(field_file),
        get_backend(),
    )
