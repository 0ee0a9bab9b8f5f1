"""Multi-index hashing keys, for a database inverted index and for in-memory grouping.

The 99 low-frequency bits of a hash (10x10 DCT signs without DC), in order of frequency, are cut
into segments; a key is a segment's value tagged with its position: ``key = position << bits |
value``. Database keys use two *partitions* of 96 of the 99 bits, each into :data:`SEGMENTS` = 4
segments of :data:`SEGMENT_BITS` = 24 bits: the bits dealt round-robin (each segment spans all
frequencies, positions 0-3) and the bits in frequency blocks (each segment one band, positions 4-7).
A *space* tag above the position keeps apart hashes that scoring never compares: space 0 holds the
hashes compared with each other across kinds (full-hash low frequencies, windows, tilted and content
windows), spaces 1-4 the masked window that leaves out the top, bottom, left or right band (scoring
compares a masked window only with the other picture's masked window of the side it lines up with).
Keys are ints below ``5 << 27``, well inside [0, 2**62).

* :func:`index_keys` (stored with the fingerprint), in the stored orientation: the segments of
  the full hash's low frequencies, of every window hash and of the content window (when there is
  one), in both partitions; the round-robin segments of the tilted windows (space 0) and of each
  masked window (its side's space): at most ``12 * 8 + 8 * 4`` = 128 rows.
* :func:`query_keys` (looked up for a new image), in all 8 dihedral orientations: the segments
  of its full hash's low frequencies and of its 5 % centred window, each as is and with any one
  of its 24 bits flipped (radius-1 multi-probe: ``16 * 8 * 25`` = 3,200 keys); the segments of
  its 10 % centred window, of its tilted windows and of its content window (when there is one),
  as is (``6 * 8 * 8`` = 384 keys); the round-robin segments of each masked window, as is, in
  the space of the side it lines up with in that orientation (``4 * 8 * 4`` = 128 keys): at
  most 3,712 keys, each an exact match in the ``(key, fingerprint)`` index.

Recall guarantee (pigeonhole): if the new image's full-hash low frequencies or 5 % centred window,
in some dihedral orientation, differ in at most ``2 * SEGMENTS - 1`` = 7 of the 96 bits from the
stored image's full-hash low frequencies or from any of its window, tilted window or content window
hashes, one segment of a partition (of each, but the tilted windows are cut by one) differs in at
most one bit and the pair shares a key. Pairs further apart are still found when their differences
leave one segment of either partition within one bit (differences spread over all bands leave a band
almost clean; differences packed in a band leave a round-robin segment almost clean), or, for the
as-is probes, one segment clean.

Why the masked, tilted and content windows. A caption box, a logo or a banner near one side changes
the whole picture's hash and every window's, but not the masked window that leaves that side out:
such a pair scores through the masked kind alone, so only masked keys can find it. A tilted copy
lines up with the other picture's tilted centred window, whichever of the two is stored: the stored
tilted windows meet a straight new image's radius-1 probes, the probed tilted windows meet a
straight stored image's keys. The 10 % centred window finds an original after a copy padded on every
side was stored. A photo pasted on a blurred, enlarged copy of itself (a square canvas) lines up
with its original's whole picture through its content window: the stored content window meets the
original's radius-1 probes, the probed one the original's keys. These extra kinds are cheaper than
the first two: probed as is (a pair that scores through them is within a few bits, so a segment is
usually clean, and radius-1 probes would add 25 keys per segment and as many random hits for little
recall), and the masked and tilted windows cut by the round-robin partition alone (the second
partition would add a quarter more key rows and more random hits for little recall).
bench/bench_accuracy.py measures the recall on pairs scoring >= 0.84 and bench/bench_index.py the
look-up cost (docs/benchmarks/).

Cost at scale: a stored image meets a look-up through its (query hash, stored hash) pairings of
one space and partition, each a random hit with probability ``25 / 2**24`` per segment for a
radius-1 probe and ``1 / 2**24`` for an as-is one. Counting each stored hash once per partition
it is cut by (26 in space 0, 28 with a content window), with uniformly distributed bits a
look-up in a 1M-image index returns ~2,700 candidates (``1e6 * 4 * (16 * 25 * 26 + 40 * 26 + 32)
/ 2**24``; at most ~3,000 when every picture had a content window; the radius-1
probes of the full hash and 5 % window alone, against its full hash and windows alone, ~2,100);
real photos skew the low frequencies, so expect more. One partition of 7 segments of 14 bits (an
earlier design) returned ~50k.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from imagex_dedup.engine.fingerprint import (
    CENTRED_WINDOWS,
    CONTENT,
    MASKED,
    WINDOW_SIDE,
    WINDOWS,
    Fingerprint,
)
from imagex_dedup.engine.scoring import (
    MASKED_SIDES,
    Prepared,
    content_present,
    orient_regions,
    prepare,
)

SEGMENTS = 4
SEGMENT_BITS = 24

_u, _v = np.indices((WINDOW_SIDE, WINDOW_SIDE))
LOW_BITS_BY_FREQUENCY = np.lexsort(((_u * WINDOW_SIDE + _v).ravel(), (_u + _v).ravel()))[1:]
"""Bit positions in a 10x10 hash ordered by frequency u+v, DC (always 0) dropped: 99."""


def segment_positions(segments: int, bits: int) -> np.ndarray:
    """(segments, bits) bit positions: frequency-ordered bits dealt round-robin."""
    return np.stack([LOW_BITS_BY_FREQUENCY[s::segments][:bits] for s in range(segments)])


def frequency_blocks(segments: int, bits: int) -> np.ndarray:
    """(segments, bits) bit positions: consecutive runs of the frequency-ordered bits."""
    return LOW_BITS_BY_FREQUENCY[: segments * bits].reshape(segments, bits)


@cache
def _byte_tables(shape: tuple[int, int], flat_positions: bytes) -> np.ndarray:
    """(16, 256, segments) int64: what each value of each hash byte adds to each segment."""
    segments, bits = shape
    positions = np.frombuffer(flat_positions, np.int64).reshape(shape)
    values = np.arange(256, dtype=np.int64)
    table = np.zeros((16, 256, segments), np.int64)
    for segment in range(segments):
        for rank, position in enumerate(positions[segment].tolist()):
            byte, bit = divmod(position, 8)  # bits are packed most significant first
            table[byte, :, segment] += ((values >> (7 - bit)) & 1) << (bits - 1 - rank)
    return table


def segment_keys(words: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(..., 2) 10x10 hashes as uint64 words -> (..., segments) position-tagged int64 keys.

    A segment's value has its first bit position as the most significant bit. Computed with
    one table lookup per hash byte (no unpacking to bits: probing many hashes is the cost).
    """
    segments, bits = positions.shape
    table = _byte_tables(positions.shape, positions.astype(np.int64).tobytes())
    data = np.ascontiguousarray(words).view(np.uint8)
    values = np.zeros((*data.shape[:-1], segments), np.int64)
    for byte in range(data.shape[-1]):
        values += table[byte, data[..., byte]]
    return values + (np.arange(segments, dtype=np.int64) << bits)


_PARTITIONS = np.concatenate(
    [segment_positions(SEGMENTS, SEGMENT_BITS), frequency_blocks(SEGMENTS, SEGMENT_BITS)]
)
"""Both partitions as one (2 * SEGMENTS, SEGMENT_BITS) array: positions 0-3, then 4-7."""
PROBE_FLIPS = np.concatenate([[0], np.int64(1) << np.arange(SEGMENT_BITS, dtype=np.int64)])
"""XOR masks of a radius-1 probe: the segment as is, then with each of its bits flipped."""
_ROUND_ROBIN = _PARTITIONS[:SEGMENTS]
"""The first partition alone (positions 0-3): the one the masked and tilted windows are cut by."""


_SPACE_SHIFT = SEGMENT_BITS + 3
"""A key's space tag sits above its 3 position bits (8 positions over both partitions)."""
_MASKED_SPACES = np.arange(1, len(MASKED) + 1, dtype=np.int64) << _SPACE_SHIFT
"""Space tag of each masked window (top, bottom, left, right), as added to its keys."""
_MASKED_REGIONS = slice(len(WINDOWS), len(WINDOWS) + len(MASKED))
_TILTED_REGIONS = slice(len(WINDOWS) + len(MASKED), CONTENT)


def stored_keys(prepared: Prepared) -> np.ndarray:
    """(n, (12 * 2 + 8) * SEGMENTS) database keys of many fingerprints, with repeats: the keys of
    :func:`index_keys`, vectorised for bulk loads (``prepare(..., oriented=False)`` suffices)."""
    n = len(prepared)
    # where there is no content window, the full hash's low frequencies: keys repeated, no more
    present = content_present(prepared.regions)[:, None, None]
    content = np.where(present, prepared.regions[:, CONTENT : CONTENT + 1], prepared.low[:, :1])
    aligned = np.concatenate([prepared.low[:, :1], prepared.windows, content], axis=1)
    tilted = segment_keys(prepared.regions[:, _TILTED_REGIONS], _ROUND_ROBIN)
    masked = segment_keys(prepared.regions[:, _MASKED_REGIONS], _ROUND_ROBIN)
    return np.concatenate(
        [
            segment_keys(aligned, _PARTITIONS).reshape(n, -1),
            tilted.reshape(n, -1),
            (masked + _MASKED_SPACES[:, None]).reshape(n, -1),
        ],
        axis=1,
    )


def index_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to store for a fingerprint (sorted, unique)."""
    return index_keys_many([fp])[0]


def index_keys_many(fps: Sequence[Fingerprint | bytes]) -> list[list[int]]:
    """:func:`index_keys` of many fingerprints, unpacked and cut in one vectorised pass."""
    if not fps:
        return []
    return [np.unique(row).tolist() for row in stored_keys(prepare(fps, oriented=False))]


def query_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to look up for a new fingerprint, covering flips and rotations (sorted, unique)."""
    prepared = prepare([fp])
    oriented = orient_regions(prepared.regions)[0]  # (8, REGIONS, 2)
    near = np.concatenate([prepared.low[0], oriented[:, 0]])  # radius-1 probes
    present = content_present(prepared.regions)[0]
    content = (oriented[:, CONTENT] if present else prepared.low[0])[:, None]  # (8, 1, 2)
    plain = np.concatenate(
        [oriented[:, 1:CENTRED_WINDOWS], oriented[:, _TILTED_REGIONS], content], axis=1
    )  # as-is probes, space 0
    masked = segment_keys(oriented[:, _MASKED_REGIONS], _ROUND_ROBIN)  # (8, masked, 4)
    return np.unique(
        np.concatenate(
            [
                (segment_keys(near, _PARTITIONS)[..., None] ^ PROBE_FLIPS).ravel(),
                segment_keys(plain, _PARTITIONS).ravel(),
                (masked + _MASKED_SPACES[MASKED_SIDES][..., None]).ravel(),
            ]
        )
    ).tolist()
