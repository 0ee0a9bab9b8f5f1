"""Merging Wagtail images re-points every reference the reference index knows, and undo puts
it all back; locked content refuses the merge."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from wagtail.images import get_image_model
from wagtail.models import ReferenceIndex, Revision, Workflow

from imagex_dedup.hook import registry
from imagex_dedup.models import DuplicateGroup
from imagex_dedup.review.merge import MergeConflict, merge_group, undo_merge
from tests.contrib.conftest import member_of
from tests.mediaapp.models import Banner, ImagePage

pytestmark = pytest.mark.django_db

_EMBED_IDS = re.compile(r'embedtype="image"[^>]*?\sid="(\d+)')


def image_ids(raw: Any) -> list[int]:
    """Every image id named in raw content: chooser values and rich-text embeds, sorted."""
    if isinstance(raw, str):
        return sorted(int(m) for m in _EMBED_IDS.findall(raw))
    if isinstance(raw, int) and not isinstance(raw, bool):
        return [raw]
    if isinstance(raw, list):
        return sorted(i for item in raw for i in image_ids(item))
    if isinstance(raw, dict):
        return sorted(i for k, v in raw.items() if k not in ("id", "type") for i in image_ids(v))
    return []


def replaced(value: Any, old: int, new: int) -> Any:
    """``value`` with every ``old`` id replaced by ``new`` (lists re-sorted)."""
    if isinstance(value, dict):
        return {k: replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        items = [replaced(v, old, new) for v in value]
        return sorted(items) if all(isinstance(i, int) for i in items) else items
    return new if value == old else value


def snapshot(site: Any) -> dict[str, Any]:
    """Every place the fixture site names an image, as stored."""
    page = ImagePage.objects.get(pk=site.page.pk)
    draft = ImagePage.objects.get(pk=site.draft_page.pk)
    banner = Banner.objects.get(pk=site.banner.pk)
    return {
        "page.hero": page.hero_id,
        "page.intro": image_ids(page.intro),
        "page.body": image_ids(page.body.get_prep_value()),
        "page.slides": [s.image_id for s in page.slides.all()],
        "page.revision": _revision(page),
        "draft.live": draft.hero_id,
        "draft.revision": _revision(draft),
        "banner.image": banner.image_id,
        "banner.text": image_ids(banner.text),
        "banner.revision": _revision(banner),
    }


def _revision(obj: Any) -> dict[str, Any]:
    content = Revision.objects.get(pk=obj.latest_revision_id).content
    return {
        key: image_ids(json.loads(value) if key == "body" else value)
        if isinstance(value, str)
        else value
        for key, value in content.items()
        if key in ("hero", "image", "intro", "body", "text")
    } | {"slides": [row["image"] for row in content.get("slides", [])]}


def usage(image: Any) -> set[tuple[str, str, str]]:
    """Where the reference index says ``image`` is used: (object, model path, content path)."""
    rows = ReferenceIndex.get_references_to(image)
    return set(rows.values_list("object_id", "model_path", "content_path"))


def test_the_image_model_is_watched_without_settings() -> None:
    assert registry.get_registration(get_image_model()).fields == ("file",)


def test_merge_repoints_every_reference_and_undo_restores_them(
    site, django_capture_on_commit_callbacks
) -> None:
    k, d, o = site.keeper.pk, site.duplicate.pk, site.other.pk
    site.keeper.tags.add("flower")
    site.duplicate.tags.add("flower", "sunset")
    site.duplicate.get_rendition("fill-200x100")
    rendition_file = site.duplicate.renditions.get().file.name
    before = snapshot(site)
    assert before["page.hero"] == d and before["page.intro"] == [d]
    assert before["page.body"] == sorted([d] * 6 + [o])
    assert before["draft.revision"]["hero"] == d and before["draft.live"] == o
    assert before["banner.revision"]["text"] == [d]
    used_before = usage(site.duplicate)
    assert len(used_before) == 9 + 2  # the page's places and the banner's (drafts: not indexed)
    group = site.group

    with django_capture_on_commit_callbacks(execute=True):  # Wagtail deletes files on commit
        log = merge_group(group, member_of(group, site.keeper))

    after = snapshot(site)
    assert after == replaced(before, d, k)
    assert after["page.body"] == sorted([k] * 6 + [o])
    assert after["draft.revision"]["hero"] == k and after["draft.revision"]["body"] == [k]
    assert not get_image_model().objects.filter(pk=d).exists()
    assert default_storage.exists(site.duplicate.file.name)  # kept for undo
    assert not default_storage.exists(rendition_file)
    assert usage(site.keeper) == used_before
    assert not usage(site.duplicate)
    assert sorted(site.keeper.tags.names()) == ["flower", "sunset"]
    paths = set(
        ReferenceIndex.get_references_to(site.keeper)
        .filter(object_id=str(site.page.pk))
        .values_list("model_path", flat=True)
    )
    assert paths == {
        "hero",
        "intro.",
        "body.image",
        "body.figure.image",
        "body.gallery.item",
        "body.section.image",
        "body.section.figure.image",
        "body.text",
        "slides.item.image",
    }

    undo_merge(log)

    assert snapshot(site) == before
    restored = get_image_model().objects.get(pk=d)
    assert usage(restored) == used_before
    assert sorted(restored.tags.names()) == ["flower", "sunset"]
    assert list(site.keeper.tags.names()) == ["flower"]
    assert list(get_image_model().objects.search("duplicate")) == [restored]
    assert not usage(site.keeper)
    assert DuplicateGroup.objects.get(pk=group.pk).status == DuplicateGroup.Status.OPEN


@pytest.mark.parametrize("state", ["locked", "workflow"])
def test_content_that_cannot_be_rewritten_refuses_the_merge(site, state, admin_user) -> None:
    page = ImagePage.objects.get(pk=site.page.pk)
    if state == "locked":
        page.locked = True
        page.save()
        reason = "is locked"
    else:
        Workflow.objects.get().start(page, admin_user)
        reason = "has a workflow in progress"
    before = snapshot(site)
    group = site.group

    with pytest.raises(MergeConflict, match=f"Uses.*{reason}"):
        merge_group(group, member_of(group, site.keeper))

    assert snapshot(site) == before
    assert get_image_model().objects.filter(pk=site.duplicate.pk).exists()
    assert DuplicateGroup.objects.get(pk=group.pk).status == DuplicateGroup.Status.OPEN


def images_on(client: Any, url: str) -> list[str]:
    """Storage names of the <img> tags of the page at ``url``, each checked to exist."""
    response = client.get(url)
    assert response.status_code == 200
    names = [
        unquote(src).removeprefix(settings.MEDIA_URL)
        for src in re.findall(r'<img [^>]*src="([^"]+)"', response.content.decode())
    ]
    missing = [name for name in names if not default_storage.exists(name)]
    assert not missing, f"broken images on {url}: {missing}"
    return names


def source_title(rendition_name: str) -> str:
    """The title of the image a rendition file was made from (``images/keeper_a1b2.width-500.jpg``:
    the fixture names files after titles; storage may add a suffix)."""
    return re.split(r"[._]", rendition_name.rsplit("/", 1)[-1])[0]


def test_after_a_merge_every_page_renders_the_keepers_renditions(
    site, client, django_capture_on_commit_callbacks
) -> None:
    before = images_on(client, site.page.url)
    assert len(before) == 10 and sum("duplicate" in name for name in before) == 9
    group = site.group

    with django_capture_on_commit_callbacks(execute=True):
        merge_group(group, member_of(group, site.keeper))

    after = images_on(client, site.page.url)
    assert len(after) == 10
    assert sorted(map(source_title, after)) == ["keeper"] * 9 + ["other"]
    draft = ImagePage.objects.get(pk=site.draft_page.pk)
    draft.get_latest_revision_as_object().save_revision().publish()
    assert [source_title(n) for n in images_on(client, draft.url)] == ["keeper"] * 2


def test_undo_refuses_when_the_content_was_edited_since(site) -> None:
    group = site.group
    log = merge_group(group, member_of(group, site.keeper))
    ImagePage.objects.filter(pk=site.page.pk).update(intro="<p>rewritten by hand</p>")

    with pytest.raises(MergeConflict, match=r"imagepage \d+\.intro: edited since the merge"):
        undo_merge(log)

    assert not get_image_model().objects.filter(pk=site.duplicate.pk).exists()
    assert ImagePage.objects.get(pk=site.page.pk).hero_id == site.keeper.pk
