"""django-q2 tasks. All state changes happen here, never in django-q hooks (they swallow errors).

Tasks take plain arguments and re-fetch what they need, so they are safe to retry and to run twice.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from .backends import get_backend
from .index import forget, store_fingerprint
from .models import ImageFingerprint
from .results import remove_ref

logger = logging.getLogger(__name__)


def check_object(app_label: str, model_name: str, pk: str, field_name: str) -> None:
    """Fingerprint one host image, store it in the index, and look for its duplicates.

    A deleted object or an emptied field forgets the image. A file that cannot be read as an
    image is stored with its error and changes no groups. When the image content changed, the
    object first leaves the open groups its old image was in.
    """
    model = apps.get_model(app_label, model_name)
    content_type = ContentType.objects.get_for_model(model)
    instance = model._default_manager.filter(pk=pk).first()
    field_file = getattr(instance, field_name) if instance is not None else None
    if not field_file:
        forget(content_type.pk, pk, field_name)
        return
    previous_hash = (
        ImageFingerprint.objects.filter(
            content_type=content_type, object_id=pk, field_name=field_name
        )
        .values_list("content_hash", flat=True)
        .first()
    )
    record = store_fingerprint(instance, field_name)
    if record.error:
        logger.warning("imagex_dedup: %s.%s %s: %s", model_name, field_name, pk, record.error)
        return
    if previous_hash and previous_hash != record.content_hash:
        remove_ref(record.ref)
    get_backend().check(record)
