"""merge_group / undo_merge / dismiss_group on real host rows related in every supported way."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

from imagex_dedup import signals
from imagex_dedup.groups import join
from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import (
    DismissedPair,
    DuplicateGroup,
    DuplicateGroupMember,
    ImageFingerprint,
    MergeLog,
)
from imagex_dedup.review.keeper import choose_keeper
from imagex_dedup.review.merge import (
    MergeConflict,
    dismiss_group,
    get_merge_handler,
    merge_group,
    plan_merge,
    plan_merges,
    undo_merge,
)
from tests.review.records import member_details
from tests.support.records import store_fingerprint
from tests.support.review import make_group, make_photo
from tests.testapp.models import Album, Comment, Photo, Print, Profile, Tagging

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A keeper (largest) and two duplicates, referenced through every relation kind."""
    keeper = make_photo("keeper", width=480)
    dup1 = make_photo("dup1", width=320)
    dup2 = make_photo("dup2", width=200)
    other = make_photo("other", source="test-card.png", width=300)
    album = Album.objects.create(name="holiday", cover=dup1)
    album.photos.set([keeper, dup1, dup2, other])
    album2 = Album.objects.create(name="best of", cover=other)
    album2.photos.set([dup2])
    profile = Profile.objects.create(name="ann", avatar=dup1)
    comment = Comment.objects.create(target=dup2, text="nice")
    comment_other = Comment.objects.create(target=other, text="untouched")
    print_ = Print.objects.create(photo=dup1, size="A4")
    tag_dup = Tagging.objects.create(photo=dup1, tag="red")
    tag_keeper = Tagging.objects.create(photo=keeper, tag="blue")
    for photo in (keeper, dup1, dup2, other):
        store_fingerprint(photo, "image")  # real fingerprints and index keys
    group = make_group(dup1, keeper, dup2)
    return {
        "keeper": keeper,
        "dup1": dup1,
        "dup2": dup2,
        "other": other,
        "album": album,
        "album2": album2,
        "profile": profile,
        "comment": comment,
        "comment_other": comment_other,
        "print": print_,
        "tag_dup": tag_dup,
        "tag_keeper": tag_keeper,
        "group": group,
    }


def snapshot() -> dict:
    """Everything a merge may touch, as plain values."""
    return {
        "photos": sorted(Photo.objects.values_list("pk", "title", "image", "created_at")),
        "albums": sorted(Album.objects.values_list("pk", "cover_id")),
        "album_photos": sorted(
            Album.photos.through.objects.values_list("pk", "album_id", "photo_id")
        ),
        "profiles": sorted(Profile.objects.values_list("pk", "avatar_id")),
        "comments": sorted(Comment.objects.values_list("pk", "content_type_id", "object_id")),
        "prints": sorted(Print.objects.values_list("pk", "photo_id")),
        "taggings": sorted(Tagging.objects.values_list("pk", "photo_id", "tag")),
        "fingerprints": sorted(ImageFingerprint.objects.values_list("object_id", flat=True)),
        "groups": sorted(DuplicateGroup.objects.values_list("pk", "status")),
        "logs": MergeLog.objects.count(),
    }


def test_merge_repoints_every_relation_kind(world, django_capture_on_commit_callbacks):
    keeper, dup1, dup2 = world["keeper"], world["dup1"], world["dup2"]
    with django_capture_on_commit_callbacks(execute=True):
        log = merge_group(world["group"])

    assert log.keeper_object_id == str(keeper.pk)
    assert set(Photo.objects.values_list("pk", flat=True)) == {keeper.pk, world["other"].pk}
    world["album"].refresh_from_db()
    assert world["album"].cover_id == keeper.pk  # FK
    assert set(world["album"].photos.values_list("pk", flat=True)) == {keeper.pk, world["other"].pk}
    assert Album.photos.through.objects.filter(album=world["album"], photo=keeper).count() == 1
    assert list(world["album2"].photos.values_list("pk", flat=True)) == [keeper.pk]  # m2m moved
    world["profile"].refresh_from_db()
    assert world["profile"].avatar_id == keeper.pk  # O2O
    world["comment"].refresh_from_db()
    assert world["comment"].target == keeper  # GFK
    world["comment_other"].refresh_from_db()
    assert world["comment_other"].object_id == str(world["other"].pk)
    world["print"].refresh_from_db()
    assert world["print"].photo_id == keeper.pk  # PROTECT FK re-pointed, so deletion succeeded
    world["tag_dup"].refresh_from_db()
    assert world["tag_dup"].photo_id == keeper.pk
    # Fingerprints of the deleted duplicates are gone, the keeper's stays.
    assert set(ImageFingerprint.objects.values_list("object_id", flat=True)) == {
        str(keeper.pk),
        str(world["other"].pk),
    }
    group = DuplicateGroup.objects.get(pk=world["group"].pk)
    assert group.status == DuplicateGroup.Status.MERGED
    assert group.resolved_at is not None

    kinds = {(c["model"], c["field"], c["kind"]) for c in log.changes}
    assert kinds == {
        ("testapp.album", "cover_id", "fk"),
        ("testapp.album_photos", "photo_id", "m2m"),
        ("testapp.profile", "avatar_id", "o2o"),
        ("testapp.comment", "object_id", "gfk"),
        ("testapp.print", "photo_id", "fk"),
        ("testapp.tagging", "photo_id", "fk"),
    }
    cover = next(c for c in log.changes if c["field"] == "cover_id")
    assert (cover["pk"], cover["old"], cover["new"]) == (world["album"].pk, dup1.pk, keeper.pk)
    comment = next(c for c in log.changes if c["kind"] == "gfk")
    assert (comment["old"], comment["new"]) == (str(dup2.pk), str(keeper.pk))
    # dup1's link to the album the keeper is already in was dropped, not duplicated.
    dropped = [c for c in log.changes if c["new"] is None]
    assert sorted((c["old"], c["row"]["album_id"]) for c in dropped) == [
        (dup1.pk, world["album"].pk),
        (dup2.pk, world["album"].pk),
    ]
    assert {d["pk"] for d in log.duplicates} == {dup1.pk, dup2.pk}
    assert log.deleted_duplicates is True
    assert log.deleted_files == []


def test_merge_with_picked_keeper(world):
    members = {m.object_id: m for m in world["group"].members.all()}
    log = merge_group(world["group"], members[str(world["dup2"].pk)])
    assert log.keeper_object_id == str(world["dup2"].pk)
    world["album"].refresh_from_db()
    assert world["album"].cover_id == world["dup2"].pk
    assert set(Photo.objects.values_list("pk", flat=True)) == {world["dup2"].pk, world["other"].pk}


def test_conflict_one_to_one_changes_nothing(world):
    Profile.objects.create(name="bob", avatar=world["keeper"])
    before = snapshot()
    with pytest.raises(MergeConflict) as exc:
        merge_group(world["group"])
    assert "testapp.Profile.avatar_id (one-to-one)" in str(exc.value)
    assert f"{world['profile'].pk} with" in str(exc.value)
    assert snapshot() == before


def test_conflict_unique_together_changes_nothing(world):
    Tagging.objects.create(photo=world["keeper"], tag="red")
    before = snapshot()
    with pytest.raises(MergeConflict) as exc:
        merge_group(world["group"])
    message = str(exc.value)
    assert "testapp.Tagging.photo_id (unique constraint 'testapp_tagging_unique')" in message
    assert f"(row pks {world['tag_dup'].pk} with" in message
    keeper_member = world["group"].members.get(object_id=str(world["keeper"].pk))
    assert (
        f"onto the keeper (member {keeper_member.pk}, testapp.Photo pk {world['keeper'].pk})"
        in message
    )
    assert snapshot() == before
    plan = plan_merge(world["group"])
    assert plan.conflicts == exc.value.problems


def test_conflict_protected_row_appearing_mid_merge_rolls_back(world):
    """A PROTECT reference the plan could not see blocks the deletion: everything rolls back."""
    dup2 = world["dup2"]

    def add_print(**kwargs):
        Print.objects.create(photo=dup2, size="poster")

    signals.pre_merge.connect(add_print, dispatch_uid="test-protect")
    try:
        before = snapshot()
        with pytest.raises(MergeConflict) as exc:
            merge_group(world["group"])
    finally:
        signals.pre_merge.disconnect(dispatch_uid="test-protect")
    assert f"testapp.Photo {dup2.pk} cannot be deleted: still referenced by testapp.Print" in str(
        exc.value
    )
    assert snapshot() == before
    assert not Print.objects.filter(size="poster").exists()


def test_refuses_closed_groups(world):
    group = world["group"]
    dismiss_group(group)
    with pytest.raises(MergeConflict, match="not duplicates, not open"):
        merge_group(group)


def test_undo_restores_everything(world, django_capture_on_commit_callbacks):
    before = snapshot()
    details = member_details()
    with django_capture_on_commit_callbacks(execute=True):
        log = merge_group(world["group"])
    assert snapshot() != before
    assert member_details() != details  # the duplicates' fingerprint records went
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        undo_merge(log)
    # Fingerprint records come back from the merge log: no re-check needed, only the signal.
    assert len(callbacks) == 1
    assert snapshot() == {**before, "logs": 1}
    assert member_details() == details
    log.refresh_from_db()
    assert log.undone_at is not None
    restored = Photo.objects.get(pk=world["dup1"].pk)
    assert restored.title == "dup1"
    assert restored.image.name == world["dup1"].image.name
    assert set(restored.albums.values_list("pk", flat=True)) == {world["album"].pk}
    world["comment"].refresh_from_db()
    assert world["comment"].target == world["dup2"]
    # The keeper rule sees the same sizes as before the merge.
    assert choose_keeper(world["group"]).object_id == str(world["keeper"].pk)
    with pytest.raises(MergeConflict, match="already undone"):
        undo_merge(log)


def test_undo_gives_way_to_no_newer_record_and_old_logs_recheck(
    world, django_capture_on_commit_callbacks
):
    details = member_details()
    log = merge_group(world["group"])
    # A record made for a duplicate since the merge (e.g. a placeholder) yields to the original.
    ImageFingerprint.objects.create(
        content_type=ContentType.objects.get_for_model(Photo),
        object_id=str(world["dup1"].pk),
        field_name="image",
    )
    undo_merge(log)
    assert member_details() == details
    # A log without fingerprint records (written before they were kept) re-checks instead.
    log = merge_group(world["group"])
    MergeLog.objects.filter(pk=log.pk).update(fingerprints=[])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        undo_merge(MergeLog.objects.get(pk=log.pk))
    assert len(callbacks) == 3  # two re-checks + merge_undone


def test_undo_refuses_when_state_moved_on(world):
    log = merge_group(world["group"])
    album = world["album"]
    album.cover = world["other"]
    album.save()
    before = snapshot()
    with pytest.raises(MergeConflict) as exc:
        undo_merge(log)
    assert f"testapp.Album {album.pk}.cover_id: now {world['other'].pk}" in str(exc.value)
    assert snapshot() == before
    log.refresh_from_db()
    assert log.undone_at is None


@override_settings(IMAGEX_DEDUP={"MERGE_DELETE_DUPLICATES": False})
def test_keep_duplicates(world):
    log = merge_group(world["group"])
    assert Photo.objects.filter(pk=world["dup1"].pk).exists()
    assert log.deleted_duplicates is False
    world["album"].refresh_from_db()
    assert world["album"].cover_id == world["keeper"].pk
    assert ImageFingerprint.objects.filter(object_id=str(world["dup1"].pk)).exists()
    undo_merge(log)
    world["album"].refresh_from_db()
    assert world["album"].cover_id == world["dup1"].pk
    assert DuplicateGroup.objects.get(pk=world["group"].pk).status == "open"


@override_settings(IMAGEX_DEDUP={"MERGE_DELETE_DUPLICATES": False})
def test_kept_duplicates_are_not_regrouped_by_later_checks(world):
    merge_group(world["group"])
    for name in ("keeper", "dup1", "dup2"):
        check_object("testapp", "photo", str(world[name].pk), "image")
    assert not DuplicateGroup.objects.filter(status="open").exists()

    new = make_photo("new", width=400)
    check_object("testapp", "photo", str(new.pk), "image")
    group = DuplicateGroup.objects.get(status="open")
    members = set(group.members.values_list("object_id", flat=True))
    assert members == {str(new.pk), str(world["keeper"].pk)}  # dup1/dup2 stay merged away


@override_settings(IMAGEX_DEDUP={"MERGE_DELETE_FILES": True})
def test_delete_files_only_after_commit(world, django_capture_on_commit_callbacks):
    storage = world["dup1"].image.storage
    names = [world[k].image.name for k in ("keeper", "dup1", "dup2")]
    assert all(storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        log = merge_group(world["group"])
    assert sorted(log.deleted_files) == sorted(names[1:])
    assert all(storage.exists(n) for n in names)  # not before commit
    for callback in callbacks:
        callback()
    assert storage.exists(names[0])
    assert not storage.exists(names[1]) and not storage.exists(names[2])
    with pytest.raises(MergeConflict, match="deleted the duplicates' files"):
        undo_merge(log)


def test_files_kept_by_default(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        log = merge_group(world["group"])
    assert log.deleted_files == []
    assert world["dup1"].image.storage.exists(world["dup1"].image.name)


def test_signals(world, django_capture_on_commit_callbacks):
    received: list[tuple[str, dict]] = []

    def receiver(name):
        def on_signal(sender, **kwargs):
            assert sender is DuplicateGroup
            received.append((name, kwargs))

        return on_signal

    handlers = {name: receiver(name) for name in ("pre", "merged", "undone", "dismissed")}
    pairs = [
        (signals.pre_merge, "pre"),
        (signals.group_merged, "merged"),
        (signals.merge_undone, "undone"),
        (signals.group_dismissed, "dismissed"),
    ]
    for signal, name in pairs:
        signal.connect(handlers[name])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            log = merge_group(world["group"])
        assert [n for n, _ in received] == ["pre", "merged"]
        pre, merged = received[0][1], received[1][1]
        assert pre["keeper"] == world["keeper"]
        assert {d.pk for d in pre["duplicates"]} == {world["dup1"].pk, world["dup2"].pk}
        assert merged["merge_log"] == log and merged["group"].pk == world["group"].pk
        with django_capture_on_commit_callbacks(execute=True):
            undo_merge(log)
        assert received[-1][0] == "undone" and received[-1][1]["merge_log"].pk == log.pk
        with django_capture_on_commit_callbacks(execute=True):
            dismiss_group(world["group"])
        assert received[-1][0] == "dismissed"
    finally:
        for signal, name in pairs:
            signal.disconnect(handlers[name])


def test_dismiss_records_every_pair(world, django_user_model):
    user = django_user_model.objects.create_user("u")
    dismiss_group(world["group"], user=user)
    group = DuplicateGroup.objects.get(pk=world["group"].pk)
    assert group.status == DuplicateGroup.Status.DISMISSED and group.resolved_by == user
    refs = sorted(m.ref for m in group.members.all())
    assert sorted(DismissedPair.objects.values_list("ref_a", "ref_b")) == [
        (refs[0], refs[1]),
        (refs[0], refs[2]),
        (refs[1], refs[2]),
    ]


def test_merge_handler_is_pluggable():
    assert get_merge_handler() is merge_group
    with override_settings(IMAGEX_DEDUP={"MERGE_HANDLER": "tests.review.test_merge.snapshot"}):
        assert get_merge_handler() is snapshot


def test_members_of_different_models_refuse(world):
    group = world["group"]
    member = group.members.first()
    member.content_type = ContentType.objects.get_for_model(Album)
    member.object_id = str(world["album"].pk)
    member.save()
    with pytest.raises(MergeConflict, match="different models"):
        merge_group(group)


def test_undo_refuses_when_a_dropped_links_other_side_is_gone(world):
    log = merge_group(world["group"])
    album2 = world["album2"]
    album2.photos.clear()
    Album.objects.filter(pk=world["album"].pk).delete()
    before = snapshot()
    with pytest.raises(MergeConflict) as exc:
        undo_merge(log)
    assert f"testapp.Album {world['album'].pk} was deleted" in str(exc.value)
    assert "testapp.Album_photos" in str(exc.value)
    assert snapshot() == before


def test_uuid_keys_merge_and_undo(django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    from tests.support.review import encode
    from tests.testapp.models import UUIDPhoto

    photos = []
    for width in (400, 200):
        photo = UUIDPhoto()
        photo.image.save(f"u{width}.jpg", ContentFile(encode("flower.jpg", width)), save=True)
        photos.append(photo)
    keeper, dup = photos
    comment = Comment.objects.create(target=dup, text="on a uuid photo")
    group = DuplicateGroup.objects.create(similarity=0.84)
    ct = ContentType.objects.get_for_model(UUIDPhoto)
    for photo in photos:
        DuplicateGroupMember.objects.create(
            group=group, content_type=ct, object_id=str(photo.pk), field_name="image"
        )
    log = merge_group(group, group.members.get(object_id=str(keeper.pk)))
    comment.refresh_from_db()
    assert comment.object_id == str(keeper.pk)
    assert list(UUIDPhoto.objects.values_list("pk", flat=True)) == [keeper.pk]
    with django_capture_on_commit_callbacks(execute=False):
        undo_merge(log)
    comment.refresh_from_db()
    assert comment.object_id == str(dup.pk)
    assert UUIDPhoto.objects.get(pk=dup.pk).image.name == dup.image.name


def plan_summary(plan):
    refs = sorted(
        (r.model._meta.label, r.field, r.kind, sorted(r.moves), sorted(r.drops))
        for r in plan.references
    )
    return (plan.keeper.pk, sorted(d.pk for d in plan.duplicates), refs, sorted(plan.conflicts))


def test_plan_merges_in_bulk_equals_one_by_one(world):
    """The batched planner (bulk dry runs) finds what plan_merge finds for each group."""
    # A second group with a unique-constraint conflict, a third that is not open.
    a, b = make_photo("a", width=400), make_photo("b", width=300)
    Tagging.objects.create(photo=a, tag="x")
    Tagging.objects.create(photo=b, tag="x")
    Album.objects.create(name="both", cover=b).photos.set([a, b])
    conflicting = make_group(a, b)
    closed = make_group(make_photo("c", width=200), make_photo("d", width=100))
    dismiss_group(closed)
    groups = [world["group"], conflicting, DuplicateGroup.objects.get(pk=closed.pk)]
    bulk = dict(plan_merges(groups, chunk=2))
    assert plan_summary(bulk[world["group"]]) == plan_summary(plan_merge(world["group"]))
    assert plan_summary(bulk[conflicting]) == plan_summary(plan_merge(conflicting))
    assert bulk[conflicting].conflicts and bulk[conflicting].dropped_count == 1
    assert isinstance(bulk[groups[2]], MergeConflict)


def test_a_recheck_relinks_members_whose_record_was_made_again(world):
    """A member whose fingerprint record was deleted and made again (a re-check) gets its sizes
    back: join() points it at the current record instead of only adding missing members."""
    group = world["group"]
    dup1 = world["dup1"]
    ImageFingerprint.objects.filter(object_id=str(dup1.pk)).delete()
    member = group.members.get(object_id=str(dup1.pk))
    assert member.fingerprint_id is None
    record = store_fingerprint(dup1, "image")
    refs = [m.ref for m in group.members.all()]
    assert join(refs, similarity=0.84, backend="local") == group
    member.refresh_from_db()
    assert member.fingerprint_id == record.pk
    assert choose_keeper(group).object_id == str(world["keeper"].pk)
