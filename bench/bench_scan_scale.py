"""``manage.py dedup_scan`` at scale: N small JPEG files on disk, registered host rows, two workers.

The library is made fast and distinct: each image blends a random crop of one of the bundled
photos (random size, position, colour balance) with random smooth fields at two scales (colour and
grey, so they carry the luminance the fingerprint reads) and pixel noise, so no two generated
images are near-duplicates by accident. ``N / 100`` of them get a *planted*
near-duplicate (a re-encoded copy with a small brightness change, a 4 % crop and light noise).
Rows of ``testapp.Photo`` are bulk-created (no signals) in a throwaway SQLite database in a temp
directory, or with ``--database postgresql`` in a database on 127.0.0.1:5432 created for the run
and dropped afterwards (``--pg-database``, default ``bench_scan_imagex_dedup``); then
``dedup_scan --workers 2`` runs in this process, its pool as child processes.

Reported: generation time, scan time and throughput (images/s), the CPU time of this process
(the scan's parent: storing, checking, linking) and of the pool workers per image, the parent's
CPU per image and the rate in tenths of the run (how the cost grows with the library), peak RSS
of this process and of the process tree (/proc, sampled every 0.2 s), planted pairs recovered as
one group, other groups, and the load average before, during (per tenth) and after.
With ``--progress``, a line per tenth on stderr as the scan goes (partial figures of a long run).

Run: ``.venv/bin/python bench/bench_scan_scale.py [--n 10000] [--workers 2] [--keep]
[--database sqlite|postgresql]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PHOTOS = REPO_ROOT / "tests" / "data" / "photos"
PG_NAME = "bench_scan_imagex_dedup"
SIDE = 96  # pixels; small files keep the run about the pipeline, not about decoding
QUALITY = 85
_bases: list[np.ndarray] = []


def _load_bases() -> list[np.ndarray]:
    if not _bases:
        for path in sorted(PHOTOS.iterdir()):
            if path.suffix.lower() in {".jpg", ".png", ".webp", ".mpo"}:
                with Image.open(path) as image:
                    image.thumbnail((384, 384))
                    _bases.append(np.asarray(image.convert("RGB"), dtype=np.float32))
    return _bases


def _field(rng: np.random.Generator, cells: int, channels: int) -> np.ndarray:
    """A smooth random field: ``cells x cells`` random values upsampled (bicubic) to SIDE."""
    grid = rng.uniform(0, 255, (cells, cells, channels)).astype(np.uint8)
    image = Image.fromarray(grid[..., 0] if channels == 1 else grid)
    field = np.asarray(image.resize((SIDE, SIDE), Image.BICUBIC), np.float32)
    return field if channels == 3 else field[..., None]


def make_image(seed: int) -> Image.Image:
    """A distinct picture: photo crop + smooth random fields + noise, colour-jittered.

    The fingerprint reads luminance, where independent random colour channels average out and a
    photo's structure does not: with one 8x8 colour field over a 30 % crop (the first version),
    two crops of one photo a few pixels apart matched through any colour fields (~1e-5 of all
    pairs, 1,842 false pairs in 20k images). Grey fields at 8x8 and 16x16 cells (the 16x16 DCT
    frequencies the full hash keeps) and a 25 % crop of at most 2/3 of the photo's short side
    make the random part dominate every hashed frequency: identical crops now score ~0.73.
    """
    rng = np.random.default_rng(seed)
    bases = _load_bases()
    base = bases[rng.integers(len(bases))]
    h, w = base.shape[:2]
    side = int(rng.integers(min(h, w) // 4, min(h, w) * 2 // 3))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(base[top : top + side, left : left + side].astype(np.uint8))
    crop_arr = np.asarray(crop.resize((SIDE, SIDE), Image.BILINEAR), dtype=np.float32)
    colour = 0.5 * _field(rng, 8, 3) + 0.5 * _field(rng, 16, 3)
    grey = 0.6 * _field(rng, 8, 1) + 0.4 * _field(rng, 16, 1)
    mixed = 0.25 * crop_arr * rng.uniform(0.7, 1.3, 3) + 0.75 * (0.5 * colour + 0.5 * grey)
    # Full contrast for every picture: a dark photo crop must not make a dull, look-alike image.
    mixed = (mixed - mixed.mean()) / (mixed.std() + 1e-6) * 55 + 128
    mixed += rng.normal(0, 6, mixed.shape)
    return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))


def near_duplicate(image: Image.Image, seed: int) -> Image.Image:
    """A planted near-duplicate: brightness +-6 %, 4 % cut off one side, light noise."""
    rng = random.Random(seed)
    out = ImageEnhance.Brightness(image).enhance(rng.uniform(0.94, 1.06))
    cut = round(SIDE * 0.04)
    box = rng.choice([(cut, 0, SIDE, SIDE), (0, 0, SIDE - cut, SIDE), (0, cut, SIDE, SIDE)])
    out = out.crop(box).resize((SIDE, SIDE), Image.BILINEAR)
    arr = np.asarray(out, np.float32) + np.random.default_rng(seed).normal(0, 3, (SIDE, SIDE, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def write_chunk(args: tuple[str, int, int, int]) -> int:
    """Write images [start, stop) into ``root``; index i >= n_unique is a planted copy."""
    root, start, stop, n_unique = args
    written = 0
    for index in range(start, stop):
        if index < n_unique:
            data = _jpeg(make_image(index), QUALITY)
        else:
            source = (index - n_unique) * 97 % n_unique  # a spread of originals
            data = _jpeg(near_duplicate(make_image(source), index), 75)
        Path(root, f"{index:07d}.jpg").write_bytes(data)
        written += len(data)
    return written


def generate(root: Path, n: int, planted: int, workers: int) -> int:
    """N files in ``root``; returns their total size in bytes."""
    n_unique = n - planted
    step = 2000
    chunks = [(str(root), s, min(s + step, n), n_unique) for s in range(0, n, step)]
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(write_chunk, chunks))


def planted_pairs(n: int, planted: int) -> list[tuple[int, int]]:
    n_unique = n - planted
    return [((i - n_unique) * 97 % n_unique, i) for i in range(n_unique, n)]


def database_settings(database: str, work: Path, pg_name: str) -> dict[str, object]:
    if database == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": pg_name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(work / "db.sqlite3"),
        "OPTIONS": {"timeout": 60, "init_command": "PRAGMA synchronous=OFF;"},
    }


def database_mb() -> int:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return round(cursor.fetchone()[0] / 2**20)
    return round(Path(connection.settings_dict["NAME"]).stat().st_size / 2**20)


def configure(database: dict[str, object], media: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django_q",
            "imagex_dedup",
            "tests.testapp",
        ],
        DATABASES={"default": database},
        MEDIA_ROOT=str(media),
        Q_CLUSTER={
            "name": "bench_scan",
            "orm": "default",
            "sync": True,
            "timeout": 60,
            "retry": 120,
        },
        IMAGEX_DEDUP={"MODELS": {"testapp.Photo": "image"}, "ENABLED": False},
        LOGGING_CONFIG=None,
    )
    django.setup()


def _tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and its descendants, from /proc (Linux)."""
    total = 0
    todo = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return total


class TreeMemory:
    """Peak RSS of this process plus its children, sampled in a thread."""

    def __init__(self, interval: float = 0.2, report_every: float = 0.0) -> None:
        self.peak = 0
        self.report_every = report_every  # seconds between stderr lines (0: none)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        started = last_report = time.monotonic()
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            if self.report_every and time.monotonic() - last_report >= self.report_every:
                last_report = time.monotonic()
                load = os.getloadavg()[0]
                sys.stderr.write(
                    f"\n[{last_report - started:.0f} s] tree peak RSS "
                    f"{self.peak / 2**20:.0f} MB, load {load:.1f}\n"
                )
            self._stop.wait(interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Segments:
    """Parent CPU, wall time and load per tenth of the scan, from the command's batches."""

    def __init__(self, n: int, tree: TreeMemory | None = None, report: bool = False) -> None:
        self.n, self.tree, self.report = n, tree, report
        self.step = max(1, n // 10)
        self.done = 0
        self.rows: list[dict[str, object]] = []
        self._mark = (0, time.perf_counter(), _cpu_s())

    def batch_done(self, size: int) -> None:
        self.done += size
        start, wall0, cpu0 = self._mark
        if self.done - start < self.step and self.done < self.n:
            return
        wall, cpu = time.perf_counter(), _cpu_s()
        images = self.done - start
        row = {
            "library": self.done,
            "images": images,
            "parent_cpu_ms_per_image": round(1000 * (cpu - cpu0) / images, 2),
            "images_per_s": round(images / (wall - wall0), 1),
            "load_1min": round(os.getloadavg()[0], 1),
        }
        self.rows.append(row)
        self._mark = (self.done, wall, cpu)
        if self.report:
            peak = self.tree.peak / 2**20 if self.tree else 0
            sys.stderr.write(f"\n{json.dumps(row)} tree peak {peak:.0f} MB\n")

    def command(self) -> object:
        """A ``dedup_scan`` command whose batches are counted here."""
        from imagex_dedup.management.commands.dedup_scan import Command

        segments = self

        class CountedScan(Command):
            def _store_and_check(self, batch):  # type: ignore[no-untyped-def]
                result = super()._store_and_check(batch)
                segments.batch_done(batch.size)
                return result

        return CountedScan()


def run(
    n: int,
    workers: int,
    keep: bool,
    progress: bool = False,
    database: str = "sqlite",
    pg_name: str = PG_NAME,
) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    media = work / "media"
    (media / "photos").mkdir(parents=True)
    planted = n // 100
    load_before = os.getloadavg()
    started = time.perf_counter()
    total_bytes = generate(media / "photos", n, planted, workers)
    generate_s = time.perf_counter() - started

    configure(database_settings(database, work, pg_name), media)
    from django.core.management import call_command
    from django.db.models import Count

    from imagex_dedup.models import DuplicateGroupMember, ImageFingerprint, ImageFingerprintKey
    from tests.testapp.models import Photo

    call_command("migrate", verbosity=0)  # the real migrations, as a host project runs them
    started = time.perf_counter()
    step = 5000  # bulk_create makes a list of what it is given: in slices, memory stays flat
    for start in range(0, n, step):
        Photo.objects.bulk_create(
            Photo(title=str(i), image=f"photos/{i:07d}.jpg")
            for i in range(start, min(start + step, n))
        )
    rows_s = time.perf_counter() - started

    load_start = os.getloadavg()
    rss_start = _tree_rss(os.getpid())
    with TreeMemory(report_every=300.0 if progress else 0.0) as tree:
        segments = Segments(n, tree, report=progress)
        command = segments.command()
        cpu_self, cpu_children = _cpu_s(), _cpu_s(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        call_command(command, workers=workers, batch_size=500, no_progress=not progress)
        scan_s = time.perf_counter() - started
        # The pool's workers have been reaped when the command returns.
        cpu_self = _cpu_s() - cpu_self
        cpu_children = _cpu_s(resource.RUSAGE_CHILDREN) - cpu_children
    load_after = os.getloadavg()

    # Photo pk i + 1 holds file i (bulk_create on a fresh table numbers from 1).
    members: dict[int, set[int]] = {}
    for group_id, object_id in DuplicateGroupMember.objects.values_list("group_id", "object_id"):
        members.setdefault(group_id, set()).add(int(object_id) - 1)
    pairs = planted_pairs(n, planted)
    group_of = {index: gid for gid, indices in members.items() for index in indices}
    recovered = sum(1 for a, b in pairs if a in group_of and group_of[a] == group_of.get(b))
    planted_sets = {frozenset(p) for p in pairs}
    other = sum(1 for indices in members.values() if not any(p <= indices for p in planted_sets))
    result = {
        "n": n,
        "workers": workers,
        "mean_file_kb": round(total_bytes / n / 1024, 1),
        "generate_s": round(generate_s, 1),
        "bulk_create_s": round(rows_s, 1),
        "scan_s": round(scan_s, 1),
        "images_per_s": round(n / scan_s, 1),
        "parent_cpu_ms_per_image": round(1000 * cpu_self / n, 2),
        "workers_cpu_ms_per_image": round(1000 * cpu_children / n, 2),
        "by_tenth": segments.rows,
        "peak_rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "rss_tree_at_scan_start_mb": round(rss_start / 2**20),
        "peak_rss_tree_mb": round(tree.peak / 2**20),
        "fingerprints": ImageFingerprint.objects.count(),
        "fingerprint_errors": ImageFingerprint.objects.exclude(error="").count(),
        "index_keys": ImageFingerprintKey.objects.count(),
        "groups": len(members),
        "largest_group": max(
            (
                row["n"]
                for row in DuplicateGroupMember.objects.values("group").annotate(n=Count("id"))
            ),
            default=0,
        ),
        "planted": len(pairs),
        "recovered": recovered,
        "other_groups": other,
        "database": database,
        "db_mb": database_mb(),
        "load_before": [round(x, 1) for x in load_before],
        "load_scan_start": [round(x, 1) for x in load_start],
        "load_after": [round(x, 1) for x in load_after],
    }
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="images (default 10000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--progress", action="store_true", help="scan progress on stderr")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-database", default=PG_NAME, help=f"default {PG_NAME}")
    args = parser.parse_args()
    figures = partial(run, args.n, args.workers, args.keep, args.progress, args.database)
    if args.database == "postgresql":
        from bench_index import postgres_database  # creates the database, drops it afterwards

        with postgres_database(args.pg_database):
            result = figures(args.pg_database)
    else:
        result = figures()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
