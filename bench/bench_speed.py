"""Fingerprinting speed: this engine vs imagehash.phash and pdqhash on the same JPEG files.

Two sets: the real JPEG photos as they are, and 12-megapixel JPEGs (4000x3000, quality 90) made
from them in a temporary directory. Each method runs in a single process on every file, from
the file path to the hash (decode included: the engine decodes JPEGs at reduced DCT scale, the
peers as their docs show, with a full ``PIL.Image.open(...)`` decode), interleaved file by file
and timed in CPU seconds, so the per-core ratios hold on a shared machine. Then
``fingerprint_many`` with 2 worker processes, in wall-clock images per second (which does depend
on what else the machine runs). Last, whole runs as a user starts them, each in a fresh process
and interleaved: ``python -m imagex_dedup check DIR`` on a directory of 12-megapixel JPEGs
against a script that hashes the same files with imagehash.phash, and the start-up alone (the
CLI's imports against ``import imagehash``); median wall clock and the ratio.

Run: ``.venv/bin/python bench/bench_speed.py [--large 12] [--cli-files 24] [--min-seconds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from photos import photo_files
from PIL import Image

from imagex_dedup.engine import fingerprint, fingerprint_many

LARGE_SIZE = (4000, 3000)


def make_large_jpegs(sources: list[Path], count: int, directory: Path) -> list[Path]:
    """``count`` 12-megapixel JPEGs: each photo cropped to 4:3 and upscaled (cycling photos)."""
    paths = []
    for index in range(count):
        with Image.open(sources[index % len(sources)]) as image:
            rgb = image.convert("RGB")
        w, h = rgb.size
        cw, ch = min(w, h * 4 // 3), min(h, w * 3 // 4)
        box = ((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2)
        large = rgb.crop(box).resize(LARGE_SIZE, Image.Resampling.BICUBIC)
        if index >= len(sources):  # a different picture per file, not a copy
            large = large.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        path = directory / f"large_{index:02d}.jpg"
        large.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def _phash(path: Path) -> object:
    with Image.open(path) as image:
        return imagehash.phash(image)


def _pdq(path: Path) -> object:
    with Image.open(path) as image:
        return pdqhash.compute(np.asarray(image.convert("RGB")))


def rates(
    methods: dict[str, Callable[[Path], object]], paths: list[Path], min_seconds: float
) -> dict[str, float]:
    """Files per CPU-second of each method, interleaved file by file.

    Interleaving and CPU time (``time.process_time``) keep the comparison fair on a machine
    whose load changes during the run: every method sees the same conditions.
    """
    spent = dict.fromkeys(methods, 0.0)
    done = 0
    while min(spent.values()) < min_seconds:
        for path in paths:
            for name, fn in methods.items():
                start = time.process_time()
                fn(path)
                spent[name] += time.process_time() - start
        done += len(paths)
    return {name: done / seconds for name, seconds in spent.items()}


def many_rate(paths: list[Path], workers: int, min_seconds: float) -> float:
    sources = [str(p) for p in paths]
    repeat = 1
    while True:
        start = time.perf_counter()
        fingerprint_many(sources * repeat, workers=workers)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return len(sources) * repeat / elapsed
        repeat *= 2


def report(title: str, paths: list[Path], min_seconds: float) -> None:
    measured = rates(
        {"engine fingerprint()": fingerprint, "imagehash.phash": _phash, "pdqhash.compute": _pdq},
        paths,
        min_seconds,
    )
    engine = measured["engine fingerprint()"]
    print(f"\n## {title} ({len(paths)} files)")
    print("| method (1 process) | images per CPU-second | engine speed-up |")
    print("|---|---|---|")
    for name, value in measured.items():
        print(f"| {name} | {value:.1f} | {engine / value:.1f}x |")
    pool = many_rate(paths, 2, min_seconds)
    print(f"| engine fingerprint_many(workers=2), wall clock | {pool:.1f} images/s | |")


PHASH_SCRIPT = """
import sys
import imagehash
from PIL import Image
for path in sys.argv[1:]:
    with Image.open(path) as image:
        imagehash.phash(image)
"""


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def whole_runs(directory: Path, repeats: int) -> None:
    """Median wall clock of fresh-process runs, interleaved so both see the same load."""
    files = sorted(str(p) for p in directory.glob("*.jpg"))
    commands = {
        "python -m imagex_dedup check DIR": [
            sys.executable,
            "-m",
            "imagex_dedup",
            "check",
            str(directory),
        ],
        "imagehash.phash script": [sys.executable, "-c", PHASH_SCRIPT, *files],
        "start-up: import imagex_dedup.engine.cli": [
            sys.executable,
            "-c",
            "import imagex_dedup.engine.cli",
        ],
        "start-up: import imagehash": [sys.executable, "-c", "import imagehash"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(_wall(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n## Whole runs on {len(files)} JPEGs of 12 MP (median of {repeats}, wall clock)")
    print("| run | seconds |")
    print("|---|---|")
    for name, value in median.items():
        print(f"| {name} | {value:.2f} |")
    ratio = median["imagehash.phash script"] / median["python -m imagex_dedup check DIR"]
    print(f"CLI speed-up over the phash script: {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", type=int, default=12, help="number of 12 MP JPEGs")
    parser.add_argument("--cli-files", type=int, default=24, help="12 MP JPEGs for whole runs")
    parser.add_argument("--repeats", type=int, default=5, help="whole runs of each command")
    parser.add_argument("--min-seconds", type=float, default=3.0)
    args = parser.parse_args()

    jpegs = [p for p in photo_files() if p.suffix.lower() in {".jpg", ".jpeg"}]
    sizes = ", ".join(f"{Image.open(p).size[0]}x{Image.open(p).size[1]}" for p in jpegs)
    report(f"Real JPEG photos ({sizes})", jpegs, args.min_seconds)
    with tempfile.TemporaryDirectory() as directory:
        large = make_large_jpegs(jpegs, max(args.large, args.cli_files), Path(directory))
        report("12-megapixel JPEGs (4000x3000, q90)", large[: args.large], args.min_seconds)
        for extra in large[args.cli_files :]:
            extra.unlink()
        whole_runs(Path(directory), args.repeats)


if __name__ == "__main__":
    main()
