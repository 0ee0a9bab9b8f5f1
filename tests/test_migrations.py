"""Data migrations: what an existing installation's rows become."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from imagex_dedup.models import ImageFingerprint

BEFORE = [("imagex_dedup", "0001_initial")]
AFTER = [("imagex_dedup", "0002_fingerprint_checked_at")]


@pytest.mark.django_db(transaction=True)
def test_fingerprints_stored_before_checked_at_count_as_checked() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    content_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="testapp", model="photo"
    )[0]
    stored_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    pk = (
        old.get_model("imagex_dedup", "ImageFingerprint")
        .objects.create(
            content_type_id=content_type.pk,
            object_id="7",
            field_name="image",
            computed_at=stored_at,
        )
        .pk
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    assert ImageFingerprint.objects.get(pk=pk).checked_at == stored_at
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the other tests' schema again
