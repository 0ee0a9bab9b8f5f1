"""Store: write analyses as ``ImageFingerprint`` rows with their index keys.

Each stored fingerprint gets about a hundred ``ImageFingerprintKey`` rows (``engine.index_keys``),
which :mod:`imagex_dedup.index.lookup` probes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.utils import timezone

from imagex_dedup import engine
from imagex_dedup.db import write_transaction
from imagex_dedup.index.analysis import Analysis
from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey


def _record_fields(file_name: str, analysis: Analysis, computed_at: datetime) -> dict[str, Any]:
    """The ``ImageFingerprint`` columns an analysis sets (all but the host ref); a record
    stored anew is not checked yet (``checked_at``: ``tasks.mark_checked``)."""
    return {
        "fingerprint": analysis.fingerprint,
        "fingerprint_version": engine.FINGERPRINT_VERSION if analysis.fingerprint else 0,
        "content_hash": analysis.content_hash,
        "file_name": file_name,
        "width": analysis.width,
        "height": analysis.height,
        "format": analysis.format,
        "byte_size": analysis.byte_size,
        "computed_at": computed_at,
        "checked_at": None,
        "error": analysis.error,
    }


def _insert_keys(records: Iterable[ImageFingerprint]) -> None:
    """Insert the index keys of stored records (none for a record without a fingerprint).

    Plain SQL, not ``bulk_create``: a batch has dozens of key rows per image, and building and
    compiling as many model instances costs an order of magnitude more CPU than the insert
    itself. PostgreSQL gets the keys as two arrays (one statement, ``unnest``), other
    databases an ``executemany``.
    """
    keyed = [record for record in records if record.fingerprint]
    all_keys = engine.index_keys_many([bytes(record.fingerprint) for record in keyed])
    rows = [(record.pk, key) for record, keys in zip(keyed, all_keys, strict=True) for key in keys]
    if not rows:
        return
    connection = connections[ImageFingerprintKey.objects.db]
    quote = connection.ops.quote_name
    table = quote(ImageFingerprintKey._meta.db_table)
    columns = ", ".join(
        quote(ImageFingerprintKey._meta.get_field(f).column) for f in ("fingerprint", "key")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Arrays as text, as in InOneParameter: the values are ints, so it is well-formed.
            ids = "{" + ",".join(str(pk) for pk, _ in rows) + "}"
            keys = "{" + ",".join(str(key) for _, key in rows) + "}"
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 (quoted names)
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                [ids, keys],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s)",  # noqa: S608 (quoted names)
                rows,
            )


def save_analysis(
    content_type: ContentType, object_id: str, field_name: str, file_name: str, analysis: Analysis
) -> ImageFingerprint:
    """Create or update one fingerprint record and replace its index keys, atomically
    (:func:`save_analyses` of one item)."""
    return save_analyses(content_type, field_name, [(object_id, file_name, analysis)])[0][0]


def save_analyses(
    content_type: ContentType,
    field_name: str,
    items: Sequence[tuple[str, str, Analysis]],
) -> list[tuple[ImageFingerprint, str]]:
    """Create or update the fingerprint records of a batch of ``(object_id, file_name,
    analysis)`` of one field and replace their index keys, in one transaction and a few
    statements: the existing records read (and locked) in one query, the new ones inserted and
    the others updated in bulk, their old keys deleted and all new keys inserted together.

    Returns ``(record, previous content hash)`` in the order of ``items`` (``""`` for a record
    that did not exist). Object ids must be distinct.
    """
    object_ids = [object_id for object_id, _, _ in items]
    if len(set(object_ids)) != len(object_ids):
        raise ValueError("save_analyses: an object id appears twice in one batch")
    computed_at = timezone.now()
    with write_transaction():
        existing = {
            record.object_id: record
            for record in ImageFingerprint.objects.select_for_update()
            .filter(content_type=content_type, field_name=field_name, object_id__in=object_ids)
            .order_by("pk")
        }
        stored: list[tuple[ImageFingerprint, str]] = []
        for object_id, file_name, analysis in items:
            record = existing.get(object_id)
            previous_hash = record.content_hash if record else ""
            if record is None:
                record = ImageFingerprint(
                    content_type=content_type, object_id=object_id, field_name=field_name
                )
            for name, value in _record_fields(file_name, analysis, computed_at).items():
                setattr(record, name, value)
            stored.append((record, previous_hash))
        if existing:
            fields = list(_record_fields("", Analysis(), computed_at))
            ImageFingerprint.objects.bulk_update(existing.values(), fields)
            ImageFingerprintKey.objects.filter(
                fingerprint_id__in=[record.pk for record in existing.values()]
            ).delete()
        ImageFingerprint.objects.bulk_create(record for record, _ in stored if record.pk is None)
        _insert_keys(record for record, _ in stored)
    return stored


def refresh_planner_statistics() -> None:
    """``ANALYZE`` the fingerprint and key tables on PostgreSQL (nothing elsewhere).

    Without statistics (a table filled since its last ANALYZE, autovacuum off or not yet run)
    PostgreSQL assumes a default selectivity for each probe key, expects half the key table to match
    and scans all of it, which slows a bulk scan several times. Bulk loads call this as the tables
    grow (PostgreSQL's advice after bulk loading); migration 0003 fixes the key column's distinct
    fraction so that statistics stay right as the table grows between two ANALYZEs.
    """
    connection = connections[ImageFingerprintKey.objects.db]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (ImageFingerprint, ImageFingerprintKey):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
