"""The fingerprint index: store a host image's fingerprint and find stored images near a new one.

Each stored fingerprint gets a few dozen ``ImageFingerprintKey`` rows (``engine.index_keys``). A
lookup reads only the fingerprints sharing a key with ``engine.query_keys(new)`` and scores those
candidates with ``engine.compare_many``: a check never reads every stored fingerprint.

Host images are named by refs ``"<content_type_id>:<object_id>:<field_name>"``
(``HostObjectRef.ref``); :func:`parse_ref` reads one back (object ids may contain colons).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import FileSystemStorage
from django.db import connections, models, transaction
from django.db.models import lookups
from django.utils import timezone

from . import engine
from .conf import dedup_settings
from .locking import write_transaction
from .models import ImageFingerprint, ImageFingerprintKey

Source = str | bytes | BinaryIO


@dataclass(frozen=True)
class Analysis:
    """What the index stores about one image file, or why it could not be read."""

    fingerprint: bytes | None = None
    width: int | None = None
    height: int | None = None
    format: str = ""
    byte_size: int | None = None
    content_hash: str = ""
    error: str = ""


def make_ref(content_type_id: int, object_id: str, field_name: str) -> str:
    return f"{content_type_id}:{object_id}:{field_name}"


def parse_ref(ref: str) -> tuple[int, str, str]:
    """``(content_type_id, object_id, field_name)`` of a ref."""
    content_type_id, rest = ref.split(":", 1)
    object_id, field_name = rest.rsplit(":", 1)
    return int(content_type_id), object_id, field_name


def load_limits() -> engine.LoadLimits:
    return engine.LoadLimits(
        max_bytes=dedup_settings.MAX_IMAGE_BYTES, max_pixels=dedup_settings.MAX_IMAGE_PIXELS
    )


def analyse(source: Source, limits: engine.LoadLimits) -> Analysis:
    """Load and fingerprint one image; a module-level function so process pools can run it."""
    try:
        loaded = engine.load_image(source, limits=limits)
    except engine.ImageLoadError as error:
        return Analysis(error=f"{error.code}: {error}")
    return Analysis(
        fingerprint=engine.fingerprint_image(loaded.image).to_bytes(),
        width=loaded.width,
        height=loaded.height,
        format=loaded.format,
        byte_size=loaded.byte_size,
        content_hash=loaded.content_hash,
    )


def analyse_field_file(field_file: models.fields.files.FieldFile) -> Analysis:
    """Stream the file from its storage (no local path assumed) and analyse it."""
    try:
        with field_file.storage.open(field_file.name, "rb") as stream:
            return analyse(stream, load_limits())
    except OSError as error:
        return Analysis(error=f"not_found: {error}")


def portable_source(field_file: models.fields.files.FieldFile) -> str | bytes:
    """What a worker process can load the file from: its path when the storage keeps local
    files (``FileSystemStorage``), else its bytes, read up to one byte over the size limit so
    the engine refuses an oversized file. Raises ``OSError`` when the file cannot be opened.

    ``Storage.path()`` alone proves nothing: ``InMemoryStorage`` returns paths that are not
    its files.
    """
    if isinstance(field_file.storage, FileSystemStorage):
        return field_file.storage.path(field_file.name)
    with field_file.storage.open(field_file.name, "rb") as stream:
        return stream.read(dedup_settings.MAX_IMAGE_BYTES + 1)


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

    Plain SQL, not ``bulk_create``: a batch of 500 images has ~37,000 key rows, and building
    and compiling as many model instances costs ~1.2 ms of CPU per image, the insert itself
    ~0.1 ms. PostgreSQL gets the keys as two arrays (one statement, ``unnest``), other
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
    PostgreSQL assumes a default selectivity for each of the ~3,200 probe keys, expects half
    the key table to match and scans all of it: a 10k-image ``dedup_scan`` slowed from 115 to
    26 images/s. Bulk loads call this as the tables grow (PostgreSQL's advice after bulk
    loading); migration 0003 fixes the key column's distinct fraction so that statistics stay
    right as the table grows between two ANALYZEs.
    """
    connection = connections[ImageFingerprintKey.objects.db]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (ImageFingerprint, ImageFingerprintKey):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def store_fingerprint(instance: models.Model, field_name: str) -> ImageFingerprint:
    """Fingerprint ``instance.<field_name>`` and store it; a bad image is stored with its error."""
    field_file = getattr(instance, field_name)
    content_type = ContentType.objects.get_for_model(instance)
    return save_analysis(
        content_type, str(instance.pk), field_name, field_file.name, analyse_field_file(field_file)
    )


class _InFallback(models.Lookup):
    """A filter expression that compiles as Django's ``IN`` where no vendor method says more."""

    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return lookups.In(self.lhs, self.rhs).as_sql(compiler, connection)


class InOneParameter(_InFallback):
    """``column IN values`` with the values sent as one parameter: ``= ANY(array)`` on
    PostgreSQL, ``IN (SELECT value FROM json_each(json))`` on SQLite, a plain ``IN`` elsewhere.

    A lookup lists thousands of values (3,200 probe keys, ~2,000 candidate ids at 1M); as many
    placeholders cost Django's compiler and the database's parser several times more (3,200 keys:
    ~31 vs ~4 ms client CPU, 90 vs 20 ms wall on PostgreSQL at 100k rows; 54 vs 15 ms on SQLite).
    Used as a filter expression, ``InOneParameter(F("key"), keys)``, not registered on a field.
    """

    lookup_name = "in_one_parameter"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        # The array as its text form: psycopg's list adapter costs ~3 ms of client CPU per
        # 3,200 ints, the join ~0.3 ms. The values are ints, so the text is well-formed.
        lhs, params = self.process_lhs(compiler, connection)
        array = "{" + ",".join(str(int(value)) for value in self.rhs) + "}"
        return f"{lhs} = ANY(%s::bigint[])", [*params, array]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        sql = f"{lhs} IN (SELECT value FROM json_each(%s))"  # noqa: S608 (lhs: a compiled column)
        return sql, [*params, json.dumps(self.rhs)]


class InSubqueryOnce(_InFallback):
    """``column IN (subquery)`` with the subquery run once, before the outer rows are read:
    ``= ANY(ARRAY(subquery))`` on PostgreSQL (an InitPlan; a plain ``IN (subquery)`` may be
    planned as a hash semi-join over the whole outer table), a plain ``IN (subquery)`` elsewhere
    (SQLite runs an uncorrelated ``IN`` subquery once into an ephemeral index).

    One statement instead of two: the candidate ids never travel to the client and back.
    Used as a filter expression, ``InSubqueryOnce(F("pk"), queryset)``.
    """

    lookup_name = "in_subquery_once"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


def candidates(
    fingerprint: engine.Fingerprint, *, exclude: ImageFingerprint | None = None
) -> list[tuple[int, bytes]]:
    """``(pk, fingerprint bytes)`` of the stored fingerprints sharing a key with a new one.

    One statement: the distinct fingerprint ids under the ~3,200 radius-1 probes of
    ``engine.query_keys`` (exact matches read from the ``(key, fingerprint)`` index alone; the
    keys sent as one parameter, :class:`InOneParameter`), run once as a subquery
    (:class:`InSubqueryOnce`), then those rows' bytes by primary key. With 24-bit segments
    random hits are few (~1,900 at 1M uniform fingerprints, ``engine.keys``), so all are scored.
    ``exclude`` leaves out every field of that record's host object (an object never duplicates
    itself).
    """
    candidate_ids = (
        ImageFingerprintKey.objects.filter(
            InOneParameter(models.F("key"), engine.query_keys(fingerprint))
        )
        .values("fingerprint_id")
        .distinct()
    )
    rows = ImageFingerprint.objects.filter(
        InSubqueryOnce(models.F("pk"), candidate_ids),
        fingerprint_version=engine.FINGERPRINT_VERSION,
        fingerprint__isnull=False,
        error="",
    )
    if exclude is not None:
        rows = rows.exclude(content_type_id=exclude.content_type_id, object_id=exclude.object_id)
    with cached_index_costs(connections[rows.db]):
        return [(pk, bytes(data)) for pk, data in rows.values_list("pk", "fingerprint")]


@contextmanager
def cached_index_costs(connection: Any) -> Iterator[None]:
    """On PostgreSQL, plan the statements inside with ``random_page_cost = 1.1``, then put the
    previous value back (nothing elsewhere).

    With the default of 4 (pages read from disk) PostgreSQL prices ~3,200 index probes above a
    scan of a key table of up to a few hundred thousand rows (~5,000 images) and scans it: 25 ms
    instead of 6.5 ms at 6,000 images, and a 10k-image ``dedup_scan`` slowed from 130 to 25
    images/s. The key index is the hot, cached part of the database, which is what 1.1 (the
    usual setting for SSDs) says. The setting is transaction-local (``set_config(..., true)``)
    and restored, so an enclosing transaction's other statements keep the server's value.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('random_page_cost'), "
            "set_config('random_page_cost', '1.1', true)"
        )
        previous = cursor.fetchone()[0]
        yield  # an error rolls the (sub)transaction back, the setting with it
        cursor.execute("SELECT set_config('random_page_cost', %s, true)", [previous])


def find_similar(
    fingerprint: engine.Fingerprint | bytes,
    similarity: float,
    *,
    exclude: ImageFingerprint | None = None,
) -> list[tuple[ImageFingerprint, float]]:
    """Stored fingerprints scoring at least ``similarity`` against ``fingerprint``, best first.

    Only candidates' ids and bytes are read; full records are loaded for the matches alone.
    """
    if isinstance(fingerprint, bytes):
        fingerprint = engine.Fingerprint.from_bytes(fingerprint)
    found = candidates(fingerprint, exclude=exclude)
    if not found:
        return []
    scores = engine.compare_many(fingerprint, [data for _, data in found])
    score_of = {
        pk: float(score)
        for (pk, _), score in zip(found, scores, strict=True)
        if score >= similarity
    }
    records = ImageFingerprint.objects.filter(pk__in=score_of).defer("fingerprint")
    return sorted(((r, score_of[r.pk]) for r in records), key=lambda m: (-m[1], m[0].pk))


def find_matches(
    fp_record: ImageFingerprint, similarity: float
) -> list[tuple[ImageFingerprint, float]]:
    """Other host images near a stored record (none if it has no usable fingerprint)."""
    if not fp_record.fingerprint or fp_record.error:
        return []
    return find_similar(bytes(fp_record.fingerprint), similarity, exclude=fp_record)


def forget(content_type_id: int, object_id: str, field_name: str) -> None:
    """Drop a host image from open groups and delete its fingerprint (its object is gone)."""
    from .results import remove_ref

    with write_transaction():
        remove_ref(make_ref(content_type_id, object_id, field_name))
        ImageFingerprint.objects.filter(
            content_type_id=content_type_id, object_id=object_id, field_name=field_name
        ).delete()


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
