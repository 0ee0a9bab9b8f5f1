"""End to end with a real ``qcluster`` child process and real concurrency.

On the default settings the broker is the ORM (SQLite); with
``DJANGO_SETTINGS_MODULE=tests.settings_pg`` it is Redis, with PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections
from django_q.conf import Conf

from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import DuplicateGroup, ImageFingerprint
from tests.support.hook import jpeg, upload
from tests.testapp.models import Photo

REPO_ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


@pytest.fixture
def qcluster(transactional_db, monkeypatch) -> Iterator[subprocess.Popen]:
    """A real ``django-admin qcluster`` on the test database, stopped cleanly afterwards."""
    monkeypatch.setattr(Conf, "SYNC", False)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "IMAGEX_DEDUP_DB_NAME": str(connection.settings_dict["NAME"]),
        "IMAGEX_DEDUP_Q_SYNC": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    django_admin = Path(sys.executable).with_name("django-admin")
    process = subprocess.Popen(
        [str(django_admin), "qcluster"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"qcluster did not stop on SIGTERM:\n{output[-3000:]}")
        assert process.returncode == 0, output[-3000:]


def wait_for_group(expected: set[str], process: subprocess.Popen) -> DuplicateGroup:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert process.poll() is None, "qcluster exited early"
        for group in DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN):
            if set(group.members.values_list("object_id", flat=True)) == expected:
                return group
        time.sleep(0.3)
    raise AssertionError(f"no group with {expected} after {DEADLINE} s")


@pytest.mark.slow
def test_saved_near_duplicates_are_grouped_by_a_real_cluster(qcluster) -> None:
    first = Photo.objects.create(title="original", image=upload("e2e.jpg", jpeg("flower.jpg")))
    second = Photo.objects.create(
        title="copy", image=upload("e2e-copy.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    )
    Photo.objects.create(title="other", image=upload("e2e-card.jpg", jpeg("test-card.png")))
    group = wait_for_group({str(first.pk), str(second.pk)}, qcluster)
    # Two workers may index the pair in either order: the primary is whichever came first.
    primary = group.members.get(is_primary=True)
    duplicate = group.members.get(is_primary=False)
    assert primary.score == 1.0 and 0.9 < duplicate.score <= 1.0
    deadline = time.monotonic() + DEADLINE
    while ImageFingerprint.objects.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert ImageFingerprint.objects.filter(error="").count() == 3
    assert DuplicateGroup.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_checking_near_twins_at_once_make_one_group() -> None:
    photos = []
    for name, data in [
        ("twin-a.jpg", jpeg("flower.jpg")),
        ("twin-b.jpg", jpeg("flower.jpg", quality=70)),
        ("twin-c.jpg", jpeg("flower.jpg", scale=0.8)),
    ]:
        photo = Photo()
        photo.image.save(name, ContentFile(data), save=False)
        Photo.objects.bulk_create([photo])  # bulk_create: no hook, the threads do the checks
        photos.append(Photo.objects.get(image=photo.image.name))
    barrier = threading.Barrier(len(photos))
    errors: list[BaseException] = []

    def worker(photo: Photo) -> None:
        try:
            barrier.wait()
            check_object("testapp", "photo", str(photo.pk), "image")
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(photo,)) for photo in photos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert errors == []
    group = DuplicateGroup.objects.get()
    assert sorted(group.members.values_list("object_id", flat=True)) == sorted(
        str(photo.pk) for photo in photos
    )
    assert group.members.filter(is_primary=True).count() == 1
