"""Look-up: find stored images near a new fingerprint without reading every stored one.

A look-up reads only the fingerprints sharing a key with ``engine.query_keys(new)`` and scores
those candidates with ``engine.compare_many``.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import lookups

from imagex_dedup import engine
from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey


class _InFallback(models.Lookup):
    """A filter expression that compiles as Django's ``IN`` where no vendor method says more."""

    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return lookups.In(self.lhs, self.rhs).as_sql(compiler, connection)


class InOneParameter(_InFallback):
    """``column IN values`` with the values sent as one parameter: on PostgreSQL an array read
    once by an InitPlan, ``= ANY(ARRAY(SELECT unnest(array)))``; on SQLite
    ``IN (SELECT value FROM json_each(json))``; a plain ``IN`` elsewhere.

    A look-up lists thousands of values (every probe key); as many placeholders cost Django's
    compiler and the database's parser several times more than one parameter (measured in the docs'
    index look-up benchmark). On PostgreSQL the array is hidden from the planner on purpose: given
    the constant, it estimates every value against the column's statistics (~1 ms of planning for
    3,600 keys) and prices the probes as thousands of random page reads, above a scan of the key
    table unless ``random_page_cost`` is near 1 and the statistics are good. Given an InitPlan's
    result it plans a handful of probes and keeps the ``(key, fingerprint)`` index at the
    server's own costs; the execution is the same index scan. Used as a filter expression,
    ``InOneParameter(F("key"), keys)``, not registered on a field.
    """

    lookup_name = "in_one_parameter"

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        # The array as its text form: psycopg's list adapter costs about ten times the CPU of
        # this join. The values are ints, so the text is well-formed.
        lhs, params = self.process_lhs(compiler, connection)
        array = "{" + ",".join(str(int(value)) for value in self.rhs) + "}"
        return f"{lhs} = ANY(ARRAY(SELECT unnest(%s::bigint[])))", [*params, array]

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


def candidate_rows(
    fingerprint: engine.Fingerprint, *, exclude: ImageFingerprint | None = None
) -> models.QuerySet:
    """``(pk, fingerprint bytes)`` rows of the stored fingerprints sharing a key with a new one,
    as one statement (not yet run): see :func:`candidates`."""
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
    return rows.values_list("pk", "fingerprint")


def candidates(
    fingerprint: engine.Fingerprint, *, exclude: ImageFingerprint | None = None
) -> list[tuple[int, bytes]]:
    """``(pk, fingerprint bytes)`` of the stored fingerprints sharing a key with a new one.

    One statement, at the server's planner settings: the distinct fingerprint ids under the
    ~3,600 probes of ``engine.query_keys`` (exact matches read from the ``(key, fingerprint)``
    index alone; the keys sent as one parameter, :class:`InOneParameter`), run once as a subquery
    (:class:`InSubqueryOnce`), then those rows' bytes by primary key. With 24-bit segments
    random hits are few (~2,700 at 1M uniform fingerprints, ``engine.keys``), so all are scored.
    ``exclude`` leaves out every field of that record's host object (an object never duplicates
    itself).
    """
    return [(pk, bytes(data)) for pk, data in candidate_rows(fingerprint, exclude=exclude)]


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
