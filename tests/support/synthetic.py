"""Synthetic fingerprints for scale benchmarks: random ones plus planted near-duplicates.

Random fingerprints have uniformly random hash bits (DC and padding bits clear), which is the
best case for index bucket sizes and the worst for nothing else; each planted near-duplicate
copies a random fingerprint, applies a random dihedral transform (as a flip or rotation of the
picture would) and flips random bits, as re-encoding does: mostly high frequencies of the full
hash (16 of the bits outside its 10x10 low band, 4 inside) and 3 bits of every window hash, so the
copy scores about 0.95 against its original. Masked and tilted windows and the grid stay random
(uniform grid levels: never low-detail), so copies match through the full hash alone.
"""

from __future__ import annotations

import numpy as np

from imagex_dedup.engine.fingerprint import (
    FINGERPRINT_VERSION,
    FULL_SIDE,
    GRID_BYTES,
    REGIONS,
    WINDOW_BYTES,
    WINDOW_SIDE,
    WINDOWS,
    Fingerprint,
)
from imagex_dedup.engine.scoring import dihedral_bits

_LOW = np.zeros((FULL_SIDE, FULL_SIDE), bool)
_LOW[:WINDOW_SIDE, :WINDOW_SIDE] = True
_LOW_POSITIONS = np.flatnonzero(_LOW.ravel())[1:]
_HIGH_POSITIONS = np.flatnonzero(~_LOW.ravel())
_WINDOW_POSITIONS = np.arange(1, WINDOW_SIDE * WINDOW_SIDE)


def _random_bits(rng: np.random.Generator, count: int, side: int) -> np.ndarray:
    """(count, side * side) uniformly random bits, DC clear; drawn as bytes to stay small."""
    nbytes = -(-side * side // 8)
    raw = rng.integers(0, 256, (count, nbytes), dtype=np.uint8)
    bits = np.unpackbits(raw, axis=1)[:, : side * side].astype(bool)
    bits[:, 0] = False
    return bits


def _flip(
    rng: np.random.Generator, bits: np.ndarray, positions: np.ndarray, flips: int
) -> np.ndarray:
    out = bits.copy()
    out[rng.choice(positions, flips, replace=False)] ^= True
    return out


def pack(full: np.ndarray, regions: np.ndarray, grid: np.ndarray) -> Fingerprint:
    """A fingerprint from unpacked hash bits (full: 256, regions: (REGIONS, 100)) and a grid."""
    pad = WINDOW_BYTES * 8 - WINDOW_SIDE * WINDOW_SIDE
    padded = np.concatenate([regions, np.zeros((len(regions), pad), bool)], axis=1)
    data = bytes([FINGERPRINT_VERSION]) + np.packbits(full).tobytes()
    return Fingerprint(
        data + np.packbits(padded, axis=1).tobytes() + grid.astype(np.uint8).tobytes()
    )


def synthetic_fingerprints(
    n: int, *, seed: int = 0, planted: int = 0
) -> tuple[list[Fingerprint], list[tuple[int, int]]]:
    """``n`` fingerprints of which ``planted`` are near-duplicates of others.

    Returns the fingerprints and the planted pairs ``(original, copy)`` (indices, original <
    copy). Copies sit at random positions; their originals are random non-copies.
    """
    if not 0 <= planted <= n // 2:
        raise ValueError("planted must be between 0 and n // 2")
    rng = np.random.default_rng(seed)
    full = _random_bits(rng, n, FULL_SIDE)
    regions = _random_bits(rng, n * REGIONS, WINDOW_SIDE).reshape(n, REGIONS, WINDOW_SIDE**2)
    grids = rng.integers(0, 256, (n, GRID_BYTES), dtype=np.uint8)
    positions = rng.permutation(n)
    copies, originals = np.sort(positions[:planted]), positions[planted : 2 * planted]
    pairs = []
    for copy, original in zip(copies.tolist(), originals.tolist(), strict=True):
        orientation = int(rng.integers(8))
        oriented = dihedral_bits(full[original], FULL_SIDE, orientation)
        full[copy] = _flip(rng, _flip(rng, oriented, _HIGH_POSITIONS, 16), _LOW_POSITIONS, 4)
        for w in range(len(WINDOWS)):
            regions[copy, w] = _flip(rng, regions[original, w], _WINDOW_POSITIONS, 3)
        pairs.append((min(copy, original), max(copy, original)))
    fingerprints = [pack(full[i], regions[i], grids[i]) for i in range(n)]
    return fingerprints, sorted(pairs)
