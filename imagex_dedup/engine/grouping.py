"""Group near-duplicate fingerprints without bridges: average linkage on the links.

Semantics (what a reviewer can rely on before a merge deletes all members but one):

* two images are *linked* when ``compare`` scores them >= ``similarity``;
* every linked image starts as a part of its own; two parts merge when more than
  :data:`MIN_DENSITY` of the pairs between them are linked, the densest pair of parts first
  (ties: the higher mean score of their links, then the parts' fingerprint bytes, so the input
  order does not matter), until no pair of parts qualifies. Members need not all be linked to
  each other (an original's left crop and right crop both match the original), but each part
  that joined a group was linked to a good share of it;
* so a family of copies that mostly match each other is one group, while two views of one
  scene that score below the similarity to each other stay apart even when some of their edited
  copies link across (each such copy joins the view it matches best), an image that matches two
  families does not pull them together, and a chain (a crop of a crop of a crop) does not pull
  its far end in;
* an image is in at most one group, and its group depends only on the images connected to it
  through links: images with no link to them, however many, change nothing. Beyond
  :data:`.links.EXACT_MAX` fingerprints the links are those the index finds plus every link
  inside a component of up to :data:`.links.COMPLETE_MAX` linked images, a rule on the
  component alone; a link between two images nothing connects can be missed there.

Why not connected components: one false link (two views of a stereo pair, an overlay that makes
one picture look like another) merges two whole groups, and a chain of edits joins pictures
that do not match at all. Why not cliques: exact cliques are NP-hard, and a family whose edits
do not all match each other is still one picture. Consecutive frames of a video that each match
the next are one group as far as they mostly match each other.

:func:`assign` is the rule for one new image against existing groups (incremental use): it
joins the one whose representative it matches best, and never merges two.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from imagex_dedup.engine.fingerprint import Fingerprint, fingerprint_rows
from imagex_dedup.engine.links import linked_pairs
from imagex_dedup.engine.scoring import DEFAULT_SIMILARITY, compare_many, prepare

MIN_DENSITY = 0.5
"""Two parts merge when more than this fraction of the pairs between them are linked (most of
them): two views of one scene whose edits link across a few times stay apart, and so do two
pictures that each match a third one but not each other."""


def _check(similarity: float) -> None:
    if not 0.0 <= similarity <= 1.0:
        raise ValueError(f"similarity must be in [0, 1], got {similarity}")


def _canonical_rank(rows: np.ndarray) -> np.ndarray:
    """Rank of each fingerprint by its bytes (then by index): a tie-break independent of order."""
    return np.argsort(np.lexsort(rows.T[::-1]))


def _average_linkage(
    a: np.ndarray, b: np.ndarray, scores: np.ndarray, rank: np.ndarray
) -> list[list[int]]:
    """Parts left when no two have more than ``MIN_DENSITY`` of their cross pairs linked.

    Cross-link counts and score sums are updated on each merge and candidate merges kept in a
    heap (stale entries skipped), so the cost grows with the links, not with their square.
    """
    parts: dict[int, list[int]] = {}
    first: dict[int, int] = {}  # a part's canonical rank: its smallest member rank
    links: dict[int, dict[int, list[float]]] = {}  # part -> part -> [count, score sum]
    for x, y, score in zip(a.tolist(), b.tolist(), scores.tolist(), strict=True):
        for u, v in ((x, y), (y, x)):
            parts.setdefault(u, [u])
            first.setdefault(u, int(rank[u]))
            links.setdefault(u, {})[v] = [1, score]
    heap: list[tuple[float, float, int, int, int, int, int]] = []

    def push(u: int, v: int) -> None:
        pairs = len(parts[u]) * len(parts[v])
        count, total = links[u][v]
        if count > MIN_DENSITY * pairs:
            low, high = sorted((first[u], first[v]))
            heapq.heappush(heap, (-count / pairs, -total / count, low, high, u, v, pairs))

    for u, linked in links.items():
        for v in linked:
            if first[u] < first[v]:
                push(u, v)
    while heap:
        *_, u, v, pairs = heapq.heappop(heap)
        if u not in parts or v not in parts or len(parts[u]) * len(parts[v]) != pairs:
            continue  # stale: a part grew since (its links to the other changed with it)
        parts[u].extend(parts.pop(v))
        first[u] = min(first[u], first.pop(v))
        for w, (count, total) in links.pop(v).items():
            del links[w][v]
            if w != u:
                merged = links[u].setdefault(w, [0, 0.0])
                merged[0] += count
                merged[1] += total
                links[w][u] = merged
        for w in links[u]:
            push(u, w)
    return list(parts.values())


def group(
    fingerprints: Sequence[Fingerprint | bytes], similarity: float = DEFAULT_SIMILARITY
) -> list[list[int]]:
    """Groups (two or more indices, ascending) of near-duplicates, ordered by first index.

    See the module docstring for what a group guarantees.
    """
    _check(similarity)
    prepared = prepare(fingerprints)
    a, b, scores = linked_pairs(prepared, similarity)
    rank = _canonical_rank(fingerprint_rows(fingerprints))
    parts = _average_linkage(a, b, scores, rank)
    return sorted(sorted(members) for members in parts if len(members) > 1)


def assign(
    fingerprint: Fingerprint | bytes,
    representatives: Sequence[Fingerprint | bytes],
    similarity: float = DEFAULT_SIMILARITY,
) -> int | None:
    """Which existing group a new image joins: the index of its representative, or ``None``.

    For incremental use, where each stored group is stood for by one fingerprint (its
    representative, e.g. the member a reviewer would keep): the new image joins the group whose
    representative it scores highest with, if that score is >= ``similarity``. When it matches
    two or more representatives it joins only the best one (the earliest in ``representatives``
    on a tie: pass them oldest first); the groups are never merged through it, as a lone image
    linking two groups is exactly the bridge :func:`group` refuses. ``None``: it matches no
    representative and starts a group of its own when a later image matches it.
    """
    _check(similarity)
    if not representatives:
        return None
    scores = compare_many(fingerprint, representatives)
    best = int(np.argmax(scores))  # first of equal maxima
    return best if scores[best] >= similarity else None
