"""The grid comparison's shortcuts give exactly what the plain definitions give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from imagex_dedup.engine import scoring
from imagex_dedup.engine.fingerprint import GRID_SIDE, fingerprint_image
from imagex_dedup.engine.scoring import pair_scores, prepare
from tests.engine.conftest import photo
from tests.engine.strategies import fingerprints
from tests.support.variants import make_variant

CELLS = GRID_SIDE * GRID_SIDE
EDITS = (
    "caption",
    "crop_side",
    "tilt_black",
    "rotate_small",
    "grey_crop_logo",
    "pad_square",
    "noise",
)
"""Edits after which some pairs are decided by the grid kind (the hashes drift apart)."""


@given(
    st.integers(1, 255).flatmap(
        lambda top: arrays(
            np.uint8, st.tuples(st.integers(1, 6), st.just(CELLS)), elements=st.integers(0, top)
        )
    )
)
def test_grid_ranks_are_twice_the_average_rank_with_ties_shared(grids: np.ndarray) -> None:
    below = (grids[:, :, None] > grids[:, None, :]).sum(axis=2)
    at_most = (grids[:, :, None] >= grids[:, None, :]).sum(axis=2)
    assert np.array_equal(scoring._grid_ranks(grids), below + at_most - 1)


def _all_pairs_both_ways(fps: list) -> np.ndarray:
    prepared = prepare(fps)
    a, b = np.meshgrid(np.arange(len(fps)), np.arange(len(fps)))
    return pair_scores(prepared, a.ravel(), prepare(fps, oriented=False), b.ravel())


def _exact_grid_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_grid_floor", scoring._grid_kept_mean)


def _library() -> list:
    """Pictures covering every branch: detailed, dark and flat (low detail), blank, and edits."""
    rng = np.random.default_rng(7)
    blocks = [
        Image.fromarray(rng.choice([0, 90, 170, 255], (6, 9)).astype(np.uint8))
        .resize((360, 240))
        .convert("RGB")
        for _ in range(2)
    ]  # strong contrast between cells: the grid kind counts
    detailed = [photo(name) for name in ("flower.jpg", "flower2.jpg", "test-card.png")] + blocks
    dark = [image.point(lambda v: 10 + v * 12 // 255) for image in detailed]
    edits = [make_variant(image, kind, seed=5) for image in detailed + dark for kind in EDITS]
    blank = [photo("flower.jpg").point(lambda v: 128)]
    return [fingerprint_image(image) for image in detailed + dark + edits + blank]


def test_scores_skip_the_exact_grid_only_where_it_cannot_matter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fps = _library()
    fast = _all_pairs_both_ways(fps)
    _exact_grid_everywhere(monkeypatch)
    assert np.array_equal(fast, _all_pairs_both_ways(fps))


@given(st.lists(fingerprints, min_size=2, max_size=8))
def test_random_fingerprints_score_the_same_with_the_exact_grid(fps: list) -> None:
    fast = _all_pairs_both_ways(fps)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _exact_grid_everywhere(monkeypatch)
        assert np.array_equal(fast, _all_pairs_both_ways(fps))


@given(
    arrays(
        np.int16,
        st.tuples(st.integers(1, 5), st.just(8), st.just(CELLS)),
        elements=st.integers(0, 126),
    )
)
def test_the_grid_floor_never_exceeds_the_grid_distance(diff: np.ndarray) -> None:
    assert np.all(scoring._grid_floor(diff) <= scoring._grid_kept_mean(diff))
