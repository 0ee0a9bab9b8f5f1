"""``index.InOneParameter``: the list-as-one-parameter lookup ``candidates()`` relies on."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models.sql import Query

from imagex_dedup import engine
from imagex_dedup.engine.synthetic import synthetic_fingerprints
from imagex_dedup.index import InOneParameter
from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def test_in_one_parameter_selects_what_in_selects() -> None:
    fingerprints, _ = synthetic_fingerprints(30, seed=3)
    content_type = ContentType.objects.get_for_model(Photo)
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
