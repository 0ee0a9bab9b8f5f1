"""imagex_dedup inside a host's admin: links to host objects, the automatic host action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from imagex_dedup.models import ImageFingerprint
from tests.support.review import make_group, make_photo

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.host_urls")]


def test_review_page_links_to_the_host_objects(client, users):
    photos = [make_photo("a", width=400), make_photo("b", width=200)]
    group = make_group(*photos)
    client.force_login(users["superuser"])
    html = client.get(reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])).content
    for photo in photos:
        url = reverse("admin:testapp_photo_change", args=[photo.pk])
        assert f'href="{url}"'.encode() in html


def test_check_action_on_the_host_changelist(client, users, django_capture_on_commit_callbacks):
    photo = make_photo("c", width=300)
    ImageFingerprint.objects.all().delete()
    changelist = reverse("admin:testapp_photo_changelist")
    client.force_login(users["superuser"])
    assert b"Check selected for duplicates" in client.get(changelist).content
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            changelist, {"action": "check_for_duplicates", "_selected_action": [photo.pk]}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    # The real check task ran (django-q2 in sync mode): the photo has a fingerprint again.
    fp = ImageFingerprint.objects.get(object_id=str(photo.pk))
    assert (fp.width, fp.format) == (300, "JPEG") and fp.fingerprint


def test_check_action_needs_change_permission_on_the_host_model(
    client, users, django_capture_on_commit_callbacks
):
    photo = make_photo("d")
    client.force_login(users["viewer"])
    changelist = reverse("admin:testapp_photo_changelist")
    assert b"Check selected for duplicates" not in client.get(changelist).content
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(changelist, {"action": "check_for_duplicates", "_selected_action": [photo.pk]})
    assert callbacks == []
