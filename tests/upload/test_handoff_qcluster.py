"""The hand-off across processes: the upload check runs here, the save hook in a real
``qcluster`` child, which takes the checked fingerprint from the shared cache (a file cache on
the SQLite leg, Redis on the PostgreSQL leg) and decodes only the image nobody checked."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from imagex_dedup.models import ImageFingerprint
from imagex_dedup.upload import check_upload
from tests.processes import start_django, stop_process
from tests.service.conftest import child_env
from tests.support.hook import jpeg
from tests.testapp.models import Photo

DEADLINE = 60.0
TAKEN = "fingerprint taken from the upload check"


@pytest.fixture
def worker(library, transactional_db, monkeypatch, tmp_path: Path) -> Iterator[Path]:
    """A qcluster child logging the hand-off; this process enqueues instead of running."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    log = tmp_path / "qcluster.log"
    env = {
        **child_env(),
        "DJANGO_SETTINGS_MODULE": "tests.upload.q_settings",
        "IMAGEX_DEDUP_BASE_SETTINGS": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
    }
    process = start_django(["qcluster"], env=env, log=log)
    yield log
    stop_process(process)


def stored(photo: Photo, log: Path) -> ImageFingerprint:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        record = ImageFingerprint.objects.filter(object_id=str(photo.pk)).first()
        if record is not None and record.checked_at:
            return record
        time.sleep(0.2)
    raise AssertionError(f"the worker stored nothing for {photo}:\n{log.read_text()}")


def save(title: str, data: bytes) -> Photo:
    photo = Photo(title=title)
    photo.image.save(f"{title}.jpg", ContentFile(data), save=True)  # autocommit: enqueued now
    return photo


@pytest.mark.django_db(transaction=True)
def test_the_worker_reuses_the_checked_fingerprint(worker, near_copy):
    result = check_upload(near_copy, model=Photo)
    checked = save("checked", near_copy.read())
    unchecked = save("unchecked", jpeg("flower.jpg", scale=0.35, quality=66))
    checked_record, unchecked_record = stored(checked, worker), stored(unchecked, worker)
    log = worker.read_text()
    assert f"{checked.image.name}: {TAKEN}" in log
    assert f"{unchecked.image.name}: {TAKEN}" not in log and unchecked_record.fingerprint
    assert bytes(checked_record.fingerprint) == result.analysis.fingerprint
