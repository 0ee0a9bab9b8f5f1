"""The similarity threshold and scores as people and clients see them: one rule, two formats.

A threshold is a number with ``0 < s <= 1`` and at most two decimals (the cloud API's rule);
every face (CLI, service, REST, settings) parses it with :func:`parse_similarity` and reports
the same message. Scores go out in two formats: :func:`wire_score` on the veImageX wire
(``"1.0"``, ``"0.93"``) and :func:`display_score` in the REST API and the admin (four decimals).
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

RULE = "a number greater than 0 and at most 1, with at most two decimals"


class InvalidSimilarity(ValueError):
    """A similarity threshold outside the rule; the message says what is wrong."""


def parse_similarity(value: object) -> float:
    """``value`` (a number, or its text) as a threshold; :class:`InvalidSimilarity` if it is
    not :data:`RULE`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidSimilarity(f"Similarity must be {RULE}, not {value!r}.")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidSimilarity(f"Similarity must be {RULE}, not {value!r}.") from None
    if not number.is_finite() or not 0 < number <= 1 or number != number.quantize(Decimal("0.01")):
        raise InvalidSimilarity(f"Similarity must be {RULE}, not {value!r}.")
    return float(number)


def wire_score(score: float) -> str:
    """A score as the cloud API writes it (``"1.0"``, ``"0.93"``).

    Two decimals, truncated rather than rounded: a pair's shown score reaches a two-decimal
    threshold exactly when the pair is grouped at that threshold.
    """
    clamped = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0
    hundredths = Decimal(repr(clamped)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return str(float(hundredths))


def display_score(score: float) -> float:
    """A score as the REST API and the admin show it: four decimals."""
    return round(float(score), 4)
