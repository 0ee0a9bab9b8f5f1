from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagex_dedup.engine import (
    Fingerprint,
    assign,
    compare,
    compare_many,
    fingerprint_image,
    group,
)
from imagex_dedup.engine.fingerprint import FULL_SIDE, GRID_BYTES, REGIONS, WINDOW_SIDE
from imagex_dedup.engine.keys import SEGMENT_BITS, SEGMENTS, segment_positions
from imagex_dedup.engine.links import EXACT_MAX, components, linked_pairs
from imagex_dedup.engine.scoring import prepare
from tests.engine.conftest import photo
from tests.support.synthetic import pack, synthetic_fingerprints
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


def _fingerprint(full: np.ndarray, seed: int = 0) -> Fingerprint:
    """A fingerprint with these full-hash bits; random region hashes and a detailed grid, so
    pairs match through the full hash alone (score ``1 - 0.16 * distance / (0.25 * 255)``)."""
    rng = np.random.default_rng(seed)
    regions = rng.random((REGIONS, 100)) < 0.5
    regions[:, 0] = False
    return pack(full, regions, rng.integers(0, 256, GRID_BYTES))


def _base(seed: int) -> np.ndarray:
    bits = np.random.default_rng(seed).random(256) < 0.5
    bits[0] = False
    return bits


def _flipped(bits: np.ndarray, positions: np.ndarray) -> np.ndarray:
    out = bits.copy()
    out[positions] ^= True
    return out


def test_two_views_are_not_grouped_through_their_edited_copies() -> None:
    """A stereo pair: the views score 0.82; each has copies, two of which are edited halfway
    towards the other view and link to it. Two groups, one per view."""
    positions = np.random.default_rng(0).permutation(np.arange(1, 256))
    apart, elsewhere = positions[:70], positions[70:]  # 70 bits apart: score 0.82
    left = _base(1)
    views = [left, _flipped(left, apart)]
    fps = []
    for view in (0, 1):
        towards = apart[:22] if view == 0 else apart[-22:]
        own = elsewhere[60 * view : 60 * view + 60]
        fps.append(_fingerprint(views[view], seed=len(fps)))
        for k in range(4):  # plain copies: 6 bits from the view
            fps.append(_fingerprint(_flipped(views[view], own[6 * k : 6 * k + 6]), len(fps)))
        for k in range(2):  # 22 bits towards the other view and 10 more: links to both views
            edit = np.concatenate([towards, own[30 + 10 * k : 40 + 10 * k]])
            fps.append(_fingerprint(_flipped(views[view], edit), seed=len(fps)))
    assert compare(fps[0], fps[7]) < 0.84
    assert compare(fps[5], fps[7]) >= 0.84 and compare(fps[12], fps[0]) >= 0.84
    assert group(fps) == [list(range(7)), list(range(7, 14))]


def test_a_family_stays_one_group_but_no_picture_joins_through_another() -> None:
    base = _base(2)
    positions = np.random.default_rng(1).permutation(np.arange(1, 256))
    one, two = positions[:40], positions[40:80]  # 40 bits: 0.90; 80 bits: 0.80
    edits = [_flipped(base, one), _flipped(base, two), _flipped(base, [*one[:20], *two[:20]])]
    family = [_fingerprint(bits, seed=i) for i, bits in enumerate([base, *edits])]
    assert compare(family[1], family[2]) < 0.84  # two edits that do not match each other
    assert group(family) == [[0, 1, 2, 3]]  # but most pairs match
    assert [len(g) for g in group(family[:3])] == [2]  # 1 and 2 match only 0: one of them
    chain = [_flipped(base, positions[: 40 * k]) for k in range(4)]  # each 40 bits on
    fps = [_fingerprint(bits, seed=i) for i, bits in enumerate(chain)]
    assert [compare(fps[k], fps[k + 1]) >= 0.84 for k in range(3)] == [True] * 3
    assert all(len(g) == 2 for g in group(fps))


def _family(seed: int, size: int) -> list[Fingerprint]:
    """A picture and ``size - 1`` copies a few bits from it, all linked to each other."""
    base = _base(seed)
    rng = np.random.default_rng(seed)
    copies = [base] + [
        _flipped(base, rng.choice(np.arange(1, 256), 8, replace=False)) for _ in range(size - 1)
    ]
    return [_fingerprint(bits, seed=seed * 100 + i) for i, bits in enumerate(copies)]


def _hidden_family(seed: int, size: int) -> list[Fingerprint]:
    """A picture and ``size - 1`` copies, all linked to each other (8 bits apart at most), but
    the index sees only some links: each copy differs from the picture by 2 bits in each of two
    of the 4 round-robin key segments (alternately the first two and the last two), so a copy
    shares a key with the picture and with the copies of its own kind, and none with the others
    (they differ by 2 bits in every segment: beyond radius-1 probes)."""
    base = _base(seed)
    rng = np.random.default_rng(seed)
    segments = segment_positions(SEGMENTS, SEGMENT_BITS)
    full_positions = (segments // WINDOW_SIDE) * FULL_SIDE + segments % WINDOW_SIDE
    copies = [base]
    for k in range(1, size):
        halves = full_positions[:2] if k % 2 else full_positions[2:]
        flips = np.concatenate([rng.choice(half, 2, replace=False) for half in halves])
        copies.append(_flipped(base, flips))
    return [_fingerprint(bits, seed=seed * 100 + i) for i, bits in enumerate(copies)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(2, 6), st.integers(0, 4 * EXACT_MAX))
def test_a_group_does_not_depend_on_unrelated_images(seed: int, size: int, extra: int) -> None:
    """Alone, a family is grouped on the exact path (every pair scored); among up to 4 times
    ``EXACT_MAX`` unrelated images, on the index path, where the links the index does not see
    between copies are found by scoring every pair of the linked component: same groups."""
    own = _hidden_family(seed, size) + _family(seed + 1, 3)
    unrelated, _ = synthetic_fingerprints(extra, seed=seed, planted=extra // 4)
    assert all(compare_many(fp, own).max() < 0.84 for fp in unrelated)
    alone = group(own)
    together = group(own + unrelated)
    assert [g for g in together if g[0] < len(own)] == alone
    assert alone == [list(range(size)), list(range(size, size + 3))]


def test_links_beyond_the_exact_path_are_every_pair_scoring_at_the_threshold() -> None:
    """Four families whose copies the index links only through their picture, among random
    fingerprints: the links are exactly the pairs ``compare`` scores >= 0.84."""
    fps = [fp for seed in range(4) for fp in _hidden_family(seed, 6)]
    fps += synthetic_fingerprints(2 * EXACT_MAX, seed=5, planted=20)[0]
    prepared = prepare(fps)
    a, b, scores = linked_pairs(prepared, 0.84)
    every = np.array([[compare(x, y) for y in fps] for x in fps[:24]])
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(every >= 0.84, 1)), strict=True)}
    assert {(i, j) for i, j in zip(a.tolist(), b.tolist(), strict=True) if i < 24} == expected
    assert len(expected) == 4 * 15
    assert scores.min() >= 0.84


def test_components_are_labelled_by_their_smallest_member() -> None:
    a, b = np.array([5, 1, 3, 6]), np.array([3, 4, 1, 7])
    assert components(9, a, b).tolist() == [0, 1, 2, 1, 1, 1, 6, 6, 8]
    assert components(3, np.zeros(0, int), np.zeros(0, int)).tolist() == [0, 1, 2]


def test_assign_joins_the_best_matching_representative() -> None:
    base = _base(3)
    positions = np.random.default_rng(2).permutation(np.arange(1, 256))
    near, nearer = _flipped(base, positions[:30]), _flipped(base, positions[:10])
    representatives = [_fingerprint(near, 1), _fingerprint(nearer, 2), _fingerprint(_base(4), 3)]
    new = _fingerprint(base, 4)
    assert assign(new, representatives) == 1
    assert assign(new, [representatives[0], representatives[0]]) == 0  # tie: the older one
    assert assign(new, representatives[2:]) is None
    assert assign(new, []) is None
    with pytest.raises(ValueError):
        assign(new, representatives, similarity=-0.1)


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


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.lists(st.integers(1, 6), min_size=2, max_size=5), st.randoms())
def test_families_with_bridges_group_the_same_in_any_order(seed: int, sizes, rnd) -> None:
    """Families of copies plus an image halfway between each two (a bridge): the groups do not
    depend on the input order, every member is linked within its group, and no group holds two
    whole families."""
    fps, family = [], []
    for k, size in enumerate(sizes):
        members = _family(seed + 7 * k, size)
        fps += members
        family += [k] * len(members)
    for a in range(len(sizes) - 1):  # one image halfway between each family and the next
        base_a, base_b = _base(seed + 7 * a), _base(seed + 7 * (a + 1))
        differ = np.flatnonzero(base_a != base_b)
        fps.append(_fingerprint(_flipped(base_a, differ[: len(differ) // 2]), seed + len(fps)))
        family.append(-1)
    order = list(range(len(fps)))
    rnd.shuffle(order)
    groups = group(fps)
    assert _relabelled(group([fps[i] for i in order]), order) == {frozenset(g) for g in groups}
    for members in groups:
        for member in members:
            others = [fps[i] for i in members if i != member]
            assert compare_many(fps[member], others).max() >= 0.84  # linked within its group
        whole = {
            k
            for k in set(family) - {-1}
            if family.count(k) > 1 and all(i in members for i, f in enumerate(family) if f == k)
        }
        assert len(whole) <= 1
