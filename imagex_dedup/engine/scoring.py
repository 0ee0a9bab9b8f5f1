"""Similarity of two fingerprints, in [0, 1].

Hamming distances between hashes of the two pictures, each the minimum over the eight dihedral
orientations (identity, flips, 90/180/270-degree rotations, transposes) and expressed as a
fraction of the bits compared, one per *kind* of alignment:

* ``full``: full hash against full hash (256 bits);
* ``centre``: one picture's full hash, cut to its 10x10 lowest frequencies, against the other's
  centred windows (catches centred crops, corner overlays, a picture padded by a quarter);
* ``side``: the same against the side windows (catches one-side crops);
* ``masked``: each masked window against the other's same window (the band it leaves out maps
  through the orientation): catches a caption box, logo or banner near one side;
* ``tilt``: one picture's tilted centred windows against the other's full-hash low frequencies
  and centred windows: catches tilts of 2-5 degrees, cropped straight or with filled corners.

Each distance maps linearly to a score that is exactly :data:`DEFAULT_SIMILARITY` at its
tolerance and 1.0 at distance 0::

    score = max(1 - 0.16 * d_kind / TOLERANCE[kind])

A sixth kind compares the *grids* of mean luminances by rank: the mean absolute rank difference
of the cells, leaving out the :data:`GRID_IGNORED` cells that differ most (an overlay, the
corners of a tilt), in rank units. It scores like the others, against :data:`GRID_TOLERANCE`,
and counts only when both grids vary well (:data:`GRID_SPREAD`): the ranks of smooth cells are
decided by noise.

**Low-detail pictures.** When either grid varies little (its spread, see :class:`Prepared`,
below :data:`LOW_DETAIL` levels: near-blank, dark and flat, or one smooth gradient), the
hash signs are decided by whatever little structure there is, or by an overlay: two different
dark photos with the same caption box in one corner get the same full hash. Such pairs are
matched strictly: unless the whole pictures nearly coincide (:data:`NEAR_IDENTICAL`; a window
that coincides counts only while the grids are not clearly apart, :data:`WINDOW_GRID_LIMIT`:
an overlay makes the windows of two different dark photos coincide), the grids must agree as
well (the score is capped by the grid distance against the looser :data:`VETO_TOLERANCE`: 0.84
exactly at it, proportionally less beyond), and a *blank* picture (:data:`BLANK`) matches
through the whole-picture kinds only, since a blank band or corner looks
like any other. A tilt is the exception: the corners it fills (black or mirrored) and noise
decide the ranks of a flat grid, so the grid cannot confirm it (flat textures tilted by 2-5
degrees measured 7-14 rank units from their originals, different low-detail tiles 2.5-7.6).
Two other agreements do instead: a tilted window that nearly coincides (:data:`NEAR_IDENTICAL`)
and whole pictures that broadly agree (the full hashes scored against the looser
:data:`TILT_WHOLE_TOLERANCE`); the pair scores the weaker of the two.

**Empty pictures.** A picture whose grid cells all lie within :data:`EMPTY_RANGE` levels of
each other (a plain white page, a black frame) has no structure at all: its hashes are signs of
nothing (its windows come out the same as any other empty picture's, its full hash is decided
by a mark in its margin or by noise), so no hash comparison means anything. An empty picture
matches only another empty picture, by level: 0.84 exactly at :data:`EMPTY_LEVELS` levels apart.
A picture with a mark in it (a sheet of paper with a signature) is not empty and never matches
an empty one.

The result is clipped to [0, 1]. Calibration (bench/bench_accuracy.py): the tolerances sit just
below the closest *different* pictures measured on the labelled set (a stereo pair, two views of
one scene a few per cent apart; look-alike textures); 0.84 favours precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imagex_dedup.engine.fingerprint import (
    CENTRED_WINDOWS,
    CONTENT,
    FULL_BYTES,
    FULL_SIDE,
    GRID_OFFSET,
    GRID_SIDE,
    MASKED,
    REGIONS,
    TILTED,
    WINDOW_BYTES,
    WINDOW_SIDE,
    WINDOWS,
    Fingerprint,
    fingerprint_rows,
)

DEFAULT_SIMILARITY = 0.84

FULL_TOLERANCE = 0.25
CENTRE_TOLERANCE = 0.14
SIDE_TOLERANCE = 0.08
MASKED_TOLERANCE = 0.08
TILT_TOLERANCE = 0.14
CONTENT_TOLERANCE = 0.14
GRID_IGNORED = 12
"""Grid cells left out of a grid comparison: the ones that differ most in rank."""
GRID_TOLERANCE = 2.5
"""Mean rank difference (of 64 cells) of the kept cells at which the grid kind scores 0.84."""
VETO_TOLERANCE = 8.0
"""Mean rank difference at which a low-detail pair's score is capped to 0.84."""
LOW_DETAIL = 8.0
"""Grid spread (levels 0-255, see :class:`Prepared`) below which a picture is low-detail."""
GRID_SPREAD = 24.0
"""Grid spread both pictures need for the grid kind to count."""
NEAR_IDENTICAL = 0.95
"""A low-detail pair whose whole pictures score this much matches without the grid check; a
tilted window this close counts without it too (see :data:`TILT_WHOLE_TOLERANCE`)."""
WINDOW_GRID_LIMIT = 10.0
"""Grid distance beyond which a low-detail pair whose whole pictures do not nearly coincide is
no longer let through by a near-identical *window*: the same caption box over two different dark
photos makes their windows coincide while their grids stay 10.6-14 rank units apart; copies of
one picture matching through a window measured 0.9-8.0 (median to 95th percentile, both seeds of
the accuracy bench)."""
TILT_WHOLE_TOLERANCE = 0.34
"""Full-hash distance (fraction of the bits) at which a low-detail pair with a near-identical
tilted window scores 0.84 without the grid check: two thirds of the bits agree (the flat
textures' tilted copies were 21-32 % apart from their originals; unrelated pictures, half)."""
BLANK = 1.5
"""Grid spread below which a picture counts as blank."""
EMPTY_RANGE = 2
"""Levels between the darkest and brightest grid cell up to which a picture counts as empty
(encoding noise on a plain picture moves cells by a level or so)."""
EMPTY_LEVELS = 32.0
"""Difference of the median levels at which two empty pictures score 0.84."""
_SLOPE = 1.0 - DEFAULT_SIMILARITY

FULL_BITS = FULL_SIDE * FULL_SIDE - 1
WINDOW_BITS = WINDOW_SIDE * WINDOW_SIDE - 1
_CELLS = GRID_SIDE * GRID_SIDE
_MASKED = slice(len(WINDOWS), len(WINDOWS) + len(MASKED))
_TILTED = slice(len(WINDOWS) + len(MASKED), len(WINDOWS) + len(MASKED) + TILTED)


def _orientations() -> list[tuple[bool, bool, bool]]:
    """(transpose, horizontal flip, vertical flip) of orientation 0-7; 0 is the identity.

    The picture is transposed first, then flipped.
    """
    return [(t, h, v) for t in (False, True) for h in (False, True) for v in (False, True)]


def _dihedral(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit permutations and XOR masks giving the hashes of the 8 dihedral transforms.

    For a ``side x side`` block of DCT sign bits (row = vertical frequency u, column =
    horizontal frequency v): transposing the picture transposes the block, a horizontal flip
    negates every coefficient with odd v, a vertical flip every coefficient with odd u.
    Returns ``perms`` (8, side*side) and ``masks`` (8, side*side) bool, orientation 0 = identity.
    """
    index = np.arange(side * side).reshape(side, side)
    u, v = np.indices((side, side))
    perms, masks = [], []
    for transpose, hflip, vflip in _orientations():
        perms.append((index.T if transpose else index).ravel())
        masks.append((((v % 2 == 1) & hflip) ^ ((u % 2 == 1) & vflip)).ravel())
    return np.array(perms), np.array(masks)


def _grid_perms() -> np.ndarray:
    """(8, cells): the grid of the oriented picture is ``grid[perms[o]]`` (row-major cells)."""
    index = np.arange(_CELLS).reshape(GRID_SIDE, GRID_SIDE)
    perms = []
    for transpose, hflip, vflip in _orientations():
        cells = index.T if transpose else index
        cells = cells[:, ::-1] if hflip else cells
        perms.append((cells[::-1] if vflip else cells).ravel())
    return np.array(perms)


def _masked_sides() -> np.ndarray:
    """(8, len(MASKED)): which masked window of the oriented picture each one becomes."""
    sides = []
    for transpose, hflip, vflip in _orientations():
        row = []
        for top, bottom, left, right in MASKED:
            if transpose:
                top, bottom, left, right = left, right, top, bottom
            if hflip:
                left, right = right, left
            if vflip:
                top, bottom = bottom, top
            row.append(MASKED.index((top, bottom, left, right)))
        sides.append(row)
    return np.array(sides)


_FULL_PERMS, _FULL_MASKS = _dihedral(FULL_SIDE)
_WINDOW_PERMS, _WINDOW_MASKS = _dihedral(WINDOW_SIDE)
_GRID_PERMS = _grid_perms()
MASKED_SIDES = _masked_sides()
"""(8, len(MASKED)): the masked window of the other picture that masked window m of a picture
in orientation o is compared with (``MASKED_SIDES[o, m]``); the database keys tag by it."""
_LOW_INDEX = (np.arange(WINDOW_SIDE)[:, None] * FULL_SIDE + np.arange(WINDOW_SIDE)).ravel()
"""Positions of the 10x10 lowest frequencies inside the 16x16 full hash bits."""


def dihedral_bits(bits: np.ndarray, side: int, orientation: int) -> np.ndarray:
    """Unpacked hash bits (``side * side`` bools) of the picture in dihedral ``orientation`` 0-7."""
    pair = (_FULL_PERMS, _FULL_MASKS) if side == FULL_SIDE else (_WINDOW_PERMS, _WINDOW_MASKS)
    perms, masks = pair
    return bits[perms[orientation]] ^ masks[orientation]


def _orient(bits: np.ndarray, perms: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``(n, k)`` bool bits -> ``(n, 8, k)`` bits of the 8 orientations."""
    return bits[:, perms] ^ masks


def orient_regions(words: np.ndarray) -> np.ndarray:
    """(n, r, 2) packed 10x10 hashes -> (n, 8, r, 2): each hash in every orientation."""
    packed = np.ascontiguousarray(words).view(np.uint8)
    bits = np.unpackbits(packed, axis=-1)[..., : WINDOW_SIDE * WINDOW_SIDE].astype(bool)
    oriented = bits[..., _WINDOW_PERMS] ^ _WINDOW_MASKS  # (n, r, 8, bits)
    return _words(np.packbits(oriented.transpose(0, 2, 1, 3), axis=-1))


def _grid_ranks(grids: np.ndarray) -> np.ndarray:
    """(n, cells) uint8 grids -> twice each cell's average rank (ties share one), int16.

    Ranks make the grid comparison blind to brightness, contrast and gamma (any monotonic
    change of the levels). Counted from each grid's histogram of its 256 levels: a cell's rank
    doubled is (cells below it) + (cells at or below it) - 1.
    """
    n = len(grids)
    keyed = grids.astype(np.intp) + (np.arange(n) * 256)[:, None]  # row r's levels at r * 256
    counts = np.bincount(keyed.ravel(), minlength=n * 256)
    at_most = np.cumsum(counts.reshape(n, 256), axis=1).ravel()[keyed]
    return (2 * at_most - counts[keyed] - 1).astype(np.int16)


@dataclass(frozen=True)
class Prepared:
    """Hash arrays of many fingerprints, ready for vectorised pair scoring.

    Packed bits in uint64 words (zero-padded) so popcounts run a word at a time. ``full``:
    (n, k, 4) the full hash; ``low``: (n, k, 2) its 10x10 low frequencies; ``regions``:
    (n, REGIONS, 2) the window, masked and tilted hashes as stored. ``k`` is 8 (every dihedral
    orientation, needed on the query side of :func:`pair_scores`) or 1 (as stored). ``ranks``:
    (n, cells) twice the grid's cell ranks; ``spread``: (n,) how much the grid varies, in levels:
    the mean absolute deviation of its cells from their median, leaving out the
    :data:`GRID_IGNORED` most deviant cells (so an overlay does not make a flat picture look
    detailed); ``empty``: (n,) bool, no variation at all (:data:`EMPTY_RANGE`); ``level``:
    (n,) the grid's median level.
    """

    full: np.ndarray
    low: np.ndarray
    regions: np.ndarray
    ranks: np.ndarray
    spread: np.ndarray
    empty: np.ndarray
    level: np.ndarray

    def __len__(self) -> int:
        return len(self.full)

    @property
    def windows(self) -> np.ndarray:
        """(n, len(WINDOWS), 2): the window hashes (the ones the index keys cover)."""
        return self.regions[:, : len(WINDOWS)]


def _words(packed: np.ndarray) -> np.ndarray:
    """uint8 array (..., k) -> uint64 words (..., ceil(k / 8)), zero-padded at the end."""
    pad = -packed.shape[-1] % 8
    padded = np.concatenate([packed, np.zeros((*packed.shape[:-1], pad), np.uint8)], axis=-1)
    return np.ascontiguousarray(padded).view(np.uint64)


def prepare(fingerprints: Sequence[Fingerprint | bytes], *, oriented: bool = True) -> Prepared:
    """Validate and unpack fingerprints into the arrays :func:`pair_scores` works on.

    ``oriented=False`` skips the 8 dihedral orientations of the full hash: for the candidate
    side only.
    """
    rows = fingerprint_rows(fingerprints)
    regions = rows[:, 1 + FULL_BYTES : GRID_OFFSET].reshape(-1, REGIONS, WINDOW_BYTES)
    full_bits = np.unpackbits(rows[:, 1 : 1 + FULL_BYTES], axis=1).astype(bool)
    if oriented:
        full = _orient(full_bits, _FULL_PERMS, _FULL_MASKS)
        low = _orient(full_bits[:, _LOW_INDEX], _WINDOW_PERMS, _WINDOW_MASKS)
    else:
        full, low = full_bits[:, None], full_bits[:, None, _LOW_INDEX]
    grids = rows[:, GRID_OFFSET:]
    level = np.median(grids, axis=1)
    deviation = np.sort(np.abs(grids - level[:, None]), axis=1)
    return Prepared(
        full=_words(np.packbits(full, axis=2)),
        low=_words(np.packbits(low, axis=2)),
        regions=_words(regions),
        ranks=_grid_ranks(grids),
        spread=deviation[:, : _CELLS - GRID_IGNORED].mean(axis=1),
        empty=np.ptp(grids, axis=1) <= EMPTY_RANGE,
        level=level,
    )


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of uint64 words (last axis); explicit adds beat ``sum`` on short axes."""
    counts = np.bitwise_count(words)
    total = counts[..., 0].astype(np.int16)
    for k in range(1, words.shape[-1]):
        total += counts[..., k]
    return total


def score_from_distance(distance: np.ndarray, bits: int, tolerance: float) -> np.ndarray:
    """Linear map of a Hamming distance: 1.0 at 0, ``DEFAULT_SIMILARITY`` at the tolerance."""
    return 1.0 - _SLOPE * (distance / bits) / tolerance


def _rows(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``array[index]``, or the one row ``array[index[:1]]`` when every index is the same
    (one query against many candidates): it broadcasts against the other side's ``k`` rows
    instead of being copied ``k`` times."""
    if len(index) and (index == index[0]).all():
        return array[index[:1]]
    return array[index]


def _oriented_rows(words: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``orient_regions(words[index])`` (as :func:`_rows`), computing each distinct row once."""
    unique, inverse = np.unique(index, return_inverse=True)
    oriented = orient_regions(words[unique])
    return oriented if len(unique) == 1 else oriented[inverse]


def _grid_differences(a: Prepared, ia: np.ndarray, b: Prepared, ib: np.ndarray) -> np.ndarray:
    """(k, 8, cells): rank differences of the grid cells of pairs, in every orientation of a."""
    return np.abs(_rows(a.ranks, ia)[:, _GRID_PERMS] - b.ranks[ib][:, None, :])


def _grid_kept_mean(diff: np.ndarray) -> np.ndarray:
    """Mean rank difference of the grid cells of pairs, the worst :data:`GRID_IGNORED` left
    out, in the best orientation (rank units: 0 for the same order, about 21 for unrelated)."""
    kept = _CELLS - GRID_IGNORED
    best = np.partition(diff, kept - 1, axis=-1)[..., :kept].sum(axis=-1).min(axis=1)
    return best / (2.0 * kept)


def _grid_floor(diff: np.ndarray) -> np.ndarray:
    """A lower bound of :func:`_grid_kept_mean` at a tenth of its cost: the left-out cells are
    at most :data:`GRID_IGNORED` times the largest difference."""
    bound = diff.sum(axis=-1, dtype=np.int32) - GRID_IGNORED * diff.max(axis=-1)
    return np.maximum(bound.min(axis=1), 0) / (2.0 * (_CELLS - GRID_IGNORED))


def _region_distances(
    a: Prepared, ia: np.ndarray, b: Prepared, ib: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distances of the kinds centre, side, masked and tilt of pairs (a[ia], b[ib])."""
    a_regions = _oriented_rows(a.regions, ia)  # (k, 8, REGIONS, 2)
    b_low, b_regions = b.low[ib, :1], b.regions[ib]
    # low frequencies of one side's full hash against the other's windows, in all orientations
    ab = popcount(_rows(a.low, ia)[:, :, None] ^ b_regions[:, None, : len(WINDOWS)]).min(axis=1)
    ba = popcount(b_low[:, :, None] ^ a_regions[:, :, : len(WINDOWS)]).min(axis=1)
    windows = np.minimum(ab, ba)
    b_masked = b_regions[:, _MASKED][:, MASKED_SIDES]  # (k, 8, masked, 2)
    masked = popcount(a_regions[:, :, _MASKED] ^ b_masked).min(axis=(1, 2))
    # tilted centred windows of one side against the other's low frequencies and centred windows
    b_plain = np.concatenate([b_low, b_regions[:, :CENTRED_WINDOWS]], axis=1)  # (k, 3, 2)
    a_plain = np.concatenate(
        [_rows(a.low, ia)[:, :, None], a_regions[:, :, :CENTRED_WINDOWS]], axis=2
    )  # (k, 8, 3, 2)
    tilt_ab = popcount(a_regions[:, :, _TILTED, None] ^ b_plain[:, None, None]).min(axis=(1, 2, 3))
    tilt_ba = popcount(b_regions[:, None, _TILTED, None] ^ a_plain[:, :, None]).min(axis=(1, 2, 3))
    return (
        windows[:, :CENTRED_WINDOWS].min(axis=1),
        windows[:, CENTRED_WINDOWS:].min(axis=1),
        masked,
        np.minimum(tilt_ab, tilt_ba),
    )


def _grid_distances(
    a: Prepared,
    ia: np.ndarray,
    b: Prepared,
    ib: np.ndarray,
    spread: np.ndarray,
    others: np.ndarray,
) -> np.ndarray:
    """:func:`_grid_kept_mean` where it can change a score, a lower bound of it elsewhere.

    The grid decides a score only for a low-detail pair (its veto) or for a well-varied pair
    whose grid kind could beat the ``others`` kinds; for most pairs (unrelated candidates) the
    cheap bound already rules that out, so the partial sort is skipped. The scores are the same.
    """
    diff = _grid_differences(a, ia, b, ib)
    grid = _grid_floor(diff)
    best_case = score_from_distance(grid, 1, GRID_TOLERANCE)
    exact = (spread < LOW_DETAIL) | ((spread >= GRID_SPREAD) & (best_case > others))
    grid[exact] = _grid_kept_mean(diff[exact])
    return grid


def content_present(regions: np.ndarray) -> np.ndarray:
    """(n, REGIONS, 2) region words -> (n,) whether each fingerprint has a content window (an
    absent one is stored as all 0 bits)."""
    return regions[:, CONTENT].any(axis=-1)


def content_distance(a: Prepared, ia: np.ndarray, b: Prepared, ib: np.ndarray) -> np.ndarray:
    """Distance of the content kind of pairs: a content window against the other picture's
    whole picture (its full hash's low frequencies) or content window, in the best orientation;
    ``WINDOW_BITS + 1`` (never a match) when neither picture has a content window."""
    a_content = _oriented_rows(a.regions[:, CONTENT : CONTENT + 1], ia)[:, :, 0]  # (k, 8, 2)
    b_content = b.regions[ib, CONTENT]  # (k, 2)
    b_low = b.low[ib, 0]
    to_b = popcount(a_content ^ b_low[:, None]).min(axis=1)
    both = popcount(a_content ^ b_content[:, None]).min(axis=1)
    from_b = popcount(_rows(a.low, ia) ^ b_content[:, None]).min(axis=1)
    far = WINDOW_BITS + 1
    has_a, has_b = content_present(a.regions[ia]), content_present(b.regions[ib])
    return np.minimum.reduce(
        [
            np.where(has_a, to_b, far),
            np.where(has_a & has_b, both, far),
            np.where(has_b, from_b, far),
        ]
    )


def pair_scores(a: Prepared, ia: np.ndarray, b: Prepared, ib: np.ndarray) -> np.ndarray:
    """Scores of the pairs ``(a[ia[k]], b[ib[k]])`` as float64, vectorised over k.

    ``a`` must be prepared with orientations; ``b`` need not be. Orienting only one side is
    enough: for a dihedral transform o, ``|o(x) ^ y| == |x ^ o^-1(y)|``.
    """
    full = popcount(_rows(a.full, ia) ^ b.full[ib, :1]).min(axis=1)
    centre, side, masked, tilt = _region_distances(a, ia, b, ib)
    tilt_score = score_from_distance(tilt, WINDOW_BITS, TILT_TOLERANCE)
    whole_score = score_from_distance(full, FULL_BITS, FULL_TOLERANCE)
    aligned = np.maximum.reduce(
        [
            whole_score,
            score_from_distance(centre, WINDOW_BITS, CENTRE_TOLERANCE),
            score_from_distance(side, WINDOW_BITS, SIDE_TOLERANCE),
            score_from_distance(content_distance(a, ia, b, ib), WINDOW_BITS, CONTENT_TOLERANCE),
        ]
    )
    partial = np.maximum(score_from_distance(masked, WINDOW_BITS, MASKED_TOLERANCE), tilt_score)
    spread = np.minimum(a.spread[ia], b.spread[ib])
    grid = _grid_distances(a, ia, b, ib, spread, np.maximum(aligned, partial))
    grid_kind = np.where(spread >= GRID_SPREAD, score_from_distance(grid, 1, GRID_TOLERANCE), 0.0)
    detailed = np.maximum.reduce([aligned, partial, grid_kind])
    # low detail: no grid kind, no partial kinds for a blank picture (a blank band or corner
    # matches any other), and the grids must agree, unless the whole pictures (or a window,
    # with grids not clearly apart) nearly coincide, or a tilted window nearly coincides while
    # the whole pictures broadly agree
    strict = np.maximum(aligned, np.where(spread < BLANK, 0.0, partial))
    low = np.minimum(strict, score_from_distance(grid, 1, VETO_TOLERANCE))
    apart = grid > WINDOW_GRID_LIMIT
    low = np.where(
        (aligned >= NEAR_IDENTICAL) & ((whole_score >= NEAR_IDENTICAL) | ~apart), aligned, low
    )
    whole = np.minimum(tilt_score, score_from_distance(full, FULL_BITS, TILT_WHOLE_TOLERANCE))
    tilted = (tilt_score >= NEAR_IDENTICAL) & (spread >= BLANK) & ~apart
    low = np.where(tilted, np.maximum(low, whole), low)
    score = np.where(spread < LOW_DETAIL, low, detailed)
    # empty pictures: by level, and only with each other
    empty_a, empty_b = a.empty[ia], b.empty[ib]
    levels = score_from_distance(np.abs(a.level[ia] - b.level[ib]), 1, EMPTY_LEVELS)
    score = np.where(empty_a | empty_b, np.where(empty_a & empty_b, levels, 0.0), score)
    return np.clip(score, 0.0, 1.0)


def compare_many(
    query: Fingerprint | bytes, candidates: Sequence[Fingerprint | bytes]
) -> np.ndarray:
    """Score ``query`` against every candidate; float64 array in candidate order."""
    if not candidates:
        return np.zeros(0, np.float64)
    q = prepare([query])
    c = prepare(candidates, oriented=False)
    return pair_scores(q, np.zeros(len(c), np.intp), c, np.arange(len(c)))


def compare(a: Fingerprint | bytes, b: Fingerprint | bytes) -> float:
    """Similarity of two fingerprints in [0, 1]; 1.0 for identical content (any orientation)."""
    return float(compare_many(a, [b])[0])
