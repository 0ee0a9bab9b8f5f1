"""Review, merge, dismiss and undo inside the Wagtail admin, with Wagtail's permission policy:
an editor only sees and merges images of collections they may edit."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.images import get_image_model
from wagtail.models import Collection, GroupCollectionPermission

from imagex_dedup.models import DuplicateGroup, MergeLog
from tests.contrib.conftest import member_of
from tests.mediaapp.models import ImagePage

pytestmark = pytest.mark.django_db


def test_the_menu_item_leads_to_the_listing_and_the_review_shows_usage(site, admin_client) -> None:
    group = site.group
    assert '"/cms/duplicates/"' in admin_client.get("/cms/").content.decode().replace("&quot;", '"')
    listing = admin_client.get(reverse("imagex_dedup_wagtail:index")).content.decode()
    assert reverse("imagex_dedup_wagtail:review", args=(group.pk,)) in listing
    page = admin_client.get(reverse("imagex_dedup_wagtail:review", args=(group.pk,)))
    html = page.content.decode()
    assert "Uses" in html and "Banner" in html and "Not used" in html  # the keeper is unused
    assert "Merge into the selected image" in html


def test_merge_and_undo_from_the_admin(site, admin_client) -> None:
    group = site.group
    keeper = member_of(group, site.keeper)
    response = admin_client.post(
        reverse("imagex_dedup_wagtail:merge", args=(group.pk,)), {"keeper": keeper.pk}
    )
    assert response.status_code == 302
    assert ImagePage.objects.get(pk=site.page.pk).hero_id == site.keeper.pk
    log = MergeLog.objects.get(group=group)
    listing = admin_client.get(reverse("imagex_dedup_wagtail:index")).content.decode()
    assert reverse("imagex_dedup_wagtail:undo", args=(log.pk,)) in listing

    admin_client.post(reverse("imagex_dedup_wagtail:undo", args=(log.pk,)))

    assert ImagePage.objects.get(pk=site.page.pk).hero_id == site.duplicate.pk
    assert DuplicateGroup.objects.get(pk=group.pk).status == DuplicateGroup.Status.OPEN


def test_a_locked_page_shows_why_and_nothing_merges(site, admin_client) -> None:
    ImagePage.objects.filter(pk=site.page.pk).update(locked=True)
    group = site.group
    review = reverse("imagex_dedup_wagtail:review", args=(group.pk,))
    assert "is locked: unlock it first" in admin_client.get(review).content.decode()
    response = admin_client.post(
        reverse("imagex_dedup_wagtail:merge", args=(group.pk,)),
        {"keeper": member_of(group, site.keeper).pk},
        follow=True,
    )
    assert "Not merged" in response.content.decode()
    assert get_image_model().objects.filter(pk=site.duplicate.pk).exists()


def test_dismiss(site, admin_client) -> None:
    group = site.group
    admin_client.post(reverse("imagex_dedup_wagtail:dismiss", args=(group.pk,)))
    assert DuplicateGroup.objects.get(pk=group.pk).status == DuplicateGroup.Status.DISMISSED


@pytest.fixture
def editor(site, django_user_model) -> Any:
    """An editor who may change and delete images of the 'Editors' collection only."""
    root = Collection.get_first_root_node()
    mine = root.add_child(name="Editors")
    get_image_model().objects.filter(pk=site.keeper.pk).update(collection=mine)
    team = Group.objects.create(name="Image editors")
    team.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("change_image", "delete_image", "choose_image"):
        GroupCollectionPermission.objects.create(
            group=team,
            collection=mine,
            permission=Permission.objects.get(
                content_type__app_label="wagtailimages", codename=codename
            ),
        )
    user = django_user_model.objects.create_user("editor", password="pw")
    user.groups.add(team)
    return user


def test_an_editor_only_merges_images_of_collections_they_may_edit(site, editor, client) -> None:
    group = site.group  # the duplicate stays in the root collection, out of the editor's reach
    client.force_login(editor)
    listing = client.get(reverse("imagex_dedup_wagtail:index"))
    assert listing.status_code == 200
    assert reverse("imagex_dedup_wagtail:review", args=(group.pk,)) not in listing.content.decode()
    denied = client.get(reverse("imagex_dedup_wagtail:review", args=(group.pk,)))
    assert (denied.status_code, denied.url) == (302, "/cms/")  # Wagtail's "permission denied"
    response = client.post(
        reverse("imagex_dedup_wagtail:merge", args=(group.pk,)),
        {"keeper": member_of(group, site.keeper).pk},
    )
    assert (response.status_code, response.url) == (302, "/cms/")
    assert get_image_model().objects.filter(pk=site.duplicate.pk).exists()

    editors = Collection.objects.get(name="Editors")
    get_image_model().objects.filter(pk=site.duplicate.pk).update(collection=editors)
    response = client.post(
        reverse("imagex_dedup_wagtail:merge", args=(group.pk,)),
        {"keeper": member_of(group, site.keeper).pk},
    )
    assert response.status_code == 302
    assert not get_image_model().objects.filter(pk=site.duplicate.pk).exists()
