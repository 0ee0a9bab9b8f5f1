"""Store host images' fingerprints directly, the way the hook task does, for test set-up."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models

from imagex_dedup.index.analysis import analyse_field_file
from imagex_dedup.index.store import save_analysis
from imagex_dedup.models import ImageFingerprint


def store_fingerprint(instance: models.Model, field_name: str) -> ImageFingerprint:
    """Fingerprint ``instance.<field_name>`` and store it; a bad image is stored with its error."""
    field_file = getattr(instance, field_name)
    content_type = ContentType.objects.get_for_model(instance)
    return save_analysis(
        content_type, str(instance.pk), field_name, field_file.name, analyse_field_file(field_file)
    )
