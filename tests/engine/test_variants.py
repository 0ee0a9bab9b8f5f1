from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageOps

from tests.engine.conftest import photo
from tests.support.variants import TRANSFORMS, generate_variants, make_variant


@pytest.fixture(scope="module")
def original() -> Image.Image:
    return photo("flower.jpg")


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_is_deterministic_rgb_and_changes_the_image(
    original: Image.Image, name: str
) -> None:
    first = make_variant(original, name, seed=11)
    assert first.mode == "RGB"
    assert _same(first, make_variant(original, name, seed=11))
    if name not in {"png"}:  # PNG is lossless: same pixels by design
        assert not _same(first, original)


def test_png_round_trip_is_lossless(original: Image.Image) -> None:
    assert _same(make_variant(original, "png"), original)


def test_seeds_change_random_parameters(original: Image.Image) -> None:
    sizes = {make_variant(original, "crop_side", seed=s).size for s in range(6)}
    assert len(sizes) > 1


def test_geometry(original: Image.Image) -> None:
    w, h = original.size
    assert make_variant(original, "rot90").size == (h, w)
    assert _same(make_variant(original, "hflip"), ImageOps.mirror(original))
    assert _same(make_variant(original, "vflip"), ImageOps.flip(original))
    for seed in range(5):
        cw, ch = make_variant(original, "crop_side", seed=seed).size
        kept = (cw * ch) / (w * h)
        assert 0.89 <= kept <= 0.99
        bw, bh = make_variant(original, "border", seed=seed).size
        assert bw > w and bh > h


def test_generate_variants_names_and_order(original: Image.Image) -> None:
    assert [v.name for v in generate_variants(original)] == list(TRANSFORMS)
    picked = generate_variants(original, names=["rot90", "hflip"], seed=2)
    assert [v.name for v in picked] == ["rot90", "hflip"]
    assert _same(picked[1].image, make_variant(original, "hflip", seed=2))


def test_unknown_transform_is_a_key_error(original: Image.Image) -> None:
    with pytest.raises(KeyError):
        make_variant(original, "sepia")
