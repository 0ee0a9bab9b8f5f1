"""Refs: the name of one image field of one host row, ``"<content_type_id>:<object_id>:<field>"``.

``HostObjectRef.ref`` builds one; :func:`parse_ref` reads one back (object ids may contain colons).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from imagex_dedup.models import ImageFingerprint


def make_ref(content_type_id: int, object_id: str, field_name: str) -> str:
    return f"{content_type_id}:{object_id}:{field_name}"


def parse_ref(ref: str) -> tuple[int, str, str]:
    """``(content_type_id, object_id, field_name)`` of a ref."""
    content_type_id, rest = ref.split(":", 1)
    object_id, field_name = rest.rsplit(":", 1)
    return int(content_type_id), object_id, field_name


def ref_query(refs: Iterable[str]) -> models.Q:
    """A filter for the rows of any ``HostObjectRef`` model that point at ``refs``."""
    query = models.Q(pk__in=[])
    for ref in refs:
        content_type_id, object_id, field_name = parse_ref(ref)
        query |= models.Q(
            content_type_id=content_type_id, object_id=object_id, field_name=field_name
        )
    return query


def fingerprint_records(refs: Iterable[str]) -> dict[str, ImageFingerprint]:
    """Stored records of ``refs``, keyed by ref (refs without a record are left out)."""
    return {record.ref: record for record in ImageFingerprint.objects.filter(ref_query(refs))}
