"""engine.similarity: one threshold rule with one message, and the two score formats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagex_dedup.engine.similarity import (
    RULE,
    InvalidSimilarity,
    display_score,
    parse_similarity,
    wire_score,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.84, 0.84), ("0.84", 0.84), (" 0.9 ", 0.9), (1, 1.0), ("1", 1.0), (0.01, 0.01),
     (Decimal("0.50"), 0.5)],
)  # fmt: skip
def test_accepted_thresholds(value: object, expected: float) -> None:
    assert parse_similarity(value) == expected


@pytest.mark.parametrize(
    "value", [0, "0", 0.0, -0.1, 1.01, "1.5", 0.845, "0.845", "nan", "inf", "", "abc", True,
              None, [0.8]],
)  # fmt: skip
def test_refused_thresholds_say_the_rule(value: object) -> None:
    with pytest.raises(InvalidSimilarity) as caught:
        parse_similarity(value)
    assert str(caught.value) == f"Similarity must be {RULE}, not {value!r}."


@given(st.integers(min_value=1, max_value=100))
def test_every_two_decimal_value_in_range_round_trips(hundredths: int) -> None:
    text = f"{hundredths / 100:.2f}"
    assert parse_similarity(text) == pytest.approx(hundredths / 100)
    assert parse_similarity(float(text)) == parse_similarity(text)


@given(st.floats(min_value=0, max_value=1))
def test_wire_score_is_truncated_to_two_decimals(score: float) -> None:
    shown = float(wire_score(score))
    assert shown <= score + 1e-12
    assert score - shown < 0.01 + 1e-12
    # A score reaches a two-decimal threshold exactly when its shown score does.
    threshold = round(shown, 2)
    assert (score >= threshold) == (shown >= threshold)


@pytest.mark.parametrize(
    ("score", "wire", "display"),
    [(1.0, "1.0", 1.0), (0.98765, "0.98", 0.9877), (0.5, "0.5", 0.5), (-0.2, "0.0", -0.2)],
)
def test_the_two_formats(score: float, wire: str, display: float) -> None:
    assert wire_score(score) == wire
    assert display_score(score) == display
