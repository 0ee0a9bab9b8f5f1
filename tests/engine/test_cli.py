"""``python -m imagex_dedup check``, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imagex_dedup.engine.similarity import wire_score
from tests.engine.conftest import PHOTOS, encode, photo

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "imagex_dedup", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def check(*args: str) -> tuple[dict, str]:
    """Run ``check``, assert success, return the parsed stdout and the stderr."""
    done = run("check", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """A directory: two near-duplicates of the flower (one nested), the test card, non-images."""
    flower = photo()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "flower.jpg").write_bytes((PHOTOS / "flower.jpg").read_bytes())
    (tmp_path / "flower-small.png").write_bytes(encode(flower.resize((240, 180)), "PNG"))
    shutil.copy(PHOTOS / "test-card.png", tmp_path / "card.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"AppleDouble junk")
    return tmp_path


def test_two_copies_score_one_and_group(tmp_path) -> None:
    copy = tmp_path / "copy.jpg"
    shutil.copy(PHOTOS / "flower.jpg", copy)
    original = str(PHOTOS / "flower.jpg")
    result, stderr = check(original, str(copy))
    assert result == {"Score": "1.0", "Groups": {"group0": [original, str(copy)]}}
    assert stderr == ""


def test_two_different_images_have_a_score_but_no_group() -> None:
    result, _ = check(str(PHOTOS / "flower.jpg"), str(PHOTOS / "test-card.png"))
    assert result["Groups"] == {}
    assert float(result["Score"]) < 0.84


def test_a_directory_means_every_image_under_it(album) -> None:
    result, stderr = check(str(album))
    assert result == {
        "Groups": {"group0": [str(album / "a" / "flower.jpg"), str(album / "flower-small.png")]}
    }
    assert stderr == ""


def test_output_is_deterministic(album) -> None:
    outputs = {run("check", str(album), str(PHOTOS)).stdout for _ in range(2)}
    assert len(outputs) == 1
    groups = json.loads(outputs.pop())["Groups"]
    assert list(groups) == [f"group{n}" for n in range(len(groups))]


def test_unreadable_inputs_are_reported_and_left_out(tmp_path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((PHOTOS / "flower.jpg").read_bytes()[:5000])
    text = tmp_path / "readme.jpg"
    text.write_text("hello")
    flower = str(PHOTOS / "flower.jpg")
    result, stderr = check(flower, str(broken), str(text), flower)
    assert result == {"Groups": {"group0": [flower, flower]}}
    lines = stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{broken}: corrupt: ")
    assert lines[1].startswith(f"{text}: not_an_image: ")


def test_no_score_unless_both_of_two_inputs_load(tmp_path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result, _ = check(str(PHOTOS / "flower.jpg"), str(broken))
    assert result == {"Groups": {}}


def test_score_and_grouping_agree_at_the_threshold(tmp_path) -> None:
    variant = tmp_path / "variant.jpg"
    variant.write_bytes(encode(photo().resize((300, 225)), "JPEG", quality=40))
    pair = (str(PHOTOS / "flower.jpg"), str(variant))
    score = check(*pair)[0]["Score"]
    assert check(*pair, "--similarity", score)[0]["Groups"] == {"group0": list(pair)}
    above = f"{float(score) + 0.01:.2f}"
    if float(above) <= 1:
        assert check(*pair, "--similarity", above)[0]["Groups"] == {}


def test_urls_are_fetched_safely(http_server) -> None:
    url = http_server.url("/image")
    result, stderr = check(url, url + "?again", "--allow-private-urls")
    assert result == {"Score": "1.0", "Groups": {"group0": [url, url + "?again"]}}
    assert stderr == ""
    result, stderr = check(url, str(PHOTOS / "flower.jpg"))  # loopback refused by default
    assert result == {"Groups": {}}
    assert stderr.startswith(f"{url}: unsafe_url: ")
    assert sorted(http_server.paths) == ["/image", "/image?again"]  # fetched concurrently


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["check"],
        ["check", "does-not-exist.jpg"],
        ["check", "--similarity", "1.5", "x"],
        ["check", "--similarity", "0.845", "x"],
        ["check", "--similarity", "-0.1", "x"],
        ["check", "--similarity", "nan", "x"],
        ["check", "--similarity", "high", "x"],
        ["check", "--bogus", "x"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(args) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "usage:" in done.stderr


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (1.0, "1.0"),
        (0.0, "0.0"),
        (0.93, "0.93"),
        (0.9349, "0.93"),
        (0.999, "0.99"),
        (0.29, "0.29"),
        (0.9, "0.9"),
        (0.84, "0.84"),
        (1.0000001, "1.0"),
    ],
)
def test_wire_score(score, text) -> None:
    assert wire_score(score) == text
