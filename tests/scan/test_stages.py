"""A scan on the cluster's task kinds gives the groups of a single-process scan, whatever the
order the stages run in, a batch done twice, two runs at once, a lost worker, a cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from imagex_dedup.models import ImageFingerprint, ScanBatch, ScanRun
from imagex_dedup.scan import handout, stages
from imagex_dedup.scan.planning import cancel_run, plan_run, resume_run, start_run
from imagex_dedup.scan.progress import progress
from imagex_dedup.scan.targets import resolve
from tests.scan.conftest import scan_here
from tests.support.library import assert_scanned_once, forget_results, make_library, open_groups
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)
SETTINGS = {"MODELS": {"testapp.Photo": "image"}, "SCAN_BATCH_SIZE": 5, "SCAN_CONCURRENCY": 2}
Stage = ScanBatch.Stage


@pytest.fixture
def library() -> list[Photo]:
    with override_settings(IMAGEX_DEDUP={**SETTINGS, "ENABLED": False}):
        return make_library(22)


@pytest.fixture
def reference(library: list[Photo]) -> list[list[str]]:
    """The groups a single-process scan gives; the library is then as if never scanned."""
    scan_here()
    groups = open_groups()
    assert len(groups) == 5 and all(len(group) == 2 for group in groups)
    forget_results()
    return groups


def planned_run(**options: object) -> ScanRun:
    run = ScanRun.objects.create(targets=["testapp.photo.image"], batch_size=5, **options)
    plan_run(run.pk)
    return ScanRun.objects.get(pk=run.pk)


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_cluster_scan_gives_the_groups_of_a_single_process_scan(library, reference) -> None:
    run = start_run(resolve(None))  # sync broker: planning and every stage run inline
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FINISHED and run.finished_at is not None
    assert open_groups() == reference
    assert_scanned_once(library)
    report = progress(run)
    assert (report.total, report.done, report.fingerprinted, report.errors) == (22, 22, 22, 0)
    assert list(run.batches.values_list("size", flat=True)) == [5, 5, 5, 5, 2]
    assert f"Scan #{run.pk} finished: 22/22 (100%)" in report.line()


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_all_fingerprints_first_then_checks_in_reverse_order(
    library, reference, queue_only
) -> None:
    run = planned_run()
    while ScanBatch.objects.filter(stage=Stage.PENDING).exists():
        stages.fingerprint_step(run.pk)
    assert ImageFingerprint.objects.filter(checked_at=None).count() == 22
    batches = list(ScanBatch.objects.order_by("-pk"))
    for batch in batches:  # claim order is by key; lease the others so the last one goes first
        ScanBatch.objects.exclude(pk=batch.pk).filter(stage=Stage.FINGERPRINTED).update(
            lease_until=timezone.now() + timedelta(hours=1)
        )
        stages.check_step(run.pk)
        ScanBatch.objects.filter(stage=Stage.FINGERPRINTED).update(lease_until=None)
    assert open_groups() == reference
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.FINISHED


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_a_batch_done_twice_leaves_one_fingerprint_per_image_and_the_same_groups(
    library, reference, queue_only
) -> None:
    run = planned_run()
    first = handout.claim(run.pk, Stage.PENDING)
    stages.fingerprint_batch(first, force=False)
    stages.check_batch(first)
    # The same batch delivered again, at both stages (its worker died before moving it on).
    ScanBatch.objects.filter(pk=first.pk).update(stage=Stage.PENDING, lease_until=None)
    again = handout.claim(run.pk, Stage.PENDING)
    assert again.pk == first.pk and again.attempts == 2
    stages.fingerprint_batch(again, force=True)
    stages.check_batch(again)
    stages.check_batch(again)
    while ScanBatch.objects.filter(stage__in=[Stage.PENDING, Stage.FINGERPRINTED]).exists():
        stages.fingerprint_step(run.pk)
        stages.check_step(run.pk)
    assert open_groups() == reference
    assert_scanned_once(library)


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_two_runs_at_once_interleaved(library, reference, queue_only) -> None:
    one, two = planned_run(), planned_run(force=True)
    for _ in range(12):
        for run in (one, two):
            stages.fingerprint_step(run.pk)
            stages.check_step(run.pk)
    assert ScanRun.objects.filter(status=ScanRun.Status.FINISHED).count() == 2
    assert open_groups() == reference
    assert_scanned_once(library)


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_claims_hand_each_batch_to_one_worker_and_a_lost_lease_comes_back(
    library, queue_only
) -> None:
    run = planned_run()
    claimed = [handout.claim(run.pk, Stage.PENDING) for _ in range(6)]
    assert [batch is None for batch in claimed] == [False] * 5 + [True]
    assert len({batch.pk for batch in claimed[:5]}) == 5
    # The worker holding the first batch died: once its lease runs out the batch comes back,
    # and after MAX_ATTEMPTS lost workers it is given up with a message.
    for attempt in range(2, handout.MAX_ATTEMPTS + 1):
        ScanBatch.objects.filter(pk=claimed[0].pk).update(lease_until=timezone.now())
        back = handout.claim(run.pk, Stage.PENDING)
        assert (back.pk, back.attempts) == (claimed[0].pk, attempt)
    ScanBatch.objects.filter(pk=claimed[0].pk).update(lease_until=timezone.now())
    assert handout.claim(run.pk, Stage.PENDING) is None
    lost = ScanBatch.objects.get(pk=claimed[0].pk)
    assert lost.stage == Stage.FAILED and lost.errors == lost.size
    assert lost.messages == [
        f"batch {lost.first_id}..{lost.last_id}: worker lost 3 times (killed or timed out)"
    ]


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_cancel_stops_the_hand_out_and_resume_continues_where_it_stopped(
    library, reference, queue_only
) -> None:
    run = planned_run()
    stages.fingerprint_step(run.pk)
    stages.check_step(run.pk)
    done_first = dict(ImageFingerprint.objects.values_list("object_id", "computed_at"))
    assert len(done_first) == 5
    assert cancel_run(run) and not cancel_run(run)
    stages.fingerprint_step(run.pk)
    assert ImageFingerprint.objects.count() == 5, "a cancelled run hands out nothing"
    assert progress(ScanRun.objects.get(pk=run.pk)).eta is None
    assert resume_run(ScanRun.objects.get(pk=run.pk))
    while ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.RUNNING:
        stages.fingerprint_step(run.pk)
        stages.check_step(run.pk)
    assert open_groups() == reference
    again = dict(ImageFingerprint.objects.values_list("object_id", "computed_at"))
    assert {key: again[key] for key in done_first} == done_first, "nothing done twice"
    assert not resume_run(ScanRun.objects.get(pk=run.pk)), "a finished run stays finished"


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_unreadable_images_are_counted_with_their_messages(library) -> None:
    broken = Photo.objects.bulk_create(
        [Photo(image=default_storage.save("photos/broken.jpg", ContentFile(b"not an image")))]
    )[0]
    run = start_run(resolve(["testapp.Photo"]))
    report = progress(ScanRun.objects.get(pk=run.pk))
    assert (report.total, report.done, report.errors) == (23, 23, 1)
    assert len(report.messages) == 1 and report.messages[0].startswith(f"{broken.pk}: ")
    assert ImageFingerprint.objects.get(object_id=str(broken.pk)).error


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_an_empty_library_finishes_at_once() -> None:
    run = start_run(resolve(None))
    run.refresh_from_db()
    assert run.planned and run.status == ScanRun.Status.FINISHED
    assert progress(run).line().startswith(f"Scan #{run.pk} finished: 0/0 (100%)")


@override_settings(IMAGEX_DEDUP=SETTINGS)
def test_a_batch_that_fails_is_tried_again_then_given_up_and_the_run_finishes(queue_only) -> None:
    from django.contrib.contenttypes.models import ContentType

    run = ScanRun.objects.create(targets=["testapp.photo.image"], batch_size=5, planned=True)
    bad = ScanBatch.objects.create(
        run=run,
        content_type=ContentType.objects.get_for_model(Photo),
        field_name="image",
        first_id="not-a-key",
        last_id="not-a-key",
        size=5,
    )
    for attempt in range(1, handout.MAX_ATTEMPTS + 1):
        stages.fingerprint_step(run.pk)
        bad.refresh_from_db()
        assert bad.attempts == attempt and len(bad.messages) == attempt
        assert "ValueError" in bad.messages[-1] and bad.lease_until is None
    assert bad.stage == Stage.FAILED and bad.errors == 5
    stages.fingerprint_step(run.pk)  # nothing left: the run finishes
    report = progress(ScanRun.objects.get(pk=run.pk))
    assert report.finished and (report.done, report.errors) == (5, 5)
