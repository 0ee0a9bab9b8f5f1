"""Which pairs of many fingerprints score >= a similarity: the links :mod:`.grouping` works on.

Up to :data:`EXACT_MAX` fingerprints every pair is scored with :func:`.scoring.pair_scores`.
Beyond, candidate pairs come from an in-memory multi-index (:mod:`.keys`): the 96 low-frequency
bits of a hash are cut into 4 segments of 24 bits; every fingerprint is indexed by the segments
of all its stored hashes (full-hash low frequencies, windows, masked, tilted and content
windows) and probed, in the 8 dihedral orientations, with the segments of its full hash (each as
is and with any one bit flipped: pigeonhole, any pair within 7 differing bits of those 96 is a
candidate) and of its masked, tilted and content windows (as is: an overlay leaves a masked
window unchanged). Each hit is judged by the two hashes that share the key, vectorised and in
chunks of probing fingerprints to bound memory: random hits are rejected at once. Hits whose
full hashes score within :data:`NEAR_MARGIN` of the similarity, or whose two hashes are within
:data:`NEAR_BITS`, are then scored exactly, so a link means the same as ``compare(a, b) >=
similarity``. A pair none of whose key combinations comes that close is missed by the index.

Then every pair inside each connected component of the links found (images linked directly or
through others) is scored, for components of up to :data:`COMPLETE_MAX` images: two copies of
one picture that the index did not pair are both linked to the picture or to other copies, so
the link between them is found all the same. Both steps depend only on the images involved (a
key hit on the pair, a component on its members), so unrelated images in a batch change no
link. What is still missed: a link between two images that no chain of found links connects,
and links inside a component of more than :data:`COMPLETE_MAX` images. bench/bench_accuracy.py
reports the share of links found on its labelled set.

Why the switch at :data:`EXACT_MAX`: scoring a pair costs about 18 us, the index and the
components about 0.1-0.3 ms an image; at 64 images every pair costs 38 ms against 9 ms (128:
138 ms against 20 ms), and only the small batches gain from it: there a link is likely to be the
only one connecting its two images.
"""

from __future__ import annotations

import numpy as np

from imagex_dedup.engine.fingerprint import CONTENT, WINDOWS
from imagex_dedup.engine.keys import (
    PROBE_FLIPS,
    SEGMENT_BITS,
    SEGMENTS,
    segment_keys,
    segment_positions,
)
from imagex_dedup.engine.scoring import (
    FULL_BITS,
    FULL_TOLERANCE,
    Prepared,
    content_present,
    orient_regions,
    pair_scores,
    popcount,
    score_from_distance,
)

EXACT_MAX = 64
"""Largest number of fingerprints whose pairs are all scored (no index)."""
NEAR_MARGIN = 0.08
"""A full-hash key hit scoring within this of the similarity is scored exactly."""
COMPLETE_MAX = 128
"""Largest component of linked images (beyond :data:`EXACT_MAX` fingerprints) whose pairs are
all scored, to find the links the index missed between them."""
NEAR_BITS = 21
"""A key hit between two 10x10 hashes this close (of 99 bits) is scored exactly: half again
the centred windows' tolerance, far below the ~50 bits of unrelated hashes."""

# The in-memory index uses the database keys' segment layout and radius-1 probes (keys.py),
# over the round-robin partition only.
_POSITIONS = segment_positions(SEGMENTS, SEGMENT_BITS)
_KEY_BITS = (SEGMENTS << SEGMENT_BITS).bit_length() - 1
_QUERY_CHUNK = 1024
_SCORE_CHUNK = 20_000


def _index(prepared: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys of every stored hash (full-hash low frequencies, then the region hashes;
    not the content window of a fingerprint that has none).

    Returns the hashes (n, hashes per fingerprint, 2), the sorted keys and, for each, its entry
    ``fingerprint * hashes_per_fingerprint + hash`` (int32 both: keys are below 2**26).
    """
    hashes = np.concatenate([prepared.low[:, :1], prepared.regions], axis=1)
    keys = np.concatenate(  # in chunks: the unpacked bits of all hashes at once take gigabytes
        [
            segment_keys(hashes[start : start + _QUERY_CHUNK], _POSITIONS).reshape(-1)
            for start in range(0, len(hashes), _QUERY_CHUNK)
        ]
    ).astype(np.int32)
    entries = np.repeat(np.arange(hashes.shape[0] * hashes.shape[1], dtype=np.int64), SEGMENTS)
    stored = np.ones(hashes.shape[:2], bool)
    stored[:, 1 + CONTENT] = content_present(prepared.regions)
    kept = np.repeat(stored.ravel(), SEGMENTS)
    keys, entries = keys[kept], entries[kept]
    order = np.argsort(keys, kind="stable")
    return hashes, keys[order], entries[order].astype(np.int32)


class _Lookup:
    """Exact matches of probes in the sorted keys, through a bucket table sized to the index.

    The table addresses the top bits of a key: two to four buckets per indexed key (a power of
    two), so its memory grows with the index (at most 16 bytes per key, and 32 while it is
    built) and a probe costs one array lookup plus the few keys of its bucket; from 2**25 keys
    on it is a direct-address table over every key (256 MB).
    """

    def __init__(self, sorted_keys: np.ndarray) -> None:
        self.sorted_keys = sorted_keys
        bucket_bits = min(_KEY_BITS, max(1, len(sorted_keys)).bit_length() + 1)
        self.shift = _KEY_BITS - bucket_bits
        counts = np.bincount(sorted_keys >> self.shift, minlength=1 << bucket_bits)
        np.cumsum(counts, out=counts)
        self.starts = np.zeros(len(counts) + 1, np.int32)
        self.starts[1:] = counts

    def __call__(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probe index, position in the sorted keys) of every exact match."""
        bucket = probes >> self.shift
        first = self.starts[bucket]
        counts = self.starts[bucket + 1] - first
        hit = np.flatnonzero(counts)
        counts = counts[hit]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        probe = np.repeat(hit, counts)
        position = np.repeat(first[hit], counts) + offsets
        exact = self.sorted_keys[position] == probes[probe]
        return probe[exact], position[exact]


def _probe_hashes(prepared: Prepared, start: int, stop: int) -> np.ndarray:
    """(chunk, 8, 1 + masked + tilted + 1, 2): the probing hashes of ``start:stop`` in every
    orientation: full-hash low frequencies first, then the masked, tilted and content windows
    (the low frequencies again where there is no content window: hits already found)."""
    low = prepared.low[start:stop, :, None]
    regions = orient_regions(prepared.regions[start:stop, len(WINDOWS) :])
    present = content_present(prepared.regions[start:stop])[:, None, None, None]
    regions[:, :, -1:] = np.where(present, regions[:, :, -1:], low)
    return np.concatenate([low, regions], axis=2)


def _hits(
    probing: np.ndarray, lookup: _Lookup, entries: np.ndarray, start: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prober, probing hash as (orientation, hash) flat index, entry) of every key match.

    The full hash's segments are probed as is and with one bit flipped, the others as is.
    """
    chunk, orientations, kinds = probing.shape[:3]
    keys = segment_keys(probing, _POSITIONS)  # (chunk, 8, kinds, segments)
    flipped = (keys[:, :, :1, :, None] ^ PROBE_FLIPS).reshape(chunk, orientations, -1)
    plain = keys[:, :, 1:].reshape(chunk, orientations, -1)
    probes = np.concatenate([flipped, plain], axis=2)  # (chunk, 8, per orientation)
    per_orientation = probes.shape[2]
    source, position = lookup(probes.reshape(-1).astype(np.int32))
    prober, rest = np.divmod(source, orientations * per_orientation)
    orientation, slot = np.divmod(rest, per_orientation)
    low_slots = SEGMENTS * len(PROBE_FLIPS)
    kind = np.where(slot < low_slots, 0, 1 + (slot - low_slots) // SEGMENTS)
    return start + prober, orientation * kinds + kind, entries[position]


def _near_chunk(
    prepared: Prepared,
    hashes: np.ndarray,
    probing: np.ndarray,
    hits: tuple[np.ndarray, np.ndarray, np.ndarray],
    start: int,
    floor: float,
) -> np.ndarray:
    """Pair codes ``i * n + j`` (i < j) of the hits close enough to be scored exactly."""
    prober, probe_hash, entry = hits
    other, kind = np.divmod(entry.astype(np.int64), hashes.shape[1])
    flat = probing.reshape(len(probing), -1, probing.shape[-1])
    near = popcount(flat[prober - start, probe_hash] ^ hashes[other, kind]) <= NEAR_BITS
    full = (kind == 0) & (probe_hash % probing.shape[2] == 0)
    orientation = probe_hash[full] // probing.shape[2]
    distance = popcount(prepared.full[prober[full], orientation] ^ prepared.full[other[full], 0])
    near[full] |= score_from_distance(distance, FULL_BITS, FULL_TOLERANCE) >= floor
    keep = near & (prober != other)
    low, high = np.minimum(prober, other)[keep], np.maximum(prober, other)[keep]
    return np.unique(low * np.int64(len(prepared)) + high)


def _candidates(prepared: Prepared, similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j): every pair up to ``EXACT_MAX`` fingerprints, else the near key hits."""
    n = len(prepared)
    if n <= EXACT_MAX:
        a, b = np.triu_indices(n, 1)
        return a, b
    hashes, sorted_keys, entries = _index(prepared)
    lookup = _Lookup(sorted_keys)
    floor = similarity - NEAR_MARGIN
    codes = [np.zeros(0, np.int64)]
    for start in range(0, n, _QUERY_CHUNK):
        probing = _probe_hashes(prepared, start, min(n, start + _QUERY_CHUNK))
        hits = _hits(probing, lookup, entries, start)
        codes.append(_near_chunk(prepared, hashes, probing, hits, start, floor))
    pairs = np.unique(np.concatenate(codes))
    return pairs // n, pairs % n


def _scored(prepared: Prepared, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Scores of the pairs (a[k], b[k]), in chunks to bound memory."""
    return np.concatenate(
        [np.zeros(0)]
        + [
            pair_scores(prepared, a[s : s + _SCORE_CHUNK], prepared, b[s : s + _SCORE_CHUNK])
            for s in range(0, len(a), _SCORE_CHUNK)
        ]
    )


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected component of each of ``n`` nodes under the edges (a[k], b[k]), as its smallest
    node: labels lowered along the edges, then pointer jumping, until nothing changes."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        lowered = label.copy()
        np.minimum.at(lowered, a, low)
        np.minimum.at(lowered, b, low)
        lowered = lowered[lowered]
        if np.array_equal(lowered, label):
            return label
        label = lowered


def _within_components(
    n: int, a: np.ndarray, b: np.ndarray, scored: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) not in ``scored`` (codes ``i * n + j``) whose images are connected through
    the links (a, b), in components of at most :data:`COMPLETE_MAX` images."""
    label = components(n, a, b)
    sizes = np.bincount(label, minlength=n)
    members = np.flatnonzero((sizes[label] > 2) & (sizes[label] <= COMPLETE_MAX))
    members = members[np.argsort(label[members], kind="stable")]
    bounds = np.flatnonzero(np.diff(label[members], prepend=-1, append=n))
    codes = [np.zeros(0, np.int64)]
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        i, j = np.triu_indices(stop - start, 1)
        codes.append(members[start + i] * np.int64(n) + members[start + j])
    pairs = np.setdiff1d(np.concatenate(codes), scored, assume_unique=True)
    return pairs // n, pairs % n


def linked_pairs(
    prepared: Prepared, similarity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) scoring >= ``similarity``, with their scores (as ``compare`` gives them)."""
    n = len(prepared)
    candidates = _candidates(prepared, similarity)
    scores = _scored(prepared, *candidates)
    keep = scores >= similarity
    a, b, scores = candidates[0][keep], candidates[1][keep], scores[keep]
    if n > EXACT_MAX:  # the links the index missed between images it connected
        scored = candidates[0] * np.int64(n) + candidates[1]  # sorted: np.unique's order
        more_a, more_b = _within_components(n, a, b, scored)
        more = _scored(prepared, more_a, more_b)
        keep = more >= similarity
        a = np.concatenate([a, more_a[keep]])
        b = np.concatenate([b, more_b[keep]])
        scores = np.concatenate([scores, more[keep]])
    return a, b, scores
