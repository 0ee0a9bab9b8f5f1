"""Review at scale on PostgreSQL: render times of the review page and of a review queue step, and
a bulk merge by policy.

* review page / queue step: a group of 2 and one of 50 members, each member used by 100 rows
  (60 albums with it as cover, 40 album links), rendered through the admin by Django's test client
  (middleware, permissions, template included; thumbnails are separate requests and not counted).
  A queue step is one decision: the POST (a skip) and the queue page it redirects to, showing the
  next group (of the same size); an "undo last" between rounds brings the skipped one back.
* bulk: 10,000 open groups of two photos, each duplicate used by 3 rows; the queue page among
  them, the policy's dry run over all (``review.policy.preview``) and the merge of 1,000 of them
  (``review.policy.apply``, one transaction per group).

The database is a fresh one named ``--database`` (default ``bench_imagex_dedup_review``) on the
PostgreSQL of ``tests/settings_pg.py``, created with the test settings' apps and dropped at the end.

Run: ``.venv/bin/python bench/bench_review.py [--repeat 30] [--groups 10000] [--merge 1000]``
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(database: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings_pg"
    os.environ["IMAGEX_DEDUP_PG_TEST_DB"] = database
    os.environ.setdefault("IMAGEX_DEDUP_REDIS_URL", "redis://127.0.0.1:6379/3")
    import django

    django.setup()
    from django.conf import settings

    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "ENABLED": False}
    settings.DEBUG = False


def image_file(name: str, width: int) -> str:
    """Store a JPEG of the bundled flower at ``width`` once; photos share the stored name."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    with Image.open(ROOT / "tests" / "data" / "photos" / "flower.jpg") as im:
        im = im.convert("RGB").resize((width, width * 3 // 4))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
    return default_storage.save(f"bench/{name}.jpg", ContentFile(buf.getvalue()))


def make_photos(prefix: str, count: int, file_name: str, record, period: int = 0):
    """``count`` photos sharing one file, each with a fingerprint record copied from ``record``
    (widths differ, so the keeper rule has one answer; ``period``: they repeat every so many)."""
    from django.contrib.contenttypes.models import ContentType

    from imagex_dedup.models import ImageFingerprint
    from tests.testapp.models import Photo

    photos = Photo.objects.bulk_create(
        Photo(title=f"{prefix} {i}", image=file_name) for i in range(count)
    )
    ct = ContentType.objects.get_for_model(Photo)
    ImageFingerprint.objects.bulk_create(
        ImageFingerprint(
            content_type=ct,
            object_id=str(photo.pk),
            field_name="image",
            fingerprint=record.fingerprint,
            fingerprint_version=record.fingerprint_version,
            content_hash=record.content_hash,
            file_name=file_name,
            width=record.width - (i % period if period else i),
            height=record.height,
            format=record.format,
            byte_size=record.byte_size,
        )
        for i, photo in enumerate(photos)
    )
    return photos


def make_groups(groups_of_photos, score: float) -> list:
    """One open group per list of photos (the first is the reference), in a few statements."""
    from django.contrib.contenttypes.models import ContentType

    from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, ImageFingerprint

    ct = ContentType.objects.get_for_model(groups_of_photos[0][0])
    ids = [str(p.pk) for photos in groups_of_photos for p in photos]
    records = {
        fp.object_id: fp
        for fp in ImageFingerprint.objects.filter(content_type=ct, object_id__in=ids)
    }
    groups = DuplicateGroup.objects.bulk_create(
        DuplicateGroup(similarity=0.84) for _ in groups_of_photos
    )
    DuplicateGroupMember.objects.bulk_create(
        DuplicateGroupMember(
            group=group,
            content_type=ct,
            object_id=str(p.pk),
            field_name="image",
            fingerprint=records[str(p.pk)],
            score=1.0 if i == 0 else score,
            is_primary=i == 0,
        )
        for group, photos in zip(groups, groups_of_photos, strict=True)
        for i, p in enumerate(photos)
    )
    return groups


def make_group(photos, score: float):
    return make_groups([photos], score)[0]


def add_references(photos, covers: int, links: int) -> None:
    from tests.testapp.models import Album

    albums = Album.objects.bulk_create(
        Album(name=f"album {p.pk}.{i}", cover=p if i < covers else None)
        for p in photos
        for i in range(max(covers, links))
    )
    through = Album.photos.through
    per = max(covers, links)
    through.objects.bulk_create(
        through(album_id=albums[n * per + i].pk, photo_id=p.pk)
        for n, p in enumerate(photos)
        for i in range(links)
    )


def timed(fn, repeat: int, reset=lambda: None) -> tuple[float, float, float]:
    """Wall p50 and p95 and this process's CPU p50 (ms) of ``fn`` (CPU time leaves out waiting
    for PostgreSQL and for other processes on a busy machine); ``reset`` runs untimed."""
    fn()  # warm: caches, templates, the picture facts of each file
    reset()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        reset()
    wall.sort()
    return (
        statistics.median(wall),
        wall[max(0, round(0.95 * len(wall)) - 1)],
        statistics.median(cpu),
    )


def bench_pages(repeat: int) -> list[tuple[str, float, float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from tests.support.records import store_fingerprint
    from tests.testapp.models import Photo

    big, small = image_file("big", 480), image_file("small", 320)
    seed = Photo.objects.create(title="seed", image=big)
    record = store_fingerprint(seed, "image")
    user = get_user_model().objects.create_superuser("bench", password="pw")
    client = Client()
    client.force_login(user)
    rows = []
    for size, score in [(2, 0.99), (50, 0.98)]:
        photos = make_photos(f"g{size}", size, big if size == 2 else small, record)
        add_references(photos, covers=60, links=40)
        group = make_group(photos, score)
        twin = make_group(photos, score - 0.001)  # what a skip of ``group`` brings up next
        page = reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])
        queue = reverse("admin:imagex_dedup_duplicategroup_queue")

        def review(page=page):
            assert client.get(page).status_code == 200

        def step(group=group, twin=twin, queue=queue):
            response = client.post(queue, {"decision": "skip", "group": group.pk})
            assert client.get(response["Location"]).context["group"] == twin

        def unskip(queue=queue):
            client.post(queue, {"decision": "undo"})

        rows.append((f"review page, {size} members x 100 references", *timed(review, repeat)))
        rows.append((f"queue step, {size} members x 100 references", *timed(step, repeat, unskip)))
        group.delete()
        twin.delete()
    return rows


def bench_bulk(count: int, merged: int, repeat: int) -> list[tuple[str, float, str]]:
    """``count`` open groups of two: a queue step among them all, the dry run of the policy
    over all, then ``merged`` of them merged."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from imagex_dedup.models import ImageFingerprint
    from imagex_dedup.review.policy import Policy, apply, preview

    record = ImageFingerprint.objects.exclude(fingerprint=None).first()
    photos = make_photos("bulk", 2 * count, record.file_name, record, period=2)
    add_references(photos[1::2], covers=2, links=1)
    make_groups([photos[n : n + 2] for n in range(0, 2 * count, 2)], 0.97)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    queue = reverse("admin:imagex_dedup_duplicategroup_queue")

    def step():
        assert client.get(queue).context["remaining"] == count

    p50, p95, _cpu = timed(step, repeat)
    policy = Policy(0.95)
    start = time.perf_counter()
    dry = preview(policy.groups())
    preview_s = time.perf_counter() - start
    start = time.perf_counter()
    outcome = apply(policy.groups()[:merged])
    apply_s = time.perf_counter() - start
    assert dry.mergeable == count and len(outcome.merged) == merged, outcome.refused[:3]
    return [
        (f"queue page among {count} open groups, p50 / p95", p50 / 1000, f"{p95:.0f} ms p95"),
        (f"dry run over {count} groups (moves {dry.references_moved}, deletes "
         f"{dry.rows_deleted})", preview_s, f"{preview_s * 1000 / count:.1f} ms/group"),
        (f"merge of {merged} groups", apply_s, f"{apply_s * 1000 / merged:.1f} ms/group"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="bench_imagex_dedup_review")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--groups", type=int, default=10_000, help="open groups for the bulk part")
    parser.add_argument("--merge", type=int, default=1000, help="how many of them to merge")
    args = parser.parse_args()
    setup(args.database)
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        pages = bench_pages(args.repeat)
        bulk = bench_bulk(args.groups, args.merge, args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"PostgreSQL, {args.repeat} runs each, load average {os.getloadavg()[0]:.1f}\n")
    print("| what | p50 (ms) | p95 (ms) | CPU p50 (ms) |\n|---|---|---|---|")
    for name, p50, p95, cpu in pages:
        print(f"| {name} | {p50:.0f} | {p95:.0f} | {cpu:.0f} |")
    print("\n| bulk | seconds | |\n|---|---|---|")
    for name, seconds, note in bulk:
        print(f"| {name} | {seconds:.2f} | {note} |")


if __name__ == "__main__":
    main()
