"""Accuracy of the engine against imagehash.phash and pdqhash on a labelled near-duplicate set.

Every original (real photos, see ``photos.py``) gets every transform of
``tests.support.variants``; two images are near-duplicates iff they come from the same
original. Pairwise precision/recall over *all* pairs of images (original-variant and
variant-variant), per-transform recall on original-variant pairs, a threshold sweep, the closest
negatives, and the recall of the database keys (``keys.py``) on pairs scoring >= 0.84.

Low-detail pictures: every original cut into a 5x5 grid of tiles (many near-blank or one-edge;
``--tiles 4 5 6`` for more cuts), and the pairs of tiles from different originals that score >=
0.84 counted (every such pair is false, though two empty tiles of one level, e.g. two plain white
ones, are the same picture: counted apart).

Groups (``group()`` at the default threshold): first the recall of its links (``links.py``, the
in-memory index beyond ``EXACT_MAX`` images) on the pairs scoring >= 0.84; then the groups are
scored as a pairwise same-group decision
(precision, recall, F1 over all pairs), per transform (a variant in its original's group), and by
the groups that mix two originals, each listed with the transforms that joined it.

Run: ``.venv/bin/python bench/bench_accuracy.py [--seed 1]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import imagehash
import numpy as np
import pdqhash
from photos import originals

from imagex_dedup.engine import fingerprint_image, group, index_keys, query_keys
from imagex_dedup.engine.links import linked_pairs
from imagex_dedup.engine.scoring import DEFAULT_SIMILARITY, pair_scores, prepare
from tests.support.variants import TRANSFORMS, generate_variants


@dataclass
class LabelledSet:
    names: list[str]  # "original/transform" ("original/original" for originals)
    labels: np.ndarray  # original index per image
    transforms: list[str]
    images: list


def build_set(seed: int) -> LabelledSet:
    names, labels, transforms, images = [], [], [], []
    for label, (name, image) in enumerate(originals().items()):
        entries = [("original", image)] + [
            (v.name, v.image) for v in generate_variants(image, seed=seed)
        ]
        for transform, img in entries:
            names.append(f"{name}/{transform}")
            labels.append(label)
            transforms.append(transform)
            images.append(img)
    return LabelledSet(names, np.array(labels), transforms, images)


def _hamming_matrix(bits: np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances of (n, k) bool rows."""
    x = bits.astype(np.int32)
    return x @ (1 - x).T + (1 - x) @ x.T


def engine_similarity(fps: list) -> np.ndarray:
    prepared = prepare(fps)
    n = len(fps)
    ia, ib = np.triu_indices(n, 1)
    scores = np.empty(len(ia))
    for start in range(0, len(ia), 20000):
        part = slice(start, start + 20000)
        scores[part] = pair_scores(prepared, ia[part], prepared, ib[part])
    matrix = np.ones((n, n))
    matrix[ia, ib] = matrix[ib, ia] = scores
    return matrix


def phash_distance(images: list) -> np.ndarray:
    bits = np.array([imagehash.phash(img).hash.ravel() for img in images])
    return _hamming_matrix(bits)


def pdq_distance(images: list, dihedral: bool) -> np.ndarray:
    if not dihedral:
        bits = np.array([pdqhash.compute(np.asarray(img))[0] for img in images]).astype(bool)
        return _hamming_matrix(bits)
    all8 = [np.array(pdqhash.compute_dihedral(np.asarray(img))[0], bool) for img in images]
    main = np.array([h[0] for h in all8])
    best = None
    for k in range(8):
        x, y = main.astype(np.int32), np.array([h[k] for h in all8]).astype(np.int32)
        d = x @ (1 - y).T + (1 - x) @ y.T
        best = d if best is None else np.minimum(best, d)
    return np.minimum(best, best.T)


@dataclass
class Method:
    name: str
    matrix: np.ndarray  # similarity (higher = closer) or distance (lower = closer)
    default: float
    sweep: list[float]
    higher_is_closer: bool
    seconds: float

    def match(self, threshold: float) -> np.ndarray:
        if self.higher_is_closer:
            return self.matrix >= threshold
        return self.matrix <= threshold


def prf(match: np.ndarray, truth: np.ndarray, upper: tuple) -> tuple[float, float, float]:
    m, t = match[upper], truth[upper]
    tp = int(np.sum(m & t))
    precision = tp / max(1, int(m.sum()))
    recall = tp / max(1, int(t.sum()))
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    return precision, recall, f1


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def key_recall(fps: list, similarity: np.ndarray, threshold: float) -> tuple[float, float, int]:
    """Recall of the keys on pairs scoring >= threshold.

    Returns (found whichever image is stored first, averaged over both insertion orders;
    found in both orders, the order-independent guarantee; number of pairs).
    """
    index = [set(index_keys(fp)) for fp in fps]
    query = [set(query_keys(fp)) for fp in fps]
    ia, ib = np.nonzero(np.triu(similarity >= threshold, 1))
    a_then_b = np.array([bool(query[b] & index[a]) for a, b in zip(ia, ib, strict=True)])
    b_then_a = np.array([bool(query[a] & index[b]) for a, b in zip(ia, ib, strict=True)])
    pairs = max(1, len(ia))
    return (
        (a_then_b.sum() + b_then_a.sum()) / (2 * pairs),
        (a_then_b & b_then_a).sum() / pairs,
        len(ia),
    )


def report_groups(
    data: LabelledSet, fps: list, engine: np.ndarray, truth: np.ndarray, upper: tuple
) -> None:
    """Groups as a pairwise decision, per transform, and the groups that mix originals."""
    n = len(fps)
    linked = engine >= DEFAULT_SIMILARITY
    found, *_ = linked_pairs(prepare(fps), DEFAULT_SIMILARITY)
    links = int(np.sum(linked[upper]))
    print("\n## group() on the labelled set")
    print(
        f"- links found (links.py): {len(found)}/{links} pairs scoring >= {DEFAULT_SIMILARITY} "
        f"({len(found) / max(1, links):.4f})"
    )
    start = time.perf_counter()
    groups = group(fps)
    seconds = time.perf_counter() - start
    grouped = np.zeros((n, n), bool)
    for members in groups:
        grouped[np.ix_(members, members)] = True
    covered = int(np.sum(linked[upper] & grouped[upper]))
    p, r, f = prf(grouped, truth, upper)
    print(
        f"- {len(groups)} groups in {seconds:.2f} s; pairs scoring >= {DEFAULT_SIMILARITY} that "
        f"end up in one group: {covered}/{int(np.sum(linked[upper]))}"
    )
    print(f"- same-group as a pairwise decision: precision {p:.4f}, recall {r:.4f}, F1 {f:.4f}")
    print(f"- false same-group pairs: {int(np.sum(grouped[upper] & ~truth[upper]))}")
    mixed = [members for members in groups if len(set(data.labels[members].tolist())) > 1]
    print(f"- groups mixing two or more originals: {len(mixed)}")
    for members in mixed:
        by_original: dict[str, list[str]] = {}
        for index in members:
            original, transform = data.names[index].split("/", 1)
            by_original.setdefault(original, []).append(transform)
        print("  - " + "; ".join(f"{o}: {', '.join(t)}" for o, t in by_original.items()))
    first = {label: i for i, label in reversed(list(enumerate(data.labels)))}
    print("- a variant in its original's group, per transform:")
    per_transform: dict[str, list[bool]] = {}
    for i, transform in enumerate(data.transforms):
        if transform != "original":
            per_transform.setdefault(transform, []).append(grouped[first[data.labels[i]], i])
    print("  " + ", ".join(f"{t} {np.mean(hits):.2f}" for t, hits in per_transform.items()))


def tiles(images: list, per_side: int = 5) -> tuple[list, np.ndarray]:
    """Each image cut into ``per_side`` x ``per_side`` tiles, with the index of its image."""
    cut, owner = [], []
    for label, image in enumerate(images):
        w, h = image.size
        for row in range(per_side):
            for column in range(per_side):
                box = (w * column // per_side, h * row // per_side)
                box += (w * (column + 1) // per_side, h * (row + 1) // per_side)
                cut.append(image.crop(box))
                owner.append(label)
    return cut, np.array(owner)


def report_tiles(images: list, per_side: int) -> None:
    pieces, owner = tiles(images, per_side)
    fps = [fingerprint_image(piece) for piece in pieces]
    similarity = engine_similarity(fps)
    ia, ib = np.triu_indices(len(pieces), 1)
    different = owner[ia] != owner[ib]
    false = similarity[ia, ib][different] >= DEFAULT_SIMILARITY
    empty = prepare(fps).empty
    both_empty = (empty[ia] & empty[ib])[different][false]
    print(f"\n## Low-detail pictures: {per_side}x{per_side} tiles of different originals")
    print(
        f"- {len(pieces)} tiles, {int(different.sum())} pairs from different originals: "
        f"{int(false.sum())} score >= {DEFAULT_SIMILARITY} ({false.mean():.1e} per pair), "
        f"{int(both_empty.sum())} of them two empty tiles"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiles", type=int, nargs="+", default=[5], help="tiles per side")
    args = parser.parse_args()

    data = build_set(args.seed)
    n = len(data.names)
    truth = data.labels[:, None] == data.labels[None, :]
    upper = np.triu_indices(n, 1)
    print(
        f"{len(set(data.labels))} originals x {len(TRANSFORMS)} transforms + originals = "
        f"{n} images, {len(upper[0])} pairs ({int(truth[upper].sum())} near-duplicate)"
    )

    start = time.perf_counter()
    fps = [fingerprint_image(img) for img in data.images]
    engine_seconds = time.perf_counter() - start
    engine, _ = timed(lambda: engine_similarity(fps))
    phash, phash_seconds = timed(lambda: phash_distance(data.images))
    pdq, pdq_seconds = timed(lambda: pdq_distance(data.images, dihedral=False))
    pdq8, pdq8_seconds = timed(lambda: pdq_distance(data.images, dihedral=True))
    methods = [
        Method(
            "engine",
            engine,
            DEFAULT_SIMILARITY,
            [0.70, 0.76, 0.80, 0.84, 0.88, 0.92],
            True,
            engine_seconds,
        ),
        Method("imagehash.phash", phash, 10, [4, 6, 8, 10, 12, 14], False, phash_seconds),
        Method("pdqhash", pdq, 31, [16, 31, 45, 60, 70], False, pdq_seconds),
        Method("pdqhash 8 dihedral", pdq8, 31, [16, 31, 45, 60, 70], False, pdq8_seconds),
    ]

    print("\n## At the default threshold (pairwise over all images)")
    print("| method | threshold | precision | recall | F1 | false merges |")
    print("|---|---|---|---|---|---|")
    for m in methods:
        p, r, f = prf(m.match(m.default), truth, upper)
        false = int(np.sum(m.match(m.default)[upper] & ~truth[upper]))
        print(f"| {m.name} | {m.default} | {p:.4f} | {r:.4f} | {f:.4f} | {false} |")

    print("\n## Recall per transform (original vs its variant, default thresholds)")
    print("| transform | " + " | ".join(m.name for m in methods) + " |")
    print("|---|" + "---|" * len(methods))
    first = {label: i for i, label in reversed(list(enumerate(data.labels)))}
    per_transform = {t: [] for t in TRANSFORMS}
    for i, transform in enumerate(data.transforms):
        if transform != "original":
            per_transform[transform].append((first[data.labels[i]], i))
    for transform, pairs in per_transform.items():
        cells = []
        for m in methods:
            hits = m.match(m.default)
            cells.append(f"{np.mean([hits[a, b] for a, b in pairs]):.2f}")
        print(f"| {transform} | " + " | ".join(cells) + " |")

    print("\n## Threshold sweep (pairwise precision / recall)")
    for m in methods:
        cells = []
        for threshold in m.sweep:
            p, r, _ = prf(m.match(threshold), truth, upper)
            cells.append(f"{threshold}: P {p:.3f} R {r:.3f}")
        print(f"- {m.name}: " + "; ".join(cells))

    print("\n## Closest different pictures (engine score, originals only)")
    is_original = np.array([t == "original" for t in data.transforms])
    negatives = engine.copy()
    negatives[truth] = -1
    negatives[~is_original] = -1
    negatives[:, ~is_original] = -1
    for flat in np.argsort(negatives[np.triu_indices(n, 1)])[::-1][:5]:
        a, b = upper[0][flat], upper[1][flat]
        print(f"- {data.names[a]} vs {data.names[b]}: {engine[a, b]:.3f}")
    print("Closest different pictures including variants:")
    different = np.where(truth, -1, engine)[upper]
    for flat in np.argsort(different)[::-1][:8]:
        a, b = upper[0][flat], upper[1][flat]
        print(f"- {data.names[a]} vs {data.names[b]}: {engine[a, b]:.3f}")

    either_order, both_orders, pairs = key_recall(fps, engine, DEFAULT_SIMILARITY)
    index_sizes = [len(index_keys(fp)) for fp in fps]
    query_sizes = [len(query_keys(fp)) for fp in fps]
    print("\n## Database keys (keys.py)")
    print(
        f"- pairs scoring >= {DEFAULT_SIMILARITY}: {pairs}; the new image's query keys hit the "
        f"stored image's index keys: {either_order:.4f} (mean over both insertion orders), "
        f"{both_orders:.4f} in both orders"
    )
    print(
        f"- index keys per image: mean {np.mean(index_sizes):.1f}, max {max(index_sizes)}; "
        f"query keys: mean {np.mean(query_sizes):.1f}, max {max(query_sizes)}"
    )
    report_groups(data, fps, engine, truth, upper)
    originals_only = [
        img for img, t in zip(data.images, data.transforms, strict=True) if t == "original"
    ]
    for per_side in args.tiles:
        report_tiles(originals_only, per_side)

    print("\n## Time (fingerprint or hash all images, single process)")
    for m in methods:
        print(f"- {m.name}: {m.seconds:.2f} s for {n} images")


if __name__ == "__main__":
    main()
