"""Merging django-filer images: FilerImageField and FilerFileField references move to the keeper,
which keeps its folder and owner; a private keeper never replaces a public image."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from filer.models import File, Folder
from filer.models import Image as FilerImage

from imagex_dedup.hook import registry
from imagex_dedup.models import DuplicateGroup
from imagex_dedup.review.merge import MergeConflict, merge_group, undo_merge
from imagex_dedup.review.thumbnails import thumbnail_url
from tests.contrib.conftest import detect, member_of
from tests.mediaapp.models import Article
from tests.support.review import encode

pytestmark = pytest.mark.django_db


def filer_image(name: str, folder: Folder, owner: Any, width: int, **fields: Any) -> FilerImage:
    data = ContentFile(encode("flower.jpg", width), name=f"{name}.jpg")
    return FilerImage.objects.create(
        original_filename=f"{name}.jpg", file=data, folder=folder, owner=owner, **fields
    )


@pytest.fixture
def library(django_user_model) -> dict[str, Any]:
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    keeper = filer_image("keeper", Folder.objects.create(name="Kept", owner=alice), alice, 320)
    duplicate = filer_image("duplicate", Folder.objects.create(name="Other", owner=bob), bob, 280)
    article = Article.objects.create(title="Uses", image=duplicate, attachment=duplicate)
    return {"keeper": keeper, "duplicate": duplicate, "article": article, "alice": alice}


def test_the_image_model_is_watched_without_settings() -> None:
    assert registry.get_registration(FilerImage).fields == ("file",)


def test_merge_repoints_image_and_file_fields_and_undo_restores_them(library) -> None:
    keeper, duplicate, article = library["keeper"], library["duplicate"], library["article"]
    folder, owner = keeper.folder_id, keeper.owner_id
    group = detect(keeper, duplicate)

    log = merge_group(group, member_of(group, keeper))

    article.refresh_from_db()
    assert (article.image_id, article.attachment_id) == (keeper.pk, keeper.pk)
    assert not File.objects.filter(pk=duplicate.pk).exists()
    keeper.refresh_from_db()
    assert (keeper.folder_id, keeper.owner_id) == (folder, owner)
    assert duplicate.file.storage.exists(duplicate.file.name)  # kept for undo

    undo_merge(log)

    article.refresh_from_db()
    assert (article.image_id, article.attachment_id) == (duplicate.pk, duplicate.pk)
    restored = FilerImage.objects.get(pk=duplicate.pk)
    assert (restored.folder.name, restored.owner.username) == ("Other", "bob")
    assert restored.file.read() == duplicate.file.storage.open(duplicate.file.name).read()
    assert DuplicateGroup.objects.get(pk=group.pk).status == DuplicateGroup.Status.OPEN


def test_a_private_keeper_never_replaces_a_public_image(library) -> None:
    duplicate = library["duplicate"]
    keeper = filer_image("private", None, library["alice"], 300, is_public=False)
    group = detect(keeper, duplicate)

    with pytest.raises(MergeConflict, match=r"is private but filer\.Image \d+ public"):
        merge_group(group, member_of(group, keeper))

    assert Article.objects.get().image_id == duplicate.pk


def test_the_django_admin_reviews_and_merges_filer_images(library, admin_client) -> None:
    keeper, duplicate = library["keeper"], library["duplicate"]
    group = detect(keeper, duplicate)
    review = admin_client.get(reverse("admin:imagex_dedup_duplicategroup_change", args=(group.pk,)))
    assert review.status_code == 200
    for member in group.members.all():
        thumb = admin_client.get(thumbnail_url(member))
        assert thumb.status_code == 200 and b"".join(thumb.streaming_content)[:2] == b"\xff\xd8"

    admin_client.post(
        reverse("admin:imagex_dedup_duplicategroup_merge", args=(group.pk,)),
        {"keeper": member_of(group, keeper).pk, "post": "yes"},
    )

    assert Article.objects.get().image_id == keeper.pk
    assert not File.objects.filter(pk=duplicate.pk).exists()
