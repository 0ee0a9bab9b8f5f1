"""Group near-duplicate fingerprints: connected components of supported "score >= similarity" links.

Semantics: two images are *linked* when they score >= ``similarity``; a link is *supported* when
the two images share more than half of the smaller one's linked neighbourhood (itself included);
groups are the connected components of the supported links. So every member of a group reaches
every other through a chain of links each scoring >= ``similarity``; the result is a partition,
deterministic and independent of input order (it depends on the link graph only).

Why not plain connected components: one false link (the two views of a stereo pair, an overlay
that makes one picture look like another) would merge two whole groups; the support rule cuts
such lone bridges but keeps chains (a crop of a crop) and stars (an original and edits that do not
match each other). Why not cliques: exact cliques are NP-hard and greedy ones depend on order.

Candidate pairs come from an in-memory multi-index (:mod:`.keys`): the 96 low-frequency bits are
cut into 4 segments of 24 bits; every fingerprint is indexed by the segments of its full hash and
of its windows, and probed with the segments of its full hash in the 8 dihedral orientations,
each as is and with any one bit flipped (pigeonhole: any pair within 7 differing bits of those
96 is a candidate, which includes every pair linked through a side window). Each hit is scored
for the one combination (orientation, full hash or window) that produced it, vectorised and in
chunks of probing fingerprints to bound memory; random hits are rejected at once. A pair whose
score reaches ``similarity`` only through a combination more than 7 low-frequency bits apart can
be missed: bench/bench_accuracy.py reports how often that happens on real photos.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imagex_dedup.engine.fingerprint import Fingerprint
from imagex_dedup.engine.keys import (
    PROBE_FLIPS,
    SEGMENT_BITS,
    SEGMENTS,
    segment_keys,
    segment_positions,
)
from imagex_dedup.engine.scoring import (
    CENTRE_TOLERANCE,
    DEFAULT_SIMILARITY,
    FULL_BITS,
    FULL_TOLERANCE,
    SIDE_TOLERANCE,
    WINDOW_BITS,
    Prepared,
    pair_scores,
    popcount,
    prepare,
    score_from_distance,
)

# The in-memory index uses the database keys' segment layout and radius-1 probes (keys.py),
# over the round-robin partition only.
_POSITIONS = segment_positions(SEGMENTS, SEGMENT_BITS)
_KEY_SPACE = SEGMENTS << SEGMENT_BITS
_QUERY_CHUNK = 4096
_TABLE_MIN_ENTRIES = 1 << 21
_EXACT_MAX = 64
_MIN_OVERLAP = 0.5


def _index(prepared: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys of every indexed hash (full-hash low frequencies, then windows).

    Returns the hashes (n, hashes per fingerprint, 2), the sorted keys and, for each, its entry
    ``fingerprint * hashes_per_fingerprint + hash``.
    """
    hashes = np.concatenate([prepared.low[:, :1], prepared.windows], axis=1)
    keys = np.concatenate(  # in chunks: the unpacked bits of all hashes at once take gigabytes
        [
            segment_keys(hashes[start : start + _QUERY_CHUNK], _POSITIONS).reshape(-1)
            for start in range(0, len(hashes), _QUERY_CHUNK)
        ]
    )
    entries = np.repeat(np.arange(hashes.shape[0] * hashes.shape[1], dtype=np.int64), SEGMENTS)
    order = np.argsort(keys, kind="stable")
    return hashes, keys[order], entries[order]


class _Lookup:
    """Where each probe's matching entries sit in the sorted keys: ``(first, count)``.

    Large indexes use a direct-address table over all ``4 * 2**24`` keys (512 MB, one array
    lookup per probe); small ones a binary search, which is cheaper than building the table.
    """

    def __init__(self, sorted_keys: np.ndarray) -> None:
        self.sorted_keys = sorted_keys
        self.starts: np.ndarray | None = None
        if len(sorted_keys) >= _TABLE_MIN_ENTRIES:
            self.starts = np.bincount(sorted_keys + 1, minlength=_KEY_SPACE + 1)
            np.cumsum(self.starts, out=self.starts)

    def __call__(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.starts is not None:
            first = self.starts[probes]
            return first, self.starts[probes + 1] - first
        first = np.searchsorted(self.sorted_keys, probes, side="left")
        return first, np.searchsorted(self.sorted_keys, probes, side="right") - first


def _hits(
    prepared: Prepared, lookup: _Lookup, entries: np.ndarray, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prober, orientation, entry) for every index entry a probe of ``start:stop`` lands on."""
    exact = segment_keys(prepared.low[start:stop], _POSITIONS)  # (chunk, 8, segments)
    probes = (exact[..., None] ^ PROBE_FLIPS).reshape(-1)
    lo, counts = lookup(probes)
    hit = np.flatnonzero(counts)
    counts = counts[hit]
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    per_prober = probes.size // (stop - start)
    source = np.repeat(hit, counts)
    prober = start + source // per_prober
    orientation = source % per_prober // (SEGMENTS * len(PROBE_FLIPS))
    return prober, orientation, entries[np.repeat(lo[hit], counts) + offsets]


def _linked_chunk(
    prepared: Prepared, hashes: np.ndarray, hits: tuple[np.ndarray, ...], similarity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the hits whose own (orientation, hash) combination scores >= ``similarity``."""
    prober, orientation, entry = hits
    other, kind = np.divmod(entry, hashes.shape[1])
    scores = np.empty(len(prober))
    full = kind == 0
    distance = popcount(
        prepared.full[prober[full], orientation[full]] ^ prepared.full[other[full], 0]
    )
    scores[full] = score_from_distance(distance, FULL_BITS, FULL_TOLERANCE)
    window = ~full
    distance = popcount(
        prepared.low[prober[window], orientation[window]] ^ hashes[other[window], kind[window]]
    )
    tolerance = np.where(kind[window] == 1, CENTRE_TOLERANCE, SIDE_TOLERANCE)
    scores[window] = score_from_distance(distance, WINDOW_BITS, tolerance)
    keep = (scores >= similarity) & (prober != other)
    return np.minimum(prober, other)[keep], np.maximum(prober, other)[keep]


def linked_pairs(
    prepared: Prepared, similarity: float = DEFAULT_SIMILARITY
) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs (i < j) that share a probed key and score >= ``similarity`` through it.

    Up to ``_EXACT_MAX`` fingerprints every pair is scored with :func:`.scoring.pair_scores`, so
    small groupings (an API request) agree exactly with ``compare``. Beyond, candidates come from
    the index and only the (orientation, hash) combination that produced the key match is
    scored: a pair can only score >= ``similarity`` through combinations within a few
    low-frequency bits, and the probes find every such combination within 7 bits.
    """
    n = len(prepared)
    if n <= _EXACT_MAX:
        a, b = np.triu_indices(n, 1)
        keep = pair_scores(prepared, a, prepared, b) >= similarity
        return a[keep], b[keep]
    hashes, sorted_keys, entries = _index(prepared)
    lookup = _Lookup(sorted_keys)
    codes = [np.zeros(0, np.int64)]
    for start in range(0, n, _QUERY_CHUNK):
        stop = min(n, start + _QUERY_CHUNK)
        a, b = _linked_chunk(
            prepared, hashes, _hits(prepared, lookup, entries, start, stop), similarity
        )
        codes.append(np.unique(a * np.int64(n) + b))
    pairs = np.unique(np.concatenate(codes))
    return pairs // max(n, 1), pairs % max(n, 1)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest member index of each node's connected component (label propagation)."""
    labels = np.arange(n)
    while True:
        low = np.minimum(labels[a], labels[b])
        updated = labels.copy()
        np.minimum.at(updated, a, low)
        np.minimum.at(updated, b, low)
        updated = updated[updated]
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def _supported(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which links (a[k], b[k]) join images that share most of their near-duplicates.

    A link is kept when the closed neighbourhoods N[x] = {x} + linked(x) of its two ends overlap
    by more than ``_MIN_OVERLAP`` of the smaller one. Links inside a group of copies, chains
    (crop of a crop) and stars (an original and its unrelated edits) all pass; a lone bridge
    between two groups (two views of one scene, two brick walls) does not. Cost: one set
    intersection per link, bounded by the smaller neighbourhood.
    """
    neighbours: dict[int, set[int]] = {}
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        neighbours.setdefault(x, {x}).add(y)
        neighbours.setdefault(y, {y}).add(x)
    return np.array(
        [
            len(neighbours[x] & neighbours[y])
            > _MIN_OVERLAP * min(len(neighbours[x]), len(neighbours[y]))
            for x, y in zip(a.tolist(), b.tolist(), strict=True)
        ],
        dtype=bool,
    )


def group(
    fingerprints: Sequence[Fingerprint | bytes], similarity: float = DEFAULT_SIMILARITY
) -> list[list[int]]:
    """Groups (two or more indices, ascending) of near-duplicates, ordered by first index."""
    if not 0.0 <= similarity <= 1.0:
        raise ValueError(f"similarity must be in [0, 1], got {similarity}")
    prepared = prepare(fingerprints)
    a, b = linked_pairs(prepared, similarity)
    keep = _supported(a, b)
    labels = _components(len(prepared), a[keep], b[keep])
    members = np.flatnonzero(np.bincount(labels, minlength=len(prepared))[labels] >= 2)
    groups: dict[int, list[int]] = {}
    for index in members.tolist():
        groups.setdefault(int(labels[index]), []).append(index)
    return [groups[root] for root in sorted(groups)]
