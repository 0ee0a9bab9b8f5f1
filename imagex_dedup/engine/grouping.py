"""Group near-duplicate fingerprints without bridges: stars around representatives, merged
only where most of their pairs match.

Semantics (what a reviewer can rely on before a merge deletes all members but one):

* two images are *linked* when ``compare`` scores them >= ``similarity``;
* *stars*: representatives are chosen greedily, most-linked first (ties: higher total score,
  then the fingerprint bytes, so the input order does not matter); an image becomes a
  representative unless it is linked to one already chosen, and every other linked image joins
  the representative it scores highest with (ties: the one chosen first). Every member of a
  star is linked to its representative; members need not be linked to each other (an
  original's left crop and right crop both match the original);
* two parts (stars, or parts merged before) become one group only when more than half of the
  pairs between them are linked, densest first (average linkage on the link graph). So a
  family of copies that mostly match each other stays one group, while two views of one
  scene that score below the similarity to each other stay apart even when a few of their
  edited copies link across, and a chain (a crop of a crop of a crop) does not pull its far
  end in;
* an image is in at most one group, and its group depends only on the images connected to it
  through links: images with no link to them, however many, change nothing (for more than
  :data:`.links.EXACT_MAX` fingerprints, as far as the index finds the links).

Why not connected components: one false link (two views of a stereo pair, an overlay that makes
one picture look like another) merges two whole groups, and a chain of edits joins pictures
that do not match at all. Why not cliques: exact cliques are NP-hard, and a star (an original
with edits that do not match each other) is one picture. Consecutive frames of a video that
each match the next are one group as far as the parts match each other mostly.

:func:`assign` is the rule for one new image against existing groups (incremental use).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from .fingerprint import Fingerprint, fingerprint_rows
from .links import linked_pairs
from .scoring import DEFAULT_SIMILARITY, compare_many, prepare


def _check(similarity: float) -> None:
    if not 0.0 <= similarity <= 1.0:
        raise ValueError(f"similarity must be in [0, 1], got {similarity}")


def _priority(rows: np.ndarray, a: np.ndarray, b: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Linked images, most-linked first; ties by total score, then by fingerprint bytes."""
    n = len(rows)
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    total = np.bincount(a, scores, n) + np.bincount(b, scores, n)
    linked = np.flatnonzero(degree)
    # lexsort: last key first; the fingerprint bytes (first byte last) break exact ties
    keys = [rows[linked, k] for k in range(rows.shape[1] - 1, -1, -1)]
    return linked[np.lexsort([*keys, -total[linked], -degree[linked]])]


def _representatives(order: np.ndarray, neighbours: dict[int, dict[int, float]]) -> dict[int, int]:
    """Greedy pick in ``order``: rank of each image chosen (not linked to an earlier one)."""
    chosen: dict[int, int] = {}
    for image in order.tolist():
        if not any(other in chosen for other in neighbours[image]):
            chosen[image] = len(chosen)
    return chosen


def _stars(
    rows: np.ndarray, a: np.ndarray, b: np.ndarray, scores: np.ndarray
) -> tuple[list[list[int]], dict[int, dict[int, float]]]:
    """Each representative with the linked images that score highest with it, and the links.

    Stars come in the order their representatives were chosen; a representative whose linked
    images all chose another one is a star of one.
    """
    neighbours: dict[int, dict[int, float]] = {}
    for x, y, score in zip(a.tolist(), b.tolist(), scores.tolist(), strict=True):
        neighbours.setdefault(x, {})[y] = score
        neighbours.setdefault(y, {})[x] = score
    chosen = _representatives(_priority(rows, a, b, scores), neighbours)
    stars: dict[int, list[int]] = {image: [image] for image in chosen}
    for image, linked in neighbours.items():
        if image not in chosen:
            best = max(
                (other for other in linked if other in chosen),
                key=lambda other: (linked[other], -chosen[other]),
            )
            stars[best].append(image)
    return list(stars.values()), neighbours


def _merge_dense(
    stars: list[list[int]], neighbours: dict[int, dict[int, float]]
) -> list[list[int]]:
    """Merge parts while two of them have more than half of their cross pairs linked.

    Average linkage over the link graph, starting from the stars: the densest pair merges first
    (ties: the larger result, then the earlier stars), so the outcome does not depend on the
    input order. Cross-link counts are updated on each merge and candidates kept in a heap
    (stale entries skipped), so the cost grows with the links, not with their square.
    """
    parts = {rank: list(members) for rank, members in enumerate(stars)}
    part_of = {image: rank for rank, members in parts.items() for image in members}
    cross: dict[int, dict[int, int]] = {rank: {} for rank in parts}
    for x, linked in neighbours.items():
        for y in linked:
            u, v = part_of[x], part_of[y]
            if u != v:
                cross[u][v] = cross[u].get(v, 0) + 1  # symmetric: links are listed both ways
    heap: list[tuple[float, int, int, int, int]] = []

    def push(u: int, v: int) -> None:
        pairs = len(parts[u]) * len(parts[v])
        if 2 * cross[u][v] > pairs:
            size = len(parts[u]) + len(parts[v])
            u, v = min(u, v), max(u, v)
            heapq.heappush(heap, (-cross[u][v] / pairs, -size, u, v, pairs))

    for u in cross:
        for v in cross[u]:
            if u < v:
                push(u, v)
    while heap:
        *_, u, v, pairs = heapq.heappop(heap)
        if u not in parts or v not in parts or len(parts[u]) * len(parts[v]) != pairs:
            continue  # stale: a part grew since (its links to the other changed with it)
        parts[u].extend(parts.pop(v))
        for w, links in cross.pop(v).items():
            del cross[w][v]
            if w != u:
                cross[u][w] = cross[w][u] = cross[u].get(w, 0) + links
        for w in cross[u]:
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
    stars, neighbours = _stars(fingerprint_rows(fingerprints), a, b, scores)
    units = _merge_dense(stars, neighbours)
    return sorted(sorted(members) for members in units if len(members) > 1)


def assign(
    fingerprint: Fingerprint | bytes,
    representatives: Sequence[Fingerprint | bytes],
    similarity: float = DEFAULT_SIMILARITY,
) -> int | None:
    """Which existing group a new image joins: the index of its representative, or ``None``.

    The incremental form of :func:`group`'s rule: the new image joins the group whose
    representative it scores highest with, if that score is >= ``similarity``. When it matches
    two or more representatives it joins only the best one (the earliest in ``representatives``
    on a tie: pass them oldest first); the groups are never merged through it, as a lone image
    linking two groups is exactly the bridge the rule refuses. ``None``: it matches no
    representative and starts a group of its own when a later image matches it.
    """
    _check(similarity)
    if not representatives:
        return None
    scores = compare_many(fingerprint, representatives)
    best = int(np.argmax(scores))  # first of equal maxima
    return best if scores[best] >= similarity else None
