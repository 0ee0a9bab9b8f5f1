"""The review REST API: listing, filtering, merge/dismiss/re-check, merge logs and undo, checks of
uploads and URLs, task status, the OpenAPI schema; permissions on every endpoint."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from imagex_dedup.models import DetectionTask, DuplicateGroup, DuplicateGroupMember, MergeLog
from tests.conftest import PHOTOS_DIR
from tests.review.records import member_details
from tests.support.records import store_fingerprint
from tests.support.review import encode, make_group, make_photo
from tests.testapp.models import Album, Photo, Product, Profile

pytestmark = pytest.mark.django_db

GROUPS = reverse("imagex_dedup:api-group-list")
LOGS = reverse("imagex_dedup:api-mergelog-list")
CHECK = reverse("imagex_dedup:api-check")


def group_url(group, action=None):
    if action is None:
        return reverse("imagex_dedup:api-group-detail", args=[group.pk])
    return reverse(f"imagex_dedup:api-group-{action}", args=[group.pk])


@pytest.fixture
def group():
    keeper = make_photo("keeper", width=480)
    dup = make_photo("dup", width=300)
    Album.objects.create(name="a", cover=dup)
    return make_group(dup, keeper, scores=(1.0, 0.91))


def api(users, who):
    client = APIClient()
    if users[who] is not None:
        client.force_authenticate(users[who])
    return client


def status_of(group):
    return DuplicateGroup.objects.get(pk=group.pk).status


# --- permissions table ------------------------------------------------------------------------

ENDPOINTS = [
    # (method, url builder, allowed users)
    ("get", lambda g: GROUPS, {"viewer", "changer", "merger", "superuser"}),
    ("get", lambda g: group_url(g), {"viewer", "changer", "merger", "superuser"}),
    ("post", lambda g: group_url(g, "recheck"), {"changer", "merger", "superuser"}),
    ("post", lambda g: group_url(g, "dismiss"), {"changer", "merger", "superuser"}),
    ("post", lambda g: group_url(g, "merge"), {"merger", "superuser"}),
    ("get", lambda g: LOGS, {"viewer", "merger", "superuser"}),
]


@pytest.mark.parametrize("method,url,allowed", ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous", "staff", "viewer", "changer", "merger", "superuser"])
def test_permissions(users, group, method, url, allowed, who):
    response = getattr(api(users, who), method)(url(group), format="json")
    if who in allowed:
        assert response.status_code in (200, 202), response.content
    else:
        assert response.status_code == 403
        assert status_of(group) == "open" and Photo.objects.count() == 2


@pytest.mark.parametrize("who", ["anonymous", "staff", "viewer", "changer"])
def test_undo_permission(users, group, who):
    log = api(users, "merger").post(group_url(group, "merge"), format="json").json()
    url = reverse("imagex_dedup:api-mergelog-undo", args=[log["id"]])
    assert api(users, who).post(url).status_code in (403, 404)
    assert status_of(group) == "merged"


def test_check_needs_authentication(users):
    assert (
        api(users, "anonymous").post(CHECK, {"urls": ["http://x"]}, format="json").status_code
        == 403
    )


# --- groups -----------------------------------------------------------------------------------


def test_list_filters_and_paginates(users):
    photos = [make_photo(f"p{i}", width=200 + i) for i in range(6)]
    groups = [make_group(photos[i], photos[i + 1]) for i in range(0, 6, 2)]
    groups[0].status = DuplicateGroup.Status.DISMISSED
    groups[0].save()
    client = api(users, "viewer")
    body = client.get(GROUPS, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert body["results"][0]["member_count"] == 2
    assert {g["id"] for g in client.get(GROUPS, {"status": "open"}).json()["results"]} == {
        groups[1].pk,
        groups[2].pk,
    }
    assert client.get(GROUPS, {"content_type": "testapp.photo"}).json()["count"] == 3
    ct = ContentType.objects.get_for_model(Photo)
    assert client.get(GROUPS, {"content_type": str(ct.pk)}).json()["count"] == 3
    assert client.get(GROUPS, {"content_type": "testapp.album"}).json()["count"] == 0


def test_list_hides_groups_of_models_the_user_cannot_view(users, group):
    product = Product(name="mug")
    product.main_image.save("mug.jpg", ContentFile(encode("flower.jpg", 200)), save=True)
    other = make_group(make_photo("x"))
    DuplicateGroupMember.objects.create(
        group=other,
        content_type=ContentType.objects.get_for_model(Product),
        object_id=str(product.pk),
        field_name="main_image",
    )
    assert {g["id"] for g in api(users, "viewer").get(GROUPS).json()["results"]} == {group.pk}
    assert api(users, "viewer").get(group_url(other)).status_code == 404
    assert api(users, "superuser").get(GROUPS).json()["count"] == 2


def test_retrieve_has_members_with_thumbnails_sizes_and_scores(users, group):
    body = api(users, "viewer").get(group_url(group)).json()
    keeper = Photo.objects.get(title="keeper")
    assert body["status"] == "open" and body["best_score"] == pytest.approx(0.91)
    members = {m["object_id"]: m for m in body["members"]}
    member = members[str(keeper.pk)]
    assert body["keeper"] == member["id"]
    assert (member["width"], member["format"], member["score"]) == (480, "JPEG", 0.91)
    assert member["byte_size"] == keeper.image.size
    assert member["thumbnail_url"].endswith(f"/imagex/api/members/{member['id']}/image/")
    assert member["preview_url"].endswith("?size=preview")
    assert member["content_type"] == "testapp.photo" and member["exists"] is True
    assert member["used_in"] == []
    dup = members[str(Photo.objects.get(title="dup").pk)]
    assert dup["used_in"] == [{"relation": "Album · cover", "count": 1}]


def test_images_answer_to_the_apis_own_authentication(users, group):
    """Basic auth (no login session) fetches the URLs the API hands out."""
    member = api(users, "viewer").get(group_url(group)).json()["members"][0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"viewer:pw").decode())
    response = client.get(member["thumbnail_url"], HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as im:
        assert max(im.size) == 240
    response = client.get(member["preview_url"])
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as im:
        assert max(im.size) == 300
    assert client.get(member["thumbnail_url"] + "?size=huge").status_code == 404
    for who, code in [("anonymous", 403), ("staff", 403), ("changer", 200)]:
        assert api(users, who).get(member["thumbnail_url"]).status_code == code
    # A user who may not view the host model does not learn the member exists.
    users["viewer"].user_permissions.remove(
        *users["viewer"].user_permissions.filter(codename="view_photo")
    )
    assert client.get(member["thumbnail_url"]).status_code == 404


def test_unknown_status_is_a_400(users, group):
    response = api(users, "viewer").get(GROUPS, {"status": "bogus"})
    assert response.status_code == 400 and "open, merged, dismissed" in response.json()["status"]
    assert api(users, "viewer").get(GROUPS, {"status": "open"}).json()["count"] == 1


def test_merge_and_undo_restore_every_member_field(users, group):
    """After merge + undo, GET groups/<id>/ and the database show every member as before."""
    client = api(users, "merger")
    for photo in Photo.objects.all():
        store_fingerprint(photo, "image")
    before_api = client.get(group_url(group)).json()
    before_db = member_details()
    log_id = client.post(group_url(group, "merge")).json()["id"]
    merged = client.get(group_url(group)).json()
    assert merged["status"] == "merged"
    gone = next(m for m in merged["members"] if not m["exists"])
    assert gone["width"] == 300 and gone["format"] == "JPEG"  # shown from the merge log
    undo = reverse("imagex_dedup:api-mergelog-undo", args=[log_id])
    assert client.post(undo).status_code == 200
    after_api = client.get(group_url(group)).json()
    assert after_api["members"] == before_api["members"]
    assert after_api["keeper"] == before_api["keeper"]
    assert member_details() == before_db


def test_merge_with_keeper_and_conflicts(users, group):
    client = api(users, "merger")
    dup = Photo.objects.get(title="dup")
    dup_member = group.members.get(object_id=str(dup.pk))
    assert (
        client.post(group_url(group, "merge"), {"keeper": 999999}, format="json").status_code == 400
    )
    Profile.objects.create(name="a", avatar=dup)
    Profile.objects.create(name="b", avatar=Photo.objects.get(title="keeper"))
    response = client.post(group_url(group, "merge"), {"keeper": dup_member.pk}, format="json")
    assert response.status_code == 409
    problem = response.json()["problems"][0]
    assert "Profile.avatar_id (one-to-one)" in problem
    # The keeper is named by its member id, the id the request used; the object pk is labelled.
    assert f"onto the keeper (member {dup_member.pk}, testapp.Photo pk {dup.pk})" in problem
    assert status_of(group) == "open" and Photo.objects.count() == 2
    Profile.objects.filter(name="b").delete()
    response = client.post(group_url(group, "merge"), {"keeper": dup_member.pk}, format="json")
    assert response.status_code == 200
    log = response.json()
    assert log["keeper"] == {"content_type": "testapp.photo", "object_id": str(dup.pk)}
    assert log["performed_by"] == "merger" and log["deleted_duplicates"] is True
    assert list(Photo.objects.values_list("title", flat=True)) == ["dup"]
    assert client.post(group_url(group, "merge"), format="json").status_code == 409


def test_merge_handler_hook(users, group):
    calls = []

    from imagex_dedup.api.views import DuplicateGroupViewSet

    original = DuplicateGroupViewSet.get_merge_handler

    def recording(self):
        handler = original(self)

        def wrapper(*args, **kwargs):
            calls.append(args[0].pk)
            return handler(*args, **kwargs)

        return wrapper

    DuplicateGroupViewSet.get_merge_handler = recording
    try:
        assert api(users, "merger").post(group_url(group, "merge")).status_code == 200
    finally:
        DuplicateGroupViewSet.get_merge_handler = original
    assert calls == [group.pk]


def test_dismiss_and_recheck(users, group, django_capture_on_commit_callbacks):
    client = api(users, "changer")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(group_url(group, "recheck"))
    assert response.status_code == 202 and response.json() == {"enqueued": 2}
    assert len(callbacks) == 2
    response = client.post(group_url(group, "dismiss"))
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert client.post(group_url(group, "dismiss")).status_code == 409


def test_merge_logs_and_undo(users, group):
    client = api(users, "merger")
    log_id = client.post(group_url(group, "merge")).json()["id"]
    logs = api(users, "viewer").get(LOGS).json()
    assert [entry["id"] for entry in logs["results"]] == [log_id]
    assert logs["results"][0]["changes"][0]["field"] == "cover_id"
    undo = reverse("imagex_dedup:api-mergelog-undo", args=[log_id])
    response = client.post(undo)
    assert response.status_code == 200 and response.json()["undone_at"]
    assert Album.objects.get().cover.title == "dup" and status_of(group) == "open"
    response = client.post(undo)
    assert response.status_code == 409 and "already undone" in response.json()["detail"]
    assert MergeLog.objects.get().undone_by == users["merger"]


# --- checks -------------------------------------------------------------------------------------


def test_check_uploaded_files(users):
    files = [
        SimpleUploadedFile("a.jpg", encode("flower.jpg", 480), "image/jpeg"),
        SimpleUploadedFile("b.png", encode("flower.jpg", 240, "PNG"), "image/png"),
    ]
    response = api(users, "staff").post(CHECK, {"files": files}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["groups"] == [[0, 1]] and body["score"] > 0.84
    assert [(i["source"], i["width"], i["format"]) for i in body["images"]] == [
        ("a.jpg", 480, "JPEG"),
        ("b.png", 240, "PNG"),
    ]
    assert all(i["matches"] == [] for i in body["images"])  # no library access without review perms


def test_check_different_images_and_limits(users):
    client = api(users, "staff")
    files = [
        SimpleUploadedFile("a.jpg", encode("flower.jpg", 300), "image/jpeg"),
        SimpleUploadedFile("b.jpg", encode("test-card.png", 300), "image/jpeg"),
    ]
    body = client.post(CHECK, {"files": files}, format="multipart").json()
    assert body["groups"] == [] and body["score"] < 0.84
    with override_settings(IMAGEX_DEDUP={"API_CHECK_MAX_IMAGES": 1}):
        files = [SimpleUploadedFile(f"{i}.jpg", encode("flower.jpg", 100)) for i in range(2)]
        response = client.post(CHECK, {"files": files}, format="multipart")
        assert response.status_code == 400 and "At most 1" in str(response.json())
    assert client.post(CHECK, {}, format="json").status_code == 400


@pytest.fixture
def photo_server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(PHOTOS_DIR))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_check_urls_refuses_loopback_by_default(users, photo_server):
    urls = [f"{photo_server}/flower.jpg", f"{photo_server}/flower2.jpg"]
    body = api(users, "staff").post(CHECK, {"urls": urls}, format="json").json()
    assert [i["error"]["code"] for i in body["images"]] == ["unsafe_url", "unsafe_url"]
    assert body["groups"] == []


def test_check_urls_with_library_matches(users, photo_server):
    stored = make_photo("stored", width=480)
    from tests.support.records import store_fingerprint

    store_fingerprint(stored, "image")
    urls = [f"{photo_server}/flower.jpg", f"{photo_server}/test-card.png"]
    with override_settings(IMAGEX_DEDUP={"FETCH_ALLOW_PRIVATE": True}):
        body = api(users, "viewer").post(CHECK, {"urls": urls}, format="json").json()
    assert body["groups"] == [] and "score" in body
    flower, card = body["images"]
    assert (flower["width"], flower["format"], flower["error"]) == (480, "JPEG", None)
    assert [(m["object_id"], m["content_type"]) for m in flower["matches"]] == [
        (str(stored.pk), "testapp.photo")
    ]
    assert card["matches"] == []
    # A reviewer who may not view photos gets no photo matches.
    viewer = type(users["viewer"]).objects.get(pk=users["viewer"].pk)  # no cached perms
    viewer.user_permissions.remove(*viewer.user_permissions.filter(codename="view_photo"))
    with override_settings(IMAGEX_DEDUP={"FETCH_ALLOW_PRIVATE": True}):
        body = api({"viewer": viewer}, "viewer").post(CHECK, {"urls": urls}, format="json").json()
    assert body["images"][0]["width"] == 480 and body["images"][0]["matches"] == []


# --- tasks and schema -----------------------------------------------------------------------------


def test_task_status_owner_or_staff(users, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    task = DetectionTask.objects.create(kind="check", created_by=owner, result={"Groups": {}})
    url = reverse("imagex_dedup:api-task", args=[task.task_id])
    client = APIClient()
    assert client.get(url).status_code == 403
    client.force_authenticate(owner)
    body = client.get(url).json()
    assert (
        body["status"] == "running" and body["status_code"] == 0 and body["task_id"] == task.task_id
    )
    other = django_user_model.objects.create_user("other")
    client.force_authenticate(other)
    assert client.get(url).status_code == 404
    assert api(users, "staff").get(url).status_code == 200


def test_openapi_schema_and_docs(users):
    client = APIClient()
    response = client.get(reverse("imagex_dedup:api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/imagex/api/groups/",
        "/imagex/api/groups/{id}/merge/",
        "/imagex/api/groups/{id}/dismiss/",
        "/imagex/api/groups/{id}/recheck/",
        "/imagex/api/merge-logs/{id}/undo/",
        "/imagex/api/check/",
        "/imagex/api/tasks/{task_id}/",
    ):
        assert path in paths
    merge = paths["/imagex/api/groups/{id}/merge/"]["post"]
    assert "409" in merge["responses"]
    assert client.get(reverse("imagex_dedup:api-docs")).status_code == 200


def test_signals_fire_for_rest_operations(users, group, django_capture_on_commit_callbacks):
    from imagex_dedup import signals

    received = []

    def on_signal(signal, sender, **kwargs):
        received.append((signal, kwargs["user"]))

    for signal in (signals.pre_merge, signals.group_merged, signals.merge_undone):
        signal.connect(on_signal)
    try:
        client = api(users, "merger")
        with django_capture_on_commit_callbacks(execute=True):
            log = client.post(group_url(group, "merge")).json()
            client.post(reverse("imagex_dedup:api-mergelog-undo", args=[log["id"]]))
    finally:
        for signal in (signals.pre_merge, signals.group_merged, signals.merge_undone):
            signal.disconnect(on_signal)
    assert received == [
        (signals.pre_merge, users["merger"]),
        (signals.group_merged, users["merger"]),
        (signals.merge_undone, users["merger"]),
    ]
