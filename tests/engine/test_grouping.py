from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagex_dedup.engine import Fingerprint, compare, fingerprint_image, group
from tests.engine.conftest import photo
from tests.support.synthetic import synthetic_fingerprints
from tests.support.variants import make_variant


def test_groups_variants_of_each_photo_and_leaves_singletons_out() -> None:
    flower, card = photo("flower.jpg"), photo("test-card.png")
    images = [
        flower,  # 0
        card,  # 1
        make_variant(flower, "jpeg_q30"),  # 2
        photo("flower2.jpg"),  # 3: a different picture
        make_variant(card, "rot90"),  # 4
        make_variant(flower, "crop_side"),  # 5
        make_variant(card, "border"),  # 6
    ]
    assert group([fingerprint_image(image) for image in images]) == [[0, 2, 5], [1, 4, 6]]


def _fingerprint(full: np.ndarray, windows: np.ndarray) -> Fingerprint:
    padded = np.concatenate([windows, np.zeros((len(windows), 4), bool)], axis=1)
    data = bytes([1]) + np.packbits(full).tobytes() + np.packbits(padded, axis=1).tobytes()
    return Fingerprint.from_bytes(data)


def test_a_lone_bridge_does_not_merge_two_groups() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(256) < 0.5
    base[0] = False
    apart = rng.choice(np.arange(1, 256), 70, replace=False)  # 70 bits: score 0.82
    other = base.copy()
    other[apart] ^= True
    windows_a, windows_b = (rng.random((9, 100)) < 0.5 for _ in range(2))
    windows_a[:, 0] = windows_b[:, 0] = False

    def copy(bits: np.ndarray, flips: np.ndarray) -> np.ndarray:
        out = bits.copy()
        out[flips] ^= True
        return out

    elsewhere = np.setdiff1d(np.arange(1, 256), apart)
    cluster_a = [copy(base, apart[:k]) for k in (0, 2, 4)]
    bridge = copy(base, apart[:20])  # 20 bits from group A, 50 from group B: scores 0.87
    # B's other members are 16 bits from B's first (linked) but 66 from the bridge (not linked)
    cluster_b = [other, copy(other, elsewhere[:16]), copy(other, elsewhere[16:32])]
    fps = [_fingerprint(f, windows_a) for f in [*cluster_a, bridge]]
    fps += [_fingerprint(f, windows_b) for f in cluster_b]
    assert compare(fps[3], fps[4]) >= 0.84 > compare(fps[0], fps[4])
    assert group(fps) == [[0, 1, 2, 3], [4, 5, 6]]


def test_nothing_to_group() -> None:
    assert group([]) == []
    assert group([fingerprint_image(photo())]) == []


def test_similarity_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        group([], similarity=1.5)


def test_planted_pairs_are_recovered() -> None:
    fps, planted = synthetic_fingerprints(400, seed=7, planted=20)
    assert group(fps) == [list(pair) for pair in planted]


def _relabelled(groups: list[list[int]], order: list[int]) -> set[frozenset[int]]:
    return {frozenset(order[i] for i in members) for members in groups}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), st.randoms(use_true_random=False))
def test_group_is_deterministic_and_order_independent(seed: int, rnd) -> None:
    fps, _ = synthetic_fingerprints(150, seed=seed, planted=30)  # above the exact-path size
    order = list(range(len(fps)))
    rnd.shuffle(order)
    groups = group(fps)
    assert groups == group(fps)
    shuffled = group([fps[i] for i in order])
    assert _relabelled(shuffled, order) == {frozenset(members) for members in groups}
    assert all(len(g) >= 2 and g == sorted(g) for g in groups)
    assert [g[0] for g in groups] == sorted(g[0] for g in groups)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([0.6, 0.7, 0.84, 0.9]))
def test_every_group_is_connected_through_scores_at_the_threshold(
    seed: int, similarity: float
) -> None:
    fps, _ = synthetic_fingerprints(100, seed=seed, planted=25)
    for members in group(fps, similarity):
        reached, frontier = {members[0]}, [members[0]]
        while frontier:
            current = frontier.pop()
            for other in members:
                if other not in reached and compare(fps[current], fps[other]) >= similarity:
                    reached.add(other)
                    frontier.append(other)
        assert reached == set(members)


def test_index_path_agrees_with_all_pairs_scoring() -> None:
    fps, _ = synthetic_fingerprints(200, seed=3, planted=50)
    small = [group(fps[start : start + 50]) for start in range(0, 200, 50)]  # exact path
    large = group(fps)  # index path
    expected = {
        frozenset(start + i for i in members)
        for start, groups in zip(range(0, 200, 50), small, strict=True)
        for members in groups
    }
    assert {
        frozenset(g) for g in large if max(g) - min(g) < 50 and min(g) // 50 == max(g) // 50
    } == expected


def test_groups_are_disjoint() -> None:
    fps, _ = synthetic_fingerprints(300, seed=1, planted=60)
    groups = group(fps, similarity=0.7)
    for a, b in itertools.combinations(groups, 2):
        assert not set(a) & set(b)
