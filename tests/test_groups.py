"""Group maintenance: apply_result's ref mapping, joins, merges, dismissed pairs, primaries."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from imagex_dedup import groups as results
from imagex_dedup.conf import dedup_settings
from imagex_dedup.index.analysis import analyse
from imagex_dedup.index.store import save_analysis
from imagex_dedup.models import (
    DetectionTask,
    DismissedPair,
    DuplicateGroup,
    DuplicateGroupMember,
    ImageFingerprint,
)
from imagex_dedup.signals import duplicates_found
from tests.support.hook import jpeg
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def ref(object_id: int | str) -> str:
    return f"{ContentType.objects.get_for_model(Photo).pk}:{object_id}:image"


def indexed(object_id: int, data: bytes) -> ImageFingerprint:
    """A fingerprint record made from real image bytes (no host object needed)."""
    return save_analysis(
        ContentType.objects.get_for_model(Photo),
        str(object_id),
        "image",
        f"photos/{object_id}.jpg",
        analyse(data, dedup_settings.load_limits()),
    )


def members(group: DuplicateGroup) -> dict[str, tuple[float, bool]]:
    return {m.ref: (m.score, m.is_primary) for m in group.members.all()}


def remote_task(refs_by_url: dict[str, str], **request) -> DetectionTask:
    return DetectionTask.objects.create(
        kind=DetectionTask.Kind.REMOTE,
        backend="imagex",
        request={"Urls": list(refs_by_url), "Refs": refs_by_url, **request},
    )


def test_apply_result_maps_urls_to_refs_and_scores_from_fingerprints() -> None:
    a = indexed(1, jpeg("flower.jpg"))
    b = indexed(2, jpeg("flower.jpg", scale=0.5, quality=60))
    task = remote_task(
        {"https://cdn.test/a.jpg": a.ref, "https://cdn.test/b.jpg": b.ref},
        Similarity=0.8,
    )
    result = {
        "Score": "0.5",
        "Groups": {"group0": ["https://cdn.test/a.jpg", "https://cdn.test/b.jpg", "https://x/?"]},
    }
    (group,) = results.apply_result(task, result)
    scores = members(group)
    assert set(scores) == {a.ref, b.ref}
    assert scores[a.ref] == (1.0, True)
    assert 0.9 < scores[b.ref][0] < 1.0 and not scores[b.ref][1]
    assert (group.similarity, group.backend, group.status) == (0.8, "imagex", "open")
    task.refresh_from_db()
    assert task.status == DetectionTask.Status.SUCCESS and task.result == result
    assert task.finished_at is not None


def test_apply_result_without_fingerprints_uses_pair_score_then_threshold() -> None:
    pair = remote_task({"u1": ref(1), "u2": ref(2)}, Similarity=0.9)
    (group,) = results.apply_result(pair, {"Score": "0.95", "Groups": {"group0": ["u1", "u2"]}})
    assert members(group) == {ref(1): (1.0, True), ref(2): (0.95, False)}
    three = remote_task({"u3": ref(3), "u4": ref(4), "u5": ref(5)}, Similarity=0.9)
    (group,) = results.apply_result(three, {"Groups": {"group0": ["u3", "u4", "u5"]}})
    assert sorted(score for score, _ in members(group).values()) == [0.9, 0.9, 1.0]


def test_apply_result_groups_become_separate_groups_and_small_ones_are_ignored() -> None:
    task = remote_task({f"u{i}": ref(i) for i in range(1, 6)})
    groups = results.apply_result(
        task,
        {"Groups": {"group0": ["u1", "u2"], "group1": ["u3", "u4"], "group2": ["u5", "nope"]}},
    )
    assert [sorted(members(g)) for g in groups] == [
        sorted([ref(1), ref(2)]),
        sorted([ref(3), ref(4)]),
    ]
    assert DuplicateGroup.objects.count() == 2


def test_subject_joins_an_existing_group_and_idempotent_reapply() -> None:
    sent = []

    def receiver(sender, group, created, members, **kwargs):
        sent.append((group.pk, created, sorted(m.ref for m in members)))

    duplicates_found.connect(receiver, dispatch_uid="test-results")
    try:
        first = remote_task({"a": ref(1), "b": ref(2)})
        with_subject = remote_task({"a": ref(1), "c": ref(3)}, Subject=ref(3))
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            (group,) = results.apply_result(first, {"Groups": {"g": ["a", "b"]}})
        with TestCase.captureOnCommitCallbacks(execute=True):
            (same,) = results.apply_result(with_subject, {"Groups": {"g": ["a", "c"]}})
        with TestCase.captureOnCommitCallbacks(execute=True):
            results.apply_result(with_subject, {"Groups": {"g": ["a", "c"]}})
    finally:
        duplicates_found.disconnect(dispatch_uid="test-results")
    assert same.pk == group.pk
    assert set(members(group)) == {ref(1), ref(2), ref(3)}
    assert [m.ref for m in group.members.filter(is_primary=True)] == [ref(1)]
    assert sent == [(group.pk, True, sorted([ref(1), ref(2)])), (group.pk, False, [ref(3)])]


def test_an_image_linked_to_two_open_groups_never_merges_them() -> None:
    older = results.join([ref(1), ref(2)], similarity=0.84, backend="local")
    newer = results.join([ref(3), ref(4)], similarity=0.84, backend="local")
    assert older.pk < newer.pk
    assert results.join([ref(4), ref(2)], similarity=0.84, backend="local").pk == newer.pk
    assert set(members(older)) == {ref(1), ref(2)}
    assert set(members(newer)) == {ref(3), ref(4)}


def scores_table(monkeypatch, table: dict[tuple[int, int], float]) -> None:
    """Scores between refs as given (the rule under test, not the engine's scoring)."""

    def score(self, a: str, b: str) -> float | None:
        x, y = sorted(int(r.split(":")[1]) for r in (a, b))
        return table.get((x, y), 0.0)

    monkeypatch.setattr(results._Links, "score", score)


def test_a_bridge_joins_the_representative_it_matches_best(monkeypatch) -> None:
    # 1 and 2 are two views of a scene (0.80 apart); 3 matches both, 1 better.
    scores_table(monkeypatch, {(1, 3): 0.95, (2, 3): 0.90, (1, 2): 0.80, (2, 4): 0.93})
    first = results.join([ref(1), ref(3)], similarity=0.84, backend="local")
    second = results.join([ref(2), ref(4)], similarity=0.84, backend="local")
    # 3 already sits with 1; its match with 2 neither moves it nor merges the groups.
    assert results.join([ref(3), ref(2)], similarity=0.84, backend="local").pk == first.pk
    assert (set(members(first)), set(members(second))) == ({ref(1), ref(3)}, {ref(2), ref(4)})


def test_a_new_image_joins_the_best_matching_representative_only(monkeypatch) -> None:
    scores_table(monkeypatch, {(1, 2): 0.9, (3, 4): 0.9, (1, 5): 0.86, (3, 5): 0.92})
    one = results.join([ref(1), ref(2)], similarity=0.84, backend="local")
    three = results.join([ref(3), ref(4)], similarity=0.84, backend="local")
    assert results.join([ref(5), ref(2), ref(4)], similarity=0.84, backend="local").pk == three.pk
    assert set(members(three)) == {ref(3), ref(4), ref(5)}
    assert set(members(one)) == {ref(1), ref(2)}


def test_members_must_match_the_representative_not_another_member(monkeypatch) -> None:
    # 2 matches the subject 1 but not the representative of the group 1 joins.
    scores_table(monkeypatch, {(1, 3): 0.9, (1, 2): 0.9, (2, 3): 0.5})
    group = results.join([ref(3), ref(1)], similarity=0.84, backend="local")
    assert results.join([ref(1), ref(2)], similarity=0.84, backend="local").pk == group.pk
    assert set(members(group)) == {ref(1), ref(3)}
    assert not DuplicateGroupMember.objects.filter(object_id="2").exists()


def test_a_new_groups_representative_is_its_oldest_image_linked_to_all(monkeypatch) -> None:
    content_type = ContentType.objects.get_for_model(Photo)
    for n in range(1, 7):  # indexed in this order
        ImageFingerprint.objects.create(content_type=content_type, object_id=n, field_name="image")
    scores_table(monkeypatch, {(1, 2): 0.9, (1, 3): 0.9, (2, 3): 0.86})
    group = results.join([ref(3), ref(2), ref(1)], similarity=0.84, backend="local")
    assert [m.ref for m in group.members.filter(is_primary=True)] == [ref(1)]
    scores_table(monkeypatch, {(4, 5): 0.9, (4, 6): 0.9, (5, 6): 0.5})
    group = results.join([ref(4), ref(6), ref(5)], similarity=0.84, backend="local")
    assert [m.ref for m in group.members.filter(is_primary=True)] == [ref(4)]


def test_chosen_keeper_stays_primary_when_the_group_grows() -> None:
    group = results.join([ref(1), ref(2)], similarity=0.84, backend="local")
    DuplicateGroupMember.objects.filter(group=group).update(is_primary=False)
    DuplicateGroupMember.objects.filter(group=group, object_id="2").update(is_primary=True)
    results.join([ref(3), ref(1)], similarity=0.84, backend="local")
    assert [m.ref for m in group.members.filter(is_primary=True)] == [ref(2)]


def test_dismissed_pairs_are_never_regrouped() -> None:
    results.dismiss_pairs([ref(1), ref(2)])
    assert list(DismissedPair.objects.values_list("ref_a", "ref_b")) == [
        DismissedPair.ordered(ref(1), ref(2))
    ]
    assert results.join([ref(1), ref(2)], similarity=0.84, backend="local") is None
    group = results.join([ref(1), ref(2), ref(3)], similarity=0.84, backend="local")
    assert set(members(group)) == {ref(1), ref(3)}
    other = results.join([ref(2), ref(4)], similarity=0.84, backend="local")
    assert results.join([ref(3), ref(4)], similarity=0.84, backend="local").pk == group.pk
    assert set(members(group)) == {ref(1), ref(3)}, "the group holding 2 must stay apart"
    assert set(members(other)) == {ref(2), ref(4)}


def test_closed_groups_are_not_reopened_and_merged_pairs_stay_apart() -> None:
    group = results.join([ref(1), ref(2)], similarity=0.84, backend="local")
    DuplicateGroup.objects.filter(pk=group.pk).update(status=DuplicateGroup.Status.MERGED)
    assert results.join([ref(1), ref(2)], similarity=0.84, backend="local") is None
    again = results.join([ref(1), ref(2), ref(3)], similarity=0.84, backend="local")
    assert again.pk != group.pk and set(members(again)) == {ref(1), ref(3)}
    group.refresh_from_db()
    assert group.status == DuplicateGroup.Status.MERGED and group.members.count() == 2


def test_remove_ref_promotes_a_new_primary_and_deletes_small_groups() -> None:
    a = indexed(1, jpeg("flower.jpg"))
    b = indexed(2, jpeg("flower.jpg", scale=0.5, quality=60))
    c = indexed(3, jpeg("flower.jpg", scale=0.7, quality=80))
    group = results.link(a, [(b, 0.9), (c, 0.9)], similarity=0.84, backend="local")
    results.remove_ref(a.ref)
    scores = members(group)
    assert scores[b.ref] == (1.0, True)
    assert 0.9 < scores[c.ref][0] < 1.0
    results.remove_ref(b.ref)
    assert not DuplicateGroup.objects.exists()


def test_link_with_no_matches_creates_nothing() -> None:
    a = indexed(1, jpeg("flower.jpg"))
    assert results.link(a, [], similarity=0.84, backend="local") is None
    assert not DuplicateGroup.objects.exists()


def test_failing_signal_receiver_does_not_break_grouping(caplog) -> None:
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    from django.test import TestCase

    duplicates_found.connect(broken, dispatch_uid="test-broken")
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            group = results.join([ref(1), ref(2)], similarity=0.84, backend="local")
    finally:
        duplicates_found.disconnect(dispatch_uid="test-broken")
    assert group.members.count() == 2
    assert "receiver bug" in caplog.text


def test_service_tasks_never_change_groups() -> None:
    task = DetectionTask.objects.create(
        kind=DetectionTask.Kind.SERVICE, request={"Refs": {"u1": ref(1), "u2": ref(2)}}
    )
    with pytest.raises(ValueError, match="service request"):
        results.apply_result(task, {"Groups": {"group0": ["u1", "u2"]}})
    assert not DuplicateGroup.objects.exists()
