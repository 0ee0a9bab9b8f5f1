"""Group near-duplicate fingerprints: every member matches the group's representative.

Semantics (what a reviewer can rely on before a merge deletes all members but one):

* two images are *linked* when ``compare`` scores them >= ``similarity``;
* each group has a *representative*, and every other member is linked to it. Members need not
  be linked to each other (an original's left crop and right crop both match the original),
  but nothing joins a group through a chain of other members: two views of one scene that
  score below the similarity to each other are never grouped because their edited copies link
  across, unless one of them matches the representative itself;
* representatives are chosen greedily, most-linked first (ties: higher total score, then the
  fingerprint bytes, so the input order does not matter): an image becomes a representative
  unless it is linked to one already chosen. A large family whose members all link to one
  picture therefore stays one group;
* every other linked image joins the representative it scores highest with (ties: the one
  chosen first), so it is in at most one group;
* an image's group depends only on the images it is connected to through links: images with
  no link to them, however many, change nothing (for more than :data:`.links.EXACT_MAX`
  fingerprints, as far as the index finds the links).

Why not connected components: one false link (two views of a stereo pair, an overlay that makes
one picture look like another) would merge two whole groups, and a chain of edits can join
pictures that do not match at all. Why not cliques: exact cliques are NP-hard, and a star (an
original with edits that do not match each other) is one picture. Frames of a video that each
match the next are one group only as far as they match the representative.

:func:`assign` is the same rule for one new image against existing groups (incremental use).
"""

from __future__ import annotations

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
    units: list[list[int]], neighbours: dict[int, dict[int, float]]
) -> list[list[int]]:
    """Merge units while two of them have more than half of their cross pairs linked.

    Average linkage over the link graph, starting from the stars: the densest pair merges first
    (ties: the larger result, then the earlier star), so the outcome does not depend on the
    input order. A member that does not match the representative thus stays only when the two
    parts match each other more often than not; two families joined by a few links do not.
    """
    units = [list(members) for members in units]
    while True:
        unit_of = {image: u for u, members in enumerate(units) for image in members}
        cross: dict[tuple[int, int], int] = {}
        for x, linked in neighbours.items():
            for y in linked:
                u, v = unit_of[x], unit_of[y]
                if u < v:
                    cross[u, v] = cross.get((u, v), 0) + 1
        dense = [
            (count / (len(units[u]) * len(units[v])), len(units[u]) + len(units[v]), -u, -v)
            for (u, v), count in cross.items()
            if 2 * count > len(units[u]) * len(units[v])
        ]
        if not dense:
            return units
        _density, _size, u, v = max(dense)
        units[-u].extend(units[-v])
        del units[-v]


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
