"""``dedup_scan`` stores a batch at once (``index.save_analyses``, ``tasks.record_batch``), then
checks each image: the same rows, keys and groups as the per-object task."""

from __future__ import annotations

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django_q.brokers import get_broker

from imagex_dedup.conf import dedup_settings
from imagex_dedup.hook import tasks
from imagex_dedup.index.analysis import Analysis, analyse
from imagex_dedup.index.store import save_analyses, save_analysis
from imagex_dedup.management.commands import dedup_scan
from imagex_dedup.models import DuplicateGroup, ImageFingerprint, ImageFingerprintKey, ScanRun
from imagex_dedup.scan import stages
from imagex_dedup.scan.planning import plan_run
from tests.support.hook import jpeg
from tests.support.queue import queue_only  # noqa: F401  (fixture)
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db

COLUMNS = [
    "field_name",
    "fingerprint",
    "fingerprint_version",
    "content_hash",
    "file_name",
    "width",
    "height",
    "format",
    "byte_size",
    "error",
]


def analysed(data: bytes) -> Analysis:
    return analyse(data, dedup_settings.load_limits())


def row(object_id: str) -> tuple[dict[str, object], list[int]]:
    """A stored record's columns (bytes as bytes) and its sorted index keys."""
    record = ImageFingerprint.objects.get(object_id=object_id)
    values = {name: getattr(record, name) for name in COLUMNS}
    values["fingerprint"] = bytes(values["fingerprint"]) if values["fingerprint"] else None
    keys = sorted(
        ImageFingerprintKey.objects.filter(fingerprint=record).values_list("key", flat=True)
    )
    return values, keys


def photo(name: str, data: bytes) -> Photo:
    """A photo saved without its hook running (``ENABLED`` is off in the test settings)."""
    item = Photo()
    item.image.save(name, ContentFile(data), save=True)
    return item


def scan(*args: str) -> str:
    out = io.StringIO()
    call_command("dedup_scan", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def members() -> list[list[str]]:
    return sorted(
        sorted(group.members.values_list("object_id", flat=True))
        for group in DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN)
    )


def test_batch_store_writes_the_rows_and_keys_of_save_analysis() -> None:
    content_type = ContentType.objects.get_for_model(Photo)
    first = [
        ("flower.jpg", analysed(jpeg("flower.jpg"))),
        ("card.jpg", analysed(jpeg("test-card.png"))),
        ("broken.jpg", Analysis(error="decode: not an image")),
    ]
    second = [  # the same objects later: new content, a repaired file, a broken one
        ("flower2.jpg", analysed(jpeg("flower.jpg", scale=0.5))),
        ("card.jpg", Analysis(error="not_found: gone")),
        ("broken.jpg", analysed(jpeg("exif-72dpi-int.jpg"))),
    ]
    for version in (first, second):
        for index, (name, analysis) in enumerate(version):
            save_analysis(content_type, f"single-{index}", "image", name, analysis)
        stored = save_analyses(
            content_type,
            "image",
            [(f"batch-{index}", name, analysis) for index, (name, analysis) in enumerate(version)],
        )
        assert [record.object_id for record, _ in stored] == ["batch-0", "batch-1", "batch-2"]
        for index in range(3):
            assert row(f"batch-{index}") == row(f"single-{index}")
    assert ImageFingerprint.objects.count() == 6
    # Keys: ~70 per usable image, none for an error.
    assert len(row("batch-0")[1]) > 30 and row("batch-1")[1] == []
    assert ImageFingerprintKey.objects.count() == 2 * (
        len(row("batch-0")[1]) + len(row("batch-2")[1])
    )
    # The previous content hashes come back with the records ("" for a new record).
    again = save_analyses(content_type, "image", [("batch-0", "x.jpg", first[0][1])])
    assert [previous for _, previous in again] == [second[0][1].content_hash]
    fresh = save_analyses(content_type, "image", [("batch-9", "y.jpg", first[1][1])])
    assert [previous for _, previous in fresh] == [""]
    with pytest.raises(ValueError, match="twice"):
        save_analyses(content_type, "image", [("a", "a.jpg", first[0][1])] * 2)


def test_near_duplicates_of_one_batch_end_up_in_one_group() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    photo("c.jpg", jpeg("test-card.png"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    assert "Scanned 3 images: 3 fingerprinted, 0 errors." in scan("--batch-size", "10")
    assert members() == [sorted([str(a.pk), str(b.pk)])]
    group = DuplicateGroup.objects.get()
    primary = group.members.get(is_primary=True)
    assert primary.object_id == str(a.pk), "the image indexed first is the primary"
    assert group.members.get(object_id=str(b.pk)).score > 0.84
    # Every record is marked checked: a second run does nothing.
    assert not ImageFingerprint.objects.filter(checked_at=None).exists()
    assert "0 fingerprinted" in scan()


def test_a_changed_image_leaves_its_old_group_on_rescan() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    c = photo("c.jpg", jpeg("flower.jpg", scale=0.8, quality=70))
    scan("--batch-size", "10")
    (old_group,) = DuplicateGroup.objects.all()
    assert members() == [sorted([str(a.pk), str(b.pk), str(c.pk)])]

    c.image.save("c2.jpg", ContentFile(jpeg("test-card.png")), save=True)
    assert "Scanned 3 images: 1 fingerprinted" in scan("--batch-size", "10")
    assert members() == [sorted([str(a.pk), str(b.pk)])]
    assert DuplicateGroup.objects.get().pk == old_group.pk, "the rest of the group stays"

    # Both remaining members change in one batch: the group, left with nothing, is gone; the
    # two new images (near-duplicates of each other) form a new group.
    a.image.save("a2.jpg", ContentFile(jpeg("exif-72dpi-int.jpg")), save=True)
    b.image.save("b2.jpg", ContentFile(jpeg("exif-72dpi-int.jpg", scale=0.7)), save=True)
    scan("--batch-size", "10")
    assert members() == [sorted([str(a.pk), str(b.pk)])]
    assert not DuplicateGroup.objects.filter(pk=old_group.pk).exists()


def test_an_unreadable_file_is_stored_with_its_error_and_the_batch_goes_on() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    broken = photo("broken.jpg", b"not an image" * 20)
    gone = photo("gone.jpg", jpeg("flower.jpg"))
    gone.image.storage.delete(gone.image.name)
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    out = scan("--batch-size", "10", "--workers", "2")
    assert "Scanned 4 images: 4 fingerprinted, 2 errors." in out
    errors = dict(ImageFingerprint.objects.values_list("object_id", "error"))
    assert errors[str(a.pk)] == errors[str(b.pk)] == ""
    assert errors[str(broken.pk)] and errors[str(gone.pk)].startswith("not_found")
    for record in ImageFingerprint.objects.exclude(error=""):
        assert record.fingerprint is None and record.fingerprint_version == 0
        assert not record.keys.exists()
    assert ImageFingerprint.objects.get(object_id=str(a.pk)).keys.count() > 30
    assert members() == [sorted([str(a.pk), str(b.pk)])]
    assert "Scanned 4 images: 0 fingerprinted" in scan()


def test_resume_skips_current_images_and_redoes_a_batch_stored_but_not_checked(
    monkeypatch,
) -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    c = photo("c.jpg", jpeg("test-card.png"))
    d = photo("d.jpg", jpeg("flower.jpg", scale=0.8, quality=70))

    # The first run dies after storing its second batch (c, d), while checking it.
    checked = []
    real_check = tasks.check_stored

    def dying_check(record, backend):
        if record.object_id == str(c.pk):
            raise KeyboardInterrupt
        checked.append(record.object_id)
        real_check(record, backend)

    monkeypatch.setattr(dedup_scan, "check_stored", dying_check)
    with pytest.raises(KeyboardInterrupt):
        scan("--batch-size", "2")
    assert checked == [str(a.pk), str(b.pk)]
    assert ImageFingerprint.objects.count() == 4, "the second batch was stored"
    pending = ImageFingerprint.objects.filter(checked_at=None)
    assert sorted(pending.values_list("object_id", flat=True)) == [str(c.pk), str(d.pk)]
    assert members() == [sorted([str(a.pk), str(b.pk)])], "d is stored but was not checked"

    monkeypatch.setattr(dedup_scan, "check_stored", real_check)
    before = dict(ImageFingerprint.objects.values_list("object_id", "computed_at"))
    assert "Scanned 4 images: 2 fingerprinted, 0 errors." in scan("--batch-size", "2")
    after = dict(ImageFingerprint.objects.values_list("object_id", "computed_at"))
    assert after[str(a.pk)] == before[str(a.pk)] and after[str(b.pk)] == before[str(b.pk)]
    assert not ImageFingerprint.objects.filter(checked_at=None).exists()
    assert members() == [sorted([str(a.pk), str(b.pk), str(d.pk)])]
    assert "Scanned 4 images: 0 fingerprinted" in scan("--batch-size", "2")
    assert "Scanned 4 images: 4 fingerprinted" in scan("--force", "--batch-size", "3")
    assert members() == [sorted([str(a.pk), str(b.pk), str(d.pk)])]


# --- on the cluster: --enqueue, --status, --cancel, --resume-run ----------------------------


def cluster(*args: str) -> tuple[str, int]:
    """``dedup_scan`` with cluster options: its output and exit status."""
    out = io.StringIO()
    try:
        call_command("dedup_scan", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return out.getvalue(), int(exit_.code)
    return out.getvalue(), 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queue_only")
def test_enqueue_records_a_run_and_status_follows_it() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    get_broker().purge_queue()  # their save hook's checks: this test is about the scan
    out, code = cluster("--enqueue", "--model", "testapp.Photo")
    run = ScanRun.objects.get()
    assert (out, code) == (f"Scan #{run.pk} enqueued: testapp.photo.image\n", 0)
    assert get_broker().queue_size() == 1, "the planning task, nothing done here"
    assert not ImageFingerprint.objects.exists()

    out, code = cluster("--status")  # the latest run
    assert code == 3 and out.startswith(f"Scan #{run.pk} running: 0/0 (0%)")
    plan_run(run.pk)
    stages.fingerprint_step(run.pk)
    stages.check_step(run.pk)
    out, code = cluster("--status", str(run.pk))
    assert code == 0 and out.startswith(f"Scan #{run.pk} finished: 2/2 (100%), 2 fingerprinted")
    assert members() == [sorted([str(a.pk), str(b.pk)])]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queue_only")
def test_cancel_and_resume_run() -> None:
    photo("a.jpg", jpeg("flower.jpg"))
    cluster("--enqueue", "--force")
    run = ScanRun.objects.get()
    assert run.force
    assert cluster("--cancel", str(run.pk)) == (f"Scan #{run.pk} cancelled\n", 0)
    out, code = cluster("--status", str(run.pk))
    assert code == 0 and " cancelled: " in out
    with pytest.raises(CommandError, match=f"Scan #{run.pk} is not running"):
        cluster("--cancel", str(run.pk))
    assert cluster("--resume-run", str(run.pk)) == (f"Scan #{run.pk} resumed\n", 0)
    assert ScanRun.objects.get().status == ScanRun.Status.RUNNING


@pytest.mark.django_db
def test_cluster_options_refuse_bad_input() -> None:
    with pytest.raises(CommandError, match="No scan run yet"):
        cluster("--status")
    with pytest.raises(CommandError, match="No scan run #42"):
        cluster("--cancel", "42")
    with pytest.raises(CommandError, match="is not registered"):
        cluster("--enqueue", "--model", "auth.User")
    with pytest.raises(CommandError, match="Unknown model"):
        cluster("--enqueue", "--model", "nope.Nothing")
    with pytest.raises(CommandError, match="not allowed with argument"):
        cluster("--enqueue", "--cancel", "1")
    assert not ScanRun.objects.exists()
