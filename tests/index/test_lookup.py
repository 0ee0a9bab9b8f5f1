"""``index.InOneParameter``, the list-as-one-parameter lookup ``candidates()`` relies on, and
the candidate statement and its plan."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models.sql import Query
from django.test.utils import CaptureQueriesContext

from imagex_dedup import engine
from imagex_dedup.index.lookup import InOneParameter, candidate_rows, candidates
from imagex_dedup.index.store import refresh_planner_statistics
from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey
from tests.support.synthetic import synthetic_fingerprints
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def store_synthetic(count: int, seed: int = 5) -> list[tuple[ImageFingerprint, engine.Fingerprint]]:
    fingerprints, _ = synthetic_fingerprints(count, seed=seed)
    content_type = ContentType.objects.get_for_model(Photo)
    stored = []
    for i, fp in enumerate(fingerprints):
        record = ImageFingerprint.objects.create(
            content_type=content_type,
            object_id=str(i),
            field_name="image",
            fingerprint=fp.to_bytes(),
            fingerprint_version=engine.FINGERPRINT_VERSION,
        )
        ImageFingerprintKey.objects.bulk_create(
            ImageFingerprintKey(fingerprint=record, key=key) for key in engine.index_keys(fp)
        )
        stored.append((record, fp))
    return stored


def test_in_one_parameter_selects_what_in_selects() -> None:
    fingerprints = [fp for _, fp in store_synthetic(30, seed=3)]
    keys = engine.query_keys(fingerprints[0]) + engine.index_keys(fingerprints[7])
    rows = ImageFingerprintKey.objects.values_list("pk", flat=True).order_by("pk")
    expected = list(rows.filter(key__in=keys))
    assert len(expected) > 1
    assert list(rows.filter(InOneParameter(models.F("key"), keys))) == expected
    assert not rows.filter(InOneParameter(models.F("key"), []))


def test_in_one_parameter_falls_back_to_in_elsewhere() -> None:
    query = Query(ImageFingerprintKey)
    lookup = InOneParameter(models.F("key"), [5, 6]).resolve_expression(query)
    sql, params = lookup.as_sql(query.get_compiler(connection=connection), connection)
    assert " IN (" in sql and list(params) == [5, 6]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL planner settings (tests.settings_pg)"
)


def test_candidates_run_one_statement() -> None:
    record, fingerprint = store_synthetic(12)[3]
    with CaptureQueriesContext(connection) as queries:
        found = candidates(fingerprint)
    assert len(queries) == 1, "no planner settings, transaction or second round trip"
    assert record.pk in {pk for pk, _ in found}


@postgresql_only
def test_candidate_plan_reads_the_key_index_at_the_default_page_cost() -> None:
    # 30 images (3,600 key rows): with the keys as a constant array the planner prices the
    # probes above a scan of the key table at random_page_cost = 4 and scans it.
    stored = store_synthetic(30)
    refresh_planner_statistics()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL random_page_cost = 4")  # the test runs in a transaction
    plan = candidate_rows(stored[3][1]).explain()
    assert "imagex_dedup_key_idx" in plan
    assert f"Seq Scan on {ImageFingerprintKey._meta.db_table}" not in plan


@postgresql_only
def test_refresh_planner_statistics_analyzes_the_index_tables() -> None:
    store_synthetic(5)
    refresh_planner_statistics()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_distinct FROM pg_stats WHERE tablename = %s AND attname = 'key'",
            [ImageFingerprintKey._meta.db_table],
        )
        assert cursor.fetchall() == [(-0.8,)], "migration 0003's fraction, not a sampled count"
