"""The review admin with real images: pages render, actions work, and every action and view
checks permissions."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from imagex_dedup.admin.host import (
    DuplicatesAdminMixin,
    check_for_duplicates,
    install_host_actions,
)
from imagex_dedup.models import (
    AccessKey,
    DetectionService,
    DetectionTask,
    DismissedPair,
    DuplicateGroup,
    MergeLog,
)
from imagex_dedup.review.thumbnails import thumbnail_url
from tests.support.review import make_group, make_photo
from tests.testapp.models import Album, Photo, Print

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:imagex_dedup_duplicategroup_changelist")


@pytest.fixture
def group():
    keeper = make_photo("keeper", width=480)
    dup = make_photo("dup", width=300)
    Album.objects.create(name="a", cover=dup)
    Print.objects.create(photo=dup, size="A3")
    return make_group(dup, keeper, scores=(1.0, 0.93))


def login(client, users, name):
    if users[name] is not None:
        client.force_login(users[name])
    return client


def change_url(group):
    return reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])


def merge_url(group):
    return reverse("admin:imagex_dedup_duplicategroup_merge", args=[group.pk])


def status(group):
    return DuplicateGroup.objects.get(pk=group.pk).status


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_shows_thumbnails_counts_and_filters(client, users, group):
    other = make_group(make_photo("x", "test-card.png"), make_photo("y", "test-card.png", 200))
    other.status = DuplicateGroup.Status.DISMISSED
    other.save()
    response = login(client, users, "viewer").get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    for member in group.members.all():
        assert thumbnail_url(member) in html
    assert "0.930" in html  # best score
    assert re.search(r'class="field-member_count">2<', html)
    response = client.get(CHANGELIST, {"status__exact": "open"})
    assert response.context["cl"].result_count == 1
    ct_id = group.members.first().content_type_id
    response = client.get(CHANGELIST, {"model": ct_id})
    assert response.context["cl"].result_count == 2
    response = client.get(CHANGELIST, {"model": ct_id + 1000})
    assert response.context["cl"].result_count == 0


def cached_thumbnails() -> int:
    if not default_storage.exists("imagex_dedup/thumbs"):
        return 0
    dirs = default_storage.listdir("imagex_dedup/thumbs")[0]
    return sum(len(default_storage.listdir(f"imagex_dedup/thumbs/{d}")[1]) for d in dirs)


def test_thumbnail_view_makes_bounded_cached_jpeg(client, users, group):
    member = group.members.order_by("pk").first()
    before = cached_thumbnails()  # the media folder is shared by the run's tests
    response = login(client, users, "viewer").get(thumbnail_url(member))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as im:
        assert im.format == "JPEG" and max(im.size) == 240
    preview = client.get(thumbnail_url(member, "preview"))
    with Image.open(io.BytesIO(b"".join(preview.streaming_content))) as im:
        assert max(im.size) == 300  # never upscaled beyond the source (300 px wide)
    assert cached_thumbnails() == before + 2
    client.get(thumbnail_url(member))  # served from the cache, nothing new stored
    assert cached_thumbnails() == before + 2
    assert client.get(thumbnail_url(member) + "x").status_code == 404


@pytest.mark.parametrize(
    "who,code", [("anonymous", 403), ("staff", 403), ("viewer", 200), ("superuser", 200)]
)
def test_thumbnail_view_permissions(client, users, group, who, code):
    member = group.members.first()
    assert login(client, users, who).get(thumbnail_url(member)).status_code == code


def test_review_page_shows_members_large_with_facts(client, users, group):
    response = login(client, users, "merger").get(change_url(group))
    assert response.status_code == 200
    html = response.content.decode()
    for member in group.members.select_related("fingerprint"):
        fp = member.fingerprint
        assert thumbnail_url(member, "preview") in html
        assert f"{fp.width} \N{MULTIPLICATION SIGN} {fp.height}" in html
    assert "JPEG" in html and '<td class="imagex-score">0.930</td>' in html
    # Where the duplicate is used: each relation named, counted, its objects linked.
    album, print_ = Album.objects.get(), Print.objects.get()
    assert "Used in 2 places:" in html
    assert "Album · cover" in html and "Print · photo" in html
    assert str(album) in html and str(print_) in html
    assert "Not used anywhere else." in html  # the keeper
    assert "Keep this one" in html and "Not duplicates" in html and "Re-check" in html
    keeper = response.context["review"].keeper
    assert keeper.object_id == str(Photo.objects.get(title="keeper").pk)
    # A viewer sees the page without the buttons.
    response = login(client, users, "viewer").get(change_url(group))
    assert response.status_code == 200
    assert "Keep this one" not in response.content.decode()
    assert "Not duplicates" not in response.content.decode()


@pytest.mark.parametrize(
    "who,code", [("anonymous", 302), ("staff", 403), ("viewer", 200), ("superuser", 200)]
)
def test_review_page_permissions(client, users, group, who, code):
    assert login(client, users, who).get(change_url(group)).status_code == code


def test_merge_action_confirmation_then_merge(client, users, group):
    login(client, users, "merger")
    data = {"action": "merge_groups", "_selected_action": [group.pk]}
    response = client.post(CHANGELIST, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Merge duplicates: are you sure?" in html
    assert "Album · cover" in html and "Print · photo" in html
    assert '<strong class="imagex-keeper">keeper</strong>' in html
    assert '<span class="imagex-duplicate">dup</span>' in html
    assert "2 references move to the keeper; 1 object is deleted." in html
    assert html.count('class="imagex-thumb"') == 2
    assert status(group) == "open"  # nothing happened yet
    response = client.post(CHANGELIST, {**data, "post": "yes"})
    assert response.status_code == 302
    assert status(group) == "merged"
    keeper = Photo.objects.get(title="keeper")
    assert Album.objects.get().cover == keeper and Print.objects.get().photo == keeper
    assert not Photo.objects.filter(title="dup").exists()
    assert MergeLog.objects.get().performed_by == users["merger"]
    # The changelist shows the merged group with the keeper's thumbnail only.
    html = client.get(CHANGELIST).content.decode()
    members = {m.object_id: m for m in group.members.all()}
    assert thumbnail_url(members[str(keeper.pk)]) in html
    assert len([m for m in members.values() if thumbnail_url(m) in html]) == 1


def test_keep_this_one(client, users, group):
    dup_member = group.members.get(object_id=str(Photo.objects.get(title="dup").pk))
    login(client, users, "merger")
    response = client.get(merge_url(group), {"keeper": dup_member.pk})
    assert response.status_code == 200
    assert f'name="keeper" value="{dup_member.pk}"' in response.content.decode()
    response = client.post(merge_url(group), {"keeper": dup_member.pk, "post": "yes"})
    assert response.status_code == 302 and response["Location"] == change_url(group)
    assert list(Photo.objects.values_list("title", flat=True)) == ["dup"]
    page = client.get(change_url(group)).content.decode()
    assert "Merged: one object kept, 1 removed" in page and "Merge log #" in page


def test_conflict_shown_on_confirmation_and_not_merged(client, users, group):
    from tests.testapp.models import Profile

    Profile.objects.create(name="a", avatar=Photo.objects.get(title="keeper"))
    Profile.objects.create(name="b", avatar=Photo.objects.get(title="dup"))
    login(client, users, "merger")
    response = client.get(merge_url(group))
    html = response.content.decode()
    assert "This group cannot be merged" in html and "Profile.avatar_id (one-to-one)" in html
    assert 'value="Yes, merge"' not in html
    response = client.post(merge_url(group), {"post": "yes"})
    assert status(group) == "open"
    assert any("was not merged" in m for m in messages_of(response))


@pytest.mark.parametrize("who", ["anonymous", "staff", "viewer", "changer"])
def test_merge_refused_without_permission(client, users, group, who):
    response = login(client, users, who).post(merge_url(group), {"post": "yes"})
    assert response.status_code in (302, 403)
    if who != "anonymous":
        assert response.status_code == 403
    assert status(group) == "open" and Photo.objects.count() == 2


def test_merge_needs_delete_permission_on_host_model(client, users, group):
    users["merger"].user_permissions.remove(
        *users["merger"].user_permissions.filter(codename="delete_photo")
    )
    response = login(client, users, "merger").post(merge_url(group), {"post": "yes"})
    assert response.status_code == 403 and status(group) == "open"


@pytest.mark.parametrize(
    "who,allowed", [("anonymous", False), ("staff", False), ("viewer", False), ("changer", True)]
)
def test_dismiss_button(client, users, group, who, allowed):
    url = reverse("admin:imagex_dedup_duplicategroup_dismiss", args=[group.pk])
    assert login(client, users, who).get(url).status_code in (302, 403)  # POST only
    client.post(url)
    assert status(group) == ("dismissed" if allowed else "open")
    assert DismissedPair.objects.count() == (1 if allowed else 0)


@pytest.mark.parametrize("who,allowed", [("viewer", False), ("changer", True), ("superuser", True)])
def test_recheck_button(client, users, group, who, allowed, django_capture_on_commit_callbacks):
    login(client, users, who)
    url = reverse("admin:imagex_dedup_duplicategroup_recheck", args=[group.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url)
    assert len(callbacks) == (2 if allowed else 0)
    assert response.status_code == (302 if allowed else 403)


def test_undo_action(client, users, group):
    login(client, users, "merger").post(merge_url(group), {"post": "yes"})
    log = MergeLog.objects.get()
    url = reverse("admin:imagex_dedup_mergelog_changelist")
    login(client, users, "viewer").post(
        url, {"action": "undo_merges", "_selected_action": [log.pk]}
    )
    assert status(group) == "merged"
    response = login(client, users, "merger").post(
        url, {"action": "undo_merges", "_selected_action": [log.pk]}
    )
    assert any("undone" in m for m in messages_of(response))
    assert status(group) == "open" and Photo.objects.count() == 2
    assert Album.objects.get().cover.title == "dup"
    assert (
        client.get(reverse("admin:imagex_dedup_mergelog_change", args=[log.pk])).status_code == 200
    )


def test_result_admins_are_read_only(client, users, group):
    login(client, users, "superuser")
    DetectionTask.objects.create(kind="check")
    for name in ("imagefingerprint", "detectiontask", "usagerecord", "mergelog", "duplicategroup"):
        assert client.get(reverse(f"admin:imagex_dedup_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:imagex_dedup_{name}_add")).status_code == 403
    task = DetectionTask.objects.get()
    assert (
        client.get(reverse("admin:imagex_dedup_detectiontask_change", args=[task.pk])).status_code
        == 200
    )


def test_access_key_secret_shown_once_then_masked(client, users):
    service = DetectionService.objects.create(service_id="svc")
    login(client, users, "superuser")
    add = reverse("admin:imagex_dedup_accesskey_add")
    response = client.post(
        add, {"service": service.pk, "access_key_id": "AKTEST", "is_active": "on"}, follow=True
    )
    key = AccessKey.objects.get()
    assert len(key.secret_access_key) >= 32
    page = response.content.decode()
    assert key.secret_access_key in page  # once, right after creation
    listing = client.get(reverse("admin:imagex_dedup_accesskey_changelist")).content.decode()
    assert key.secret_access_key not in listing and f"••••{key.secret_access_key[-4:]}" in listing
    detail = client.get(
        reverse("admin:imagex_dedup_accesskey_change", args=[key.pk])
    ).content.decode()
    assert key.secret_access_key not in detail


def test_service_callback_secret_kept_when_left_empty(client, users):
    login(client, users, "superuser")
    client.post(
        reverse("admin:imagex_dedup_detectionservice_add"),
        {
            "service_id": "svc",
            "default_similarity": "0.84",
            "allowed_url_hosts": "[]",
            "is_active": "on",
        },
    )
    service = DetectionService.objects.get()
    secret = service.callback_secret
    assert len(secret) >= 32
    client.post(
        reverse("admin:imagex_dedup_detectionservice_change", args=[service.pk]),
        {
            "service_id": "svc",
            "name": "renamed",
            "default_similarity": "0.84",
            "allowed_url_hosts": "[]",
        },
    )
    service.refresh_from_db()
    assert service.name == "renamed" and service.callback_secret == secret


class PhotoAdmin(admin.ModelAdmin):
    actions = ["delete_selected"]


class MixinPhotoAdmin(DuplicatesAdminMixin, admin.ModelAdmin):
    list_display = ["title", "duplicate_groups"]


def test_install_host_actions_adds_the_check_action():
    site = admin.AdminSite(name="hosttest")
    site.register(Photo, PhotoAdmin)
    site.register(Album)
    install_host_actions(site)
    install_host_actions(site)  # idempotent
    assert list(site.get_model_admin(Photo).actions) == ["delete_selected", check_for_duplicates]
    assert check_for_duplicates not in (site.get_model_admin(Album).actions or ())


def test_check_action_queues_a_check_per_object(rf, users, django_capture_on_commit_callbacks):
    photos = [make_photo("a"), make_photo("b")]
    model_admin = MixinPhotoAdmin(Photo, admin.site)
    request = rf.post("/")
    request.user = users["superuser"]
    request.session = {}
    request._messages = FallbackStorage(request)
    assert "check_for_duplicates" in model_admin.get_actions(request)
    with django_capture_on_commit_callbacks() as callbacks:
        check_for_duplicates(
            model_admin, request, Photo.objects.filter(pk__in=[p.pk for p in photos])
        )
    assert len(callbacks) == 2
    request.user = users["viewer"]
    assert "check_for_duplicates" not in model_admin.get_actions(request)


def test_duplicates_column_links_to_the_objects_groups(client, users, group):
    dup = Photo.objects.get(title="dup")
    html = MixinPhotoAdmin(Photo, admin.site).duplicate_groups(dup)
    url = re.search(r"href='([^']+)'", html).group(1)
    response = login(client, users, "superuser").get(url)
    assert response.context["cl"].result_count == 1
    assert MixinPhotoAdmin(Photo, admin.site).duplicate_groups(make_photo("lonely")) == "-"


@override_settings(IMAGEX_DEDUP={"MERGE_DELETE_DUPLICATES": False})
def test_keeping_duplicates_needs_no_delete_permission(client, users, group):
    users["merger"].user_permissions.remove(
        *users["merger"].user_permissions.filter(codename="delete_photo")
    )
    login(client, users, "merger").post(merge_url(group), {"post": "yes"})
    assert status(group) == "merged" and Photo.objects.count() == 2


def test_signals_fire_for_admin_operations(
    client, users, group, django_capture_on_commit_callbacks
):
    from imagex_dedup import signals

    received = []

    def on_signal(signal, sender, **kwargs):
        received.append((signal, kwargs["group"].pk, kwargs["user"]))

    signals.group_merged.connect(on_signal)
    signals.group_dismissed.connect(on_signal)
    try:
        login(client, users, "merger")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(merge_url(group), {"post": "yes"})
        other = make_group(make_photo("p", "test-card.png"), make_photo("q", "test-card.png", 200))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(CHANGELIST, {"action": "dismiss_groups", "_selected_action": [other.pk]})
    finally:
        signals.group_merged.disconnect(on_signal)
        signals.group_dismissed.disconnect(on_signal)
    assert received == [
        (signals.group_merged, group.pk, users["merger"]),
        (signals.group_dismissed, other.pk, users["merger"]),
    ]


ALL_USERS = ["anonymous", "staff", "viewer", "changer", "merger", "superuser"]
ACTIONS = {
    # action: (users allowed, effect check)
    "merge_groups": ({"merger", "superuser"}, lambda g: status(g) == "merged"),
    "dismiss_groups": ({"changer", "merger", "superuser"}, lambda g: status(g) == "dismissed"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("who", ALL_USERS)
def test_group_action_permissions(client, users, group, action, who):
    allowed, done = ACTIONS[action]
    login(client, users, who)
    data = {"action": action, "_selected_action": [group.pk], "post": "yes"}
    response = client.post(CHANGELIST, data)
    if who == "anonymous":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif who == "staff":
        assert response.status_code == 403
    assert done(group) is (who in allowed)
    if who not in allowed:
        assert status(group) == "open" and Photo.objects.count() == 2


@pytest.mark.parametrize("who", ALL_USERS)
def test_recheck_action_permissions(client, users, group, who, django_capture_on_commit_callbacks):
    login(client, users, who)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(CHANGELIST, {"action": "recheck_groups", "_selected_action": [group.pk]})
    assert len(callbacks) == (2 if who in {"changer", "merger", "superuser"} else 0)


@pytest.mark.parametrize("who", ALL_USERS)
def test_undo_action_permissions(client, users, group, who):
    login(client, users, "superuser").post(merge_url(group), {"post": "yes"})
    client.logout()
    log = MergeLog.objects.get()
    login(client, users, who).post(
        reverse("admin:imagex_dedup_mergelog_changelist"),
        {"action": "undo_merges", "_selected_action": [log.pk]},
    )
    assert status(group) == ("open" if who in {"merger", "superuser"} else "merged")
