"""Every Wagtail upload path warns about near-duplicates, with scores and the choice to use the
existing image or keep the new one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.images import get_image_model
from wagtail.models import Collection, GroupCollectionPermission

from imagex_dedup.contrib.wagtail.views import near_matches
from imagex_dedup.upload import check_upload
from tests.contrib.conftest import index
from tests.contrib.wagtail.conftest import make_image
from tests.support.review import encode, make_photo
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def keeper(db) -> Any:
    image = make_image("keeper", width=320)
    index(image)
    return image


def near_copy() -> SimpleUploadedFile:
    return SimpleUploadedFile("near.jpg", encode("flower.jpg", 240), content_type="image/jpeg")


def different() -> SimpleUploadedFile:
    return SimpleUploadedFile("card.jpg", encode("test-card.png", 240), content_type="image/jpeg")


def test_check_upload_finds_the_near_copy_only(keeper) -> None:
    (match,) = check_upload(near_copy(), model=get_image_model()).matches
    assert match.object == keeper and 0.84 <= match.score <= 1
    assert match.percent == match.shown_score * 100
    assert not check_upload(different(), model=get_image_model()).matches
    assert not check_upload(near_copy(), model=get_image_model(), exclude=[keeper]).matches


def test_only_images_of_the_image_model_are_offered(keeper, admin_user) -> None:
    """The library also holds other host models; Wagtail's choices are images only."""
    photo = make_photo("same picture", "flower.jpg", width=320)
    index(photo, field="image")
    new = make_image("new", width=240)
    assert {m.object for m in check_upload(new.file, model=Photo).matches} == {photo, keeper}
    assert [m.object for m in near_matches(new, admin_user)] == [keeper]


def test_single_upload_of_a_near_copy_leads_to_the_review_page(keeper, admin_client) -> None:
    response = admin_client.post(
        reverse("wagtailimages:add"), {"title": "near", "file": near_copy()}
    )
    new = get_image_model().objects.get(title="near")
    review = reverse("imagex_dedup_wagtail:upload_review", args=(new.pk,))
    assert response.status_code == 302 and response.url == review
    page = admin_client.get(review).content.decode()
    assert "keeper" in page and "% similar" in page
    delete = reverse("wagtailimages:delete", args=(new.pk,))
    assert f'action="{delete}?next=' in page  # use the existing one: Wagtail's delete, then edit

    response = admin_client.post(
        reverse("wagtailimages:add"), {"title": "card", "file": different()}
    )
    assert response.url == reverse("wagtailimages:index")


def test_multiple_upload_warns_where_wagtail_shows_exact_duplicates(keeper, admin_client) -> None:
    response = admin_client.post(reverse("wagtailimages:add_multiple"), {"files[]": near_copy()})
    data = response.json()
    assert data["success"] and data["duplicate"]
    assert "keeper" in data["confirm_duplicate_upload"]
    assert "confirm-upload" in data["confirm_duplicate_upload"]  # Wagtail's own "keep" hook

    data = admin_client.post(reverse("wagtailimages:add_multiple"), {"files[]": different()}).json()
    assert data["success"] and not data["duplicate"]


def test_the_chooser_upload_offers_the_existing_image(keeper, admin_client) -> None:
    response = admin_client.post(
        reverse("wagtailimages_chooser:create"),
        {"image-chooser-upload-title": "near", "image-chooser-upload-file": near_copy()},
    )
    data = response.json()
    assert data["step"] == "duplicate_found"
    chosen = quote(reverse("wagtailimages_chooser:chosen", args=(keeper.pk,)), safe="")
    assert "use-existing-image" in data["htmlFragment"] and chosen in data["htmlFragment"]
    assert "% similar" in data["htmlFragment"]


def test_matches_are_limited_to_images_the_user_may_choose(keeper, client, django_user_model):
    own = Collection.get_first_root_node().add_child(name="Own")
    team = Group.objects.create(name="Uploaders")
    team.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_image", "choose_image", "change_image", "delete_image"):
        permission = Permission.objects.get(
            content_type__app_label="wagtailimages", codename=codename
        )
        GroupCollectionPermission.objects.create(group=team, collection=own, permission=permission)
    user = django_user_model.objects.create_user("uploader", password="pw")
    user.groups.add(team)
    client.force_login(user)

    data = client.post(
        reverse("wagtailimages:add_multiple"), {"files[]": near_copy(), "collection": own.pk}
    ).json()

    assert data["success"] and not data["duplicate"]  # the keeper is in a collection they can't see
