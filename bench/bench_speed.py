"""Fingerprinting speed: this engine vs imagehash.phash and pdqhash on the same JPEG files.

Two sets: the real JPEG photos as they are, and 12-megapixel JPEGs (4000x3000, quality 90) made
from them in a temporary directory. Each method runs in a single process on every file, from
the file path to the hash (decode included: the engine decodes JPEGs at reduced DCT scale, the
peers as their docs show, with a full ``PIL.Image.open(...)`` decode), interleaved file by file
and timed in CPU seconds, so the per-core ratios hold on a shared machine. Then
``fingerprint_many`` with 2 worker processes, in wall-clock images per second (which does depend
on what else the machine runs).

Run: ``.venv/bin/python bench/bench_speed.py [--large 12] [--min-seconds 3]``
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", type=int, default=12, help="number of 12 MP JPEGs")
    parser.add_argument("--min-seconds", type=float, default=3.0)
    args = parser.parse_args()

    jpegs = [p for p in photo_files() if p.suffix.lower() in {".jpg", ".jpeg"}]
    sizes = ", ".join(f"{Image.open(p).size[0]}x{Image.open(p).size[1]}" for p in jpegs)
    report(f"Real JPEG photos ({sizes})", jpegs, args.min_seconds)
    with tempfile.TemporaryDirectory() as directory:
        large = make_large_jpegs(jpegs, args.large, Path(directory))
        report("12-megapixel JPEGs (4000x3000, q90)", large, args.min_seconds)


if __name__ == "__main__":
    main()
