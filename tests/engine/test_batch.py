"""engine.batch: the one batch check every face formats (CLI, service, REST, dedup_check)."""

from __future__ import annotations

import pytest
from PIL import Image

from imagex_dedup.engine import ImageLoadError, compare, fingerprint_image
from imagex_dedup.engine.batch import check_batch
from tests.support.variants import make_variant


@pytest.fixture
def prints(flower: Image.Image, test_card: Image.Image) -> dict:
    return {
        "flower": fingerprint_image(flower),
        "flower_small": fingerprint_image(make_variant(flower, "resize")),
        "card": fingerprint_image(test_card),
    }


def test_two_usable_inputs_get_their_score_and_group(prints: dict) -> None:
    result = check_batch([prints["flower"], prints["flower_small"]], 0.84)
    assert result.score == pytest.approx(compare(prints["flower"], prints["flower_small"]))
    assert result.groups == [[0, 1]]
    assert result.failures == []


def test_groups_and_failures_name_input_positions(prints: dict) -> None:
    error = ImageLoadError("not_an_image", "not an image")
    result = check_batch([prints["card"], error, prints["flower"], prints["flower_small"]], 0.84)
    assert result.score is None  # four inputs: no pair score
    assert result.groups == [[2, 3]]
    assert result.failures == [(1, error)]


def test_a_pair_with_one_failure_has_no_score(prints: dict) -> None:
    error = ImageLoadError("corrupt", "truncated")
    result = check_batch([prints["flower"], error], 0.84)
    assert (result.score, result.groups, result.failures) == (None, [], [(1, error)])


def test_different_pictures_score_low_and_stay_apart(prints: dict) -> None:
    result = check_batch([prints["flower"], prints["card"]], 0.84)
    assert result.score is not None and result.score < 0.84
    assert result.groups == []
