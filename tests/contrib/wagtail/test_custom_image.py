"""A site with a custom image model (``WAGTAILIMAGES_IMAGE_MODEL``) gets the same merges: the
model is registered, its renditions are left to Wagtail, its uses are re-pointed."""

from __future__ import annotations

import pytest
from wagtail.images import get_image_model

from imagex_dedup.contrib.wagtail.apps import watch_image_model
from imagex_dedup.hook import registry
from imagex_dedup.review.merge import merge_group, undo_merge
from tests.contrib.conftest import detect, member_of
from tests.contrib.wagtail.conftest import embed, make_image
from tests.contrib.wagtail.test_merge import image_ids
from tests.mediaapp.models import Credit, CustomImage

pytestmark = pytest.mark.django_db


@pytest.fixture
def custom_site(settings) -> dict:
    settings.WAGTAILIMAGES_IMAGE_MODEL = "mediaapp.CustomImage"
    watch_image_model()
    keeper, duplicate = make_image("keeper", width=320), make_image("duplicate", width=280)
    credit = Credit.objects.create(image=duplicate, text=embed(duplicate))
    for image in (keeper, duplicate):  # the same filter on both: moving them would collide
        image.get_rendition("width-100")
    return {"keeper": keeper, "duplicate": duplicate, "credit": credit}


def test_a_custom_image_model_is_watched_and_merged(custom_site) -> None:
    keeper, duplicate = custom_site["keeper"], custom_site["duplicate"]
    assert get_image_model() is CustomImage and isinstance(keeper, CustomImage)
    assert registry.get_registration(CustomImage).fields == ("file",)
    group = detect(keeper, duplicate)

    log = merge_group(group, member_of(group, keeper))

    credit = Credit.objects.get()
    assert (credit.image_id, image_ids(credit.text)) == (keeper.pk, [keeper.pk])
    assert list(keeper.renditions.values_list("filter_spec", flat=True)) == ["width-100"]
    assert not CustomImage.objects.filter(pk=duplicate.pk).exists()

    undo_merge(log)

    credit = Credit.objects.get()
    assert (credit.image_id, image_ids(credit.text)) == (duplicate.pk, [duplicate.pk])
