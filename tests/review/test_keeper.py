"""The keeper rule on real files: resolution, the group's orientation, EXIF capture data, JPEG
quality, then the oldest object; and a host's own rule through KEEPER_RULE."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from PIL import Image, ImageOps

from imagex_dedup.checks import check_setting_values
from imagex_dedup.review.keeper import choose_keeper, keeper_reason, relative_orientations
from imagex_dedup.review.pictures import jpeg_quality, member_facts
from tests.conftest import photo_path
from tests.support.records import store_fingerprint
from tests.support.review import make_group
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def original_bytes() -> bytes:
    """flower.jpg as shipped: 480x360, EXIF with camera and date taken."""
    return photo_path("flower.jpg").read_bytes()


def copy_bytes(*, mirror: bool = False, width: int = 480, quality: int = 92, exif=None) -> bytes:
    """A re-encoded copy of flower.jpg (EXIF dropped unless given), optionally mirrored."""
    with Image.open(photo_path("flower.jpg")) as im:
        image = im.convert("RGB")
    if mirror:
        image = ImageOps.mirror(image)
    if width != image.width:
        image = image.resize((width, round(image.height * width / image.width)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return buf.getvalue()


def photo(title: str, data: bytes) -> Photo:
    p = Photo(title=title)
    p.image.save(f"{title}.jpg", ContentFile(data), save=True)
    store_fingerprint(p, "image")
    return p


def kept(*photos: Photo) -> str:
    return Photo.objects.get(pk=choose_keeper(make_group(*photos)).object_id).title


def test_resolution_first():
    small = photo("small original", original_bytes())
    big = photo("big copy", copy_bytes(width=600, quality=60))
    assert kept(small, big) == "big copy"


def test_the_mirrored_copy_loses_to_the_orientation_the_group_shares():
    # The demo's flower group: the mirror is the larger file at the same resolution.
    mirror = photo("mirror", copy_bytes(mirror=True, quality=95))
    original = photo("original", copy_bytes(quality=75))
    smaller = photo("smaller", copy_bytes(width=320))
    assert mirror.image.size > original.image.size
    members = list(make_group(mirror, original, smaller).members.select_related("fingerprint"))
    orientations = relative_orientations(members)
    assert orientations[members[0].pk] == 0  # the anchor: the first member
    assert len(set(orientations.values())) == 2
    assert kept(mirror, original, smaller) == "original"


def test_exif_capture_data_beats_a_stripped_copy():
    copy = photo("copy", copy_bytes(quality=98))  # older, larger, higher quality, no EXIF
    original = photo("original", original_bytes())
    facts = member_facts(make_group(original).members.get())
    assert (facts.camera, facts.taken) == ("Canon PowerShot S40", "2003-12-14 12:01:44")
    # Two members, mirror images of each other: no majority, so EXIF decides.
    mirror = photo("mirror", copy_bytes(mirror=True, quality=98))
    assert kept(copy, original) == "original"
    assert kept(mirror, original) == "original"
    group = make_group(copy, original)
    members = list(group.members.select_related("fingerprint"))
    keeper = choose_keeper(group)
    assert keeper_reason(members, keeper) == "EXIF capture data present"


def test_an_exif_tag_that_mirrors_the_picture_loses():
    exif = Image.Exif()
    exif[0x0112] = 2  # orientation: mirrored horizontally
    tagged = photo("tagged mirror", copy_bytes(mirror=True, quality=95, exif=exif))
    plain = photo("plain", copy_bytes(quality=80))
    assert kept(tagged, plain) == "plain"


def test_least_recompressed_then_oldest():
    low = photo("q60", copy_bytes(quality=60))
    high = photo("q95", copy_bytes(quality=95))
    assert kept(low, high) == "q95"
    first = photo("first", copy_bytes(quality=85))
    second = photo("second", copy_bytes(quality=85))
    assert kept(second, first) == "first"
    group = make_group(second, first)
    assert keeper_reason(list(group.members.all()), choose_keeper(group)) == "oldest object"


def test_jpeg_quality_estimate_matches_the_encoder():
    for quality in (30, 60, 75, 92):
        with Image.open(io.BytesIO(copy_bytes(quality=quality))) as im:
            assert abs(jpeg_quality(im.quantization) - quality) <= 1


def pick_last(members):
    return members[-1]


def not_a_member(members):
    return object()


def test_a_hosts_own_rule(settings):
    a = photo("a", original_bytes())
    b = photo("b", copy_bytes(width=200))
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "KEEPER_RULE": f"{__name__}.pick_last"}
    assert kept(a, b) == "b"
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "KEEPER_RULE": f"{__name__}.not_a_member"}
    with pytest.raises(ValueError, match="not a member"):
        kept(a, b)


@pytest.mark.parametrize(
    "value,message",
    [("no.such.rule", "cannot be imported"), ("imagex_dedup.review.keeper.CRITERIA", "callable")],
)
def test_a_bad_rule_is_a_system_check_error(value, message):
    with override_settings(IMAGEX_DEDUP={"KEEPER_RULE": value}):
        errors = [e for e in check_setting_values() if e.id == "imagex_dedup.E016"]
    assert len(errors) == 1 and "KEEPER_RULE" in errors[0].msg and message in errors[0].msg
