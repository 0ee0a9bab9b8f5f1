"""The review page, the confirmation pages and the merge log pages read as people need them:
where each image is used, what differs, what a merge changed, and a way back."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from imagex_dedup.models import DuplicateGroup, MergeLog
from tests.review.records import member_details
from tests.support.records import store_fingerprint
from tests.support.review import make_group, make_photo
from tests.testapp.models import Album, Photo, Print

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(settings):
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "ENABLED": False}
    keeper = make_photo("Mountains, original", width=480)
    dup = make_photo("Mountains, small copy", width=300)
    for photo in (keeper, dup):
        store_fingerprint(photo, "image")
    mountains = Album.objects.create(name="Mountains", cover=dup)
    mountains.photos.set([keeper, dup])
    for n in range(12):
        Album.objects.create(name=f"Trip {n}").photos.add(dup)
    Print.objects.create(photo=dup, size="A3")
    return make_group(dup, keeper, scores=(1.0, 0.93))


def member_of(group, title):
    return group.members.get(object_id=str(Photo.objects.get(title=title).pk))


def change_url(group):
    return reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@override_settings(ROOT_URLCONF="tests.admin.host_urls")
def test_review_page_names_and_links_where_each_image_is_used(client, users, group):
    client.force_login(users["superuser"])
    html = client.get(change_url(group)).content.decode()
    assert "<title>“Mountains, original” and 1 similar image" in html
    mountains = Album.objects.get(name="Mountains")
    link = reverse("admin:testapp_album_change", args=[mountains.pk])
    # The duplicate: cover of one album, in the photos of 13 albums (10 named, "and 3 more").
    assert f'<a href="{link}">{mountains}</a>' in html
    assert "Album · cover</span> (1)" in html
    assert "Album · photos</span> (13)" in html and "and 3 more" in html
    assert "Used in 15 places:" in html
    # What differs from the keeper is marked; the keeper is marked with why it was picked.
    assert 'class="imagex-differs"><th>Dimensions' in html
    assert "Keeper (rule" in html and "by higher resolution" in html
    assert html.count('class="imagex-score-keeper">') == 1  # a computed score, not "unknown"
    assert 'class="imagex-score-keeper">unknown' not in html


@override_settings(ROOT_URLCONF="tests.admin.host_urls")
def test_confirmation_counts_moved_and_dropped_and_names_objects(client, users, group):
    client.force_login(users["superuser"])
    dup = member_of(group, "Mountains, small copy")
    keeper = member_of(group, "Mountains, original")
    url = reverse("admin:imagex_dedup_duplicategroup_merge", args=[group.pk])
    html = client.get(url).content.decode()
    # 1 cover + 12 album links + 1 print move; the link to "Mountains" is dropped, since the
    # keeper is already in that album.
    assert "14 references move to the keeper; 1 duplicate link is dropped" in html
    assert "1 object is deleted." in html
    assert '<strong class="imagex-keeper">Mountains, original</strong>' in html
    assert "(Mountains, original" not in html  # the name is not repeated
    assert html.count('class="imagex-thumb"') == 2
    mountains = Album.objects.get(name="Mountains")
    assert reverse("admin:testapp_album_change", args=[mountains.pk]) in html

    before = member_details()
    response = client.post(url, {"post": "yes"})
    message = messages_of(response)[0]
    assert message.startswith("Merged “Mountains, original” and 1 similar image: ")
    assert "kept “Mountains, original”, removed 1 duplicate" in message
    log = MergeLog.objects.get()

    # The merged group shows the kept image and the removed one, with its sizes and picture.
    html = client.get(change_url(group)).content.decode()
    assert f'id="member-{keeper.pk}"' in html and "imagex-kept" in html
    assert "Removed by the merge" in html
    assert "Mountains, small copy" in html  # named as it was, not "photo 2.image"
    assert (
        "300 \N{MULTIPLICATION SIGN} 225" in html
        and "unknown" not in html.split(f'id="member-{dup.pk}"')[1]
    )
    assert reverse("imagex_dedup:thumbnail", args=[dup.pk]) in html
    assert client.get(reverse("imagex_dedup:thumbnail", args=[dup.pk])).status_code == 200
    undo_url = reverse("admin:imagex_dedup_mergelog_undo", args=[log.pk])
    assert undo_url in html

    # The merge log page reads in words and offers undo, never delete.
    log_url = reverse("admin:imagex_dedup_mergelog_change", args=[log.pk])
    html = client.get(log_url).content.decode()
    assert "14 references moved to the keeper; 1 duplicate link dropped." in html
    assert "Album · photos" in html and undo_url in html
    assert '"fields"' not in html  # no raw JSON
    delete_url = reverse("admin:imagex_dedup_mergelog_delete", args=[log.pk])
    assert client.get(delete_url).status_code == 403
    changelist = reverse("admin:imagex_dedup_mergelog_changelist")
    assert "delete_selected" not in client.get(changelist).content.decode()

    # Undo from the group page: a confirmation, then everything is back, every member field too.
    html = client.get(undo_url).content.decode()
    assert "Yes, undo the merge" in html and "Mountains, small copy" in html
    assert Photo.objects.count() == 1
    response = client.post(undo_url, {"post": "yes"})
    assert response["Location"] == change_url(group)
    assert f"Merge #{log.pk} undone: 1 object restored" in messages_of(response)[0]
    assert member_details() == before
    assert DuplicateGroup.objects.get(pk=group.pk).status == "open"
    html = client.get(change_url(group)).content.decode()
    assert "300 \N{MULTIPLICATION SIGN} 225" in html and "480 \N{MULTIPLICATION SIGN} 360" in html
    assert "Keeper (rule" in html


def test_undo_pages_need_the_merge_permission(client, users, group):
    client.force_login(users["superuser"])
    client.post(
        reverse("admin:imagex_dedup_duplicategroup_merge", args=[group.pk]), {"post": "yes"}
    )
    log = MergeLog.objects.get()
    url = reverse("admin:imagex_dedup_mergelog_undo", args=[log.pk])
    for who in ("staff", "viewer", "changer"):
        client.force_login(users[who])
        assert client.get(url).status_code == 403
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert MergeLog.objects.get().undone_at is None
    client.force_login(users["merger"])
    assert client.get(url).status_code == 200
    client.post(url, {"post": "yes"})
    assert MergeLog.objects.get().undone_at is not None
    assert "already undone" in client.get(url).content.decode()


def test_group_list_titles_and_thumbnails_in_a_row(client, users, group):
    client.force_login(users["viewer"])
    html = client.get(reverse("admin:imagex_dedup_duplicategroup_changelist")).content.decode()
    assert "“Mountains, original” and 1 similar image</a>" in html
    assert "Duplicate group #" not in html
    assert "Review queue" in html and "Merge by policy" not in html  # a viewer cannot merge
    client.force_login(users["merger"])
    html = client.get(reverse("admin:imagex_dedup_duplicategroup_changelist")).content.decode()
    assert "Merge by policy" in html
