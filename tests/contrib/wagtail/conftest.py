"""A small Wagtail site: near-duplicate images used in every place Wagtail can use them."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.images import ImageFile
from wagtail.images import get_image_model
from wagtail.models import Page

from tests.admin.test_browser import browser_page  # noqa: F401  (the real-browser fixture)
from tests.contrib.conftest import detect
from tests.mediaapp.models import Banner, ImagePage, Slide
from tests.support.review import encode


def make_image(title: str, source: str = "flower.jpg", width: int = 320) -> Any:
    image = get_image_model()(title=title)
    image.file = ImageFile(io.BytesIO(encode(source, width)), name=f"{title}.jpg")
    image.save()
    return image


def embed(image: Any) -> str:
    return f'<p>Look:</p><embed alt="x" embedtype="image" format="left" id="{image.pk}"/>'


def body(image: Any, other: Any) -> list[tuple[str, Any]]:
    """One block of each shape, each naming ``image`` (the gallery also names ``other``)."""
    return [
        ("image", image),
        ("figure", {"image": image, "caption": "a figure"}),
        ("gallery", [image, other]),
        ("section", [("image", image), ("figure", {"image": image, "caption": "deep"})]),
        ("text", embed(image)),
    ]


@dataclass
class Site:
    keeper: Any
    duplicate: Any
    other: Any
    page: ImagePage
    draft_page: ImagePage
    banner: Banner

    @property
    def group(self) -> Any:
        return detect(self.keeper, self.duplicate)


def publish(page: Any) -> Any:
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def site(db) -> Site:
    """Keeper and duplicate are the same photo at two sizes; ``other`` is a different photo.

    ``page`` uses the duplicate live everywhere (and in its latest revision); ``draft_page``
    uses it only in an unpublished draft; ``banner`` (a snippet) uses it live and in a draft.
    """
    keeper = make_image("keeper", width=320)
    duplicate = make_image("duplicate", width=280)
    other = make_image("other", source="test-card.png")
    home = Page.objects.get(depth=2)
    page = ImagePage(title="Uses", slug="uses", hero=duplicate, intro=embed(duplicate))
    page.body = body(duplicate, other)
    page.slides = [Slide(image=duplicate)]
    home.add_child(instance=page)
    publish(page)
    draft_page = ImagePage(title="Draft", slug="draft", hero=other)
    home.add_child(instance=draft_page)
    publish(draft_page)
    draft_page.hero = duplicate
    draft_page.body = [("image", duplicate)]
    draft_page.save_revision()
    banner = Banner.objects.create(title="Banner", image=duplicate, text=embed(duplicate))
    banner.save_revision().publish()
    banner.text = embed(duplicate) + "<p>edited</p>"
    banner.save_revision()
    return Site(keeper, duplicate, other, page, draft_page, banner)


@pytest.fixture
def image_factory(db) -> Callable[..., Any]:
    return make_image
