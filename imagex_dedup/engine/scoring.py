"""Similarity of two fingerprints, in [0, 1].

Three Hamming distances, each the minimum over the eight dihedral orientations (identity,
flips, 90/180/270-degree rotations, transposes) and expressed as a fraction of the bits compared:

* ``full``: full hash against full hash (256 bits);
* ``centre``: one picture's full hash, cut to its 10x10 lowest frequencies, against the other's
  centred window (catches centred crops, small tilts cropped straight, corner overlays);
* ``side``: the same against the side windows (catches one-side crops).

Each distance maps linearly to a score that is exactly :data:`DEFAULT_SIMILARITY` at its
tolerance and 1.0 at distance 0; the result is the best of the three, clipped to [0, 1]::

    score = max(1 - 0.16 * d_kind / TOLERANCE[kind])

Calibration (bench/bench_accuracy.py): the tolerances sit just below the closest *different*
pictures measured on the labelled set, the hard negatives being a stereo pair (two views of one
scene a few per cent apart: full 0.27, side 0.10) and look-alike textures, so 0.84 favours
precision. The side windows line up crops so well that they get the tightest tolerance: a
shifted scene (the stereo pair) lines up almost as well. Lower thresholds trade precision for
recall proportionally on all three kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from imagex_dedup.engine.fingerprint import (
    FULL_BYTES,
    FULL_SIDE,
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
_SLOPE = 1.0 - DEFAULT_SIMILARITY

FULL_BITS = FULL_SIDE * FULL_SIDE - 1
WINDOW_BITS = WINDOW_SIDE * WINDOW_SIDE - 1


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
    for transpose in (False, True):
        for hflip in (False, True):
            for vflip in (False, True):
                perms.append((index.T if transpose else index).ravel())
                masks.append((((v % 2 == 1) & hflip) ^ ((u % 2 == 1) & vflip)).ravel())
    return np.array(perms), np.array(masks)


_FULL_PERMS, _FULL_MASKS = _dihedral(FULL_SIDE)
_WINDOW_PERMS, _WINDOW_MASKS = _dihedral(WINDOW_SIDE)
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


@dataclass(frozen=True)
class Prepared:
    """Hash arrays of many fingerprints, ready for vectorised pair scoring.

    Packed bits in uint64 words (zero-padded) so popcounts run a word at a time. ``full``:
    (n, k, 4) the full hash; ``low``: (n, k, 2) its 10x10 low frequencies; ``windows``:
    (n, len(WINDOWS), 2) the window hashes as stored. ``k`` is 8 (every dihedral orientation,
    needed on the query side of :func:`pair_scores`) or 1 (as stored: enough for candidates).
    """

    full: np.ndarray
    low: np.ndarray
    windows: np.ndarray

    def __len__(self) -> int:
        return len(self.full)

    @cached_property
    def oriented_windows(self) -> np.ndarray:
        """(n, 8, len(WINDOWS), 2): every window hash in every orientation (computed on use)."""
        packed = np.ascontiguousarray(self.windows).view(np.uint8)
        bits = np.unpackbits(packed, axis=-1)[..., : WINDOW_SIDE * WINDOW_SIDE].astype(bool)
        oriented = bits[..., _WINDOW_PERMS] ^ _WINDOW_MASKS  # (n, windows, 8, bits)
        return _words(np.packbits(oriented.transpose(0, 2, 1, 3), axis=-1))


def _words(packed: np.ndarray) -> np.ndarray:
    """uint8 array (..., k) -> uint64 words (..., ceil(k / 8)), zero-padded at the end."""
    pad = -packed.shape[-1] % 8
    padded = np.concatenate([packed, np.zeros((*packed.shape[:-1], pad), np.uint8)], axis=-1)
    return np.ascontiguousarray(padded).view(np.uint64)


def prepare(fingerprints: Sequence[Fingerprint | bytes], *, oriented: bool = True) -> Prepared:
    """Validate and unpack fingerprints into the arrays :func:`pair_scores` works on.

    ``oriented=False`` skips the 8 dihedral orientations: for the candidate side only.
    """
    rows = fingerprint_rows(fingerprints)
    window_hashes = rows[:, 1 + FULL_BYTES :].reshape(-1, len(WINDOWS), WINDOW_BYTES)
    full_bits = np.unpackbits(rows[:, 1 : 1 + FULL_BYTES], axis=1).astype(bool)
    if oriented:
        full = _orient(full_bits, _FULL_PERMS, _FULL_MASKS)
        low = _orient(full_bits[:, _LOW_INDEX], _WINDOW_PERMS, _WINDOW_MASKS)
    else:
        full, low = full_bits[:, None], full_bits[:, None, _LOW_INDEX]
    return Prepared(
        full=_words(np.packbits(full, axis=2)),
        low=_words(np.packbits(low, axis=2)),
        windows=_words(window_hashes),
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


def pair_scores(a: Prepared, ia: np.ndarray, b: Prepared, ib: np.ndarray) -> np.ndarray:
    """Scores of the pairs ``(a[ia[k]], b[ib[k]])`` as float64, vectorised over k.

    ``a`` must be prepared with orientations; ``b`` need not be. Orienting only one side is
    enough: for a dihedral transform o, ``|o(x) ^ y| == |x ^ o^-1(y)|``.
    """
    full = popcount(a.full[ia] ^ b.full[ib, :1]).min(axis=1)
    # low frequencies of one side's full hash against the other's windows, in all orientations
    ab = popcount(a.low[ia][:, :, None] ^ b.windows[ib][:, None]).min(axis=1)
    ba = popcount(b.low[ib, :1][:, :, None] ^ a.oriented_windows[ia]).min(axis=1)
    windows = np.minimum(ab, ba)
    scores = np.maximum.reduce(
        [
            score_from_distance(full, FULL_BITS, FULL_TOLERANCE),
            score_from_distance(windows[:, 0], WINDOW_BITS, CENTRE_TOLERANCE),
            score_from_distance(windows[:, 1:].min(axis=1), WINDOW_BITS, SIDE_TOLERANCE),
        ]
    )
    return np.clip(scores, 0.0, 1.0)


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
