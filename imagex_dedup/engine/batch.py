"""Check one batch of images: the pair's score when there are exactly two, and the groups.

Every face that answers "which of these images are near-duplicates?" (the CLI, the detection
service, the REST ``check/`` endpoint, ``manage.py dedup_check``) gets its images its own way
(paths in a process pool, streamed downloads under a time budget, uploads) and then hands the
per-input outcomes here; it only formats what comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imagex_dedup.engine.errors import EngineError
from imagex_dedup.engine.fingerprint import Fingerprint
from imagex_dedup.engine.grouping import group
from imagex_dedup.engine.scoring import compare


@dataclass(frozen=True)
class BatchResult:
    """What one batch check found; every index is an input position."""

    score: float | None  # exactly two inputs, both usable: their score
    groups: list[list[int]]  # groups of two or more, as input positions
    failures: list[tuple[int, EngineError]]  # inputs that could not be used, with why


def check_batch(outcomes: Sequence[Fingerprint | EngineError], similarity: float) -> BatchResult:
    """Score and group the usable inputs of ``outcomes`` (one fingerprint or error per input)."""
    usable = [index for index, item in enumerate(outcomes) if isinstance(item, Fingerprint)]
    fingerprints = [outcomes[index] for index in usable]
    score = None
    if len(outcomes) == 2 and len(usable) == 2:
        score = compare(fingerprints[0], fingerprints[1])  # type: ignore[arg-type]
    groups = group(fingerprints, similarity) if len(usable) > 1 else []  # type: ignore[arg-type]
    return BatchResult(
        score=score,
        groups=[[usable[i] for i in members] for members in groups],
        failures=[(i, item) for i, item in enumerate(outcomes) if isinstance(item, EngineError)],
    )
