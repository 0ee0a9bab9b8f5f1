"""Added latency of the upload check: ``check_upload`` on one upload against a library of N
fingerprints, on PostgreSQL.

The library is N synthetic fingerprints (``tests/support/synthetic.py``) stored through the
index store (``index.store.save_analyses``, in chunks) plus two real photos (``testapp.Photo``
rows with files) that the uploads are copies of, so every check finds one match and loads its
host object, as in the admin. Uploads: a 12 MP JPEG (flower.jpg scaled to 4000x3000, quality
90) and a 1 MP PNG (exif-72dpi-int.jpg scaled to 1155x866), with fine noise added so that they
weigh what camera files do (a smooth upscale compresses to a fraction), each an in-memory
``UploadedFile``. The
hand-off to the save hook goes to a Redis cache, as in production. Sizes grow in place.

Each row times ``check_upload`` whole (read, hash, decode, fingerprint, look-up, host objects,
hand-off) and, apart, the analysis alone (read, hash, decode, fingerprint): the difference is what
the library's size costs.

PostgreSQL: a ``bench_imagex_dedup_upload`` database (``--pg-database``) on 127.0.0.1:5432
(user postgres), created for the run and dropped afterwards; Redis: ``--redis``.

Run: ``.venv/bin/python bench/bench_upload.py [--sizes 10000 100000] [--checks 30]``
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import django
import numpy as np
from django.conf import settings
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_index import percentile, postgres_database  # noqa: E402
from tests.support.synthetic import synthetic_fingerprints  # noqa: E402

PHOTOS = ROOT / "tests" / "data" / "photos"
CHUNK = 5_000


def configure(pg_name: str, redis_url: str, media_root: str) -> None:
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": pg_name,
                "USER": os.environ.get("PGUSER", "postgres"),
                "HOST": os.environ.get("PGHOST", "127.0.0.1"),
                "PORT": os.environ.get("PGPORT", "5432"),
            }
        },
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": "bench_upload",
            }
        },
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_q",
            "imagex_dedup",
            "tests.testapp",
        ],
        IMAGEX_DEDUP={"MODELS": {"testapp.Photo": "image"}, "ENABLED": False},
        Q_CLUSTER={"name": "bench_upload", "orm": "default", "timeout": 60, "retry": 90},
        MEDIA_ROOT=media_root,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()


def encoded(name: str, size: tuple[int, int], fmt: str) -> bytes:
    """The photo ``name`` scaled to ``size`` with sensor-like noise (sigma 6), encoded."""
    with Image.open(PHOTOS / name) as im:
        image = im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    noise = np.random.default_rng(0).normal(0, 6, (size[1], size[0], 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def store_library_photos() -> None:
    """The two real photos the uploads are copies of, fingerprinted and stored."""
    from django.core.files.base import ContentFile

    from tests.support.records import store_fingerprint
    from tests.testapp.models import Photo

    for title, name in [("Frangipani", "flower.jpg"), ("Mountain peak", "exif-72dpi-int.jpg")]:
        photo = Photo(title=title)
        photo.image.save(name, ContentFile((PHOTOS / name).read_bytes()), save=True)
        store_fingerprint(photo, "image")


def grow_library(fingerprints: list[bytes], start: int, stop: int) -> float:
    """Store synthetic fingerprints ``start`` to ``stop`` through the index store."""
    from django.contrib.contenttypes.models import ContentType

    from imagex_dedup.index.analysis import Analysis
    from imagex_dedup.index.store import refresh_planner_statistics, save_analyses
    from tests.testapp.models import Photo

    content_type = ContentType.objects.get_for_model(Photo)
    started = time.perf_counter()
    for first in range(start, stop, CHUNK):
        items = [
            (
                f"syn-{i}",
                f"photos/syn-{i}.jpg",
                Analysis(fingerprint=fingerprints[i], format="JPEG"),
            )
            for i in range(first, min(first + CHUNK, stop))
        ]
        save_analyses(content_type, "image", items)
    refresh_planner_statistics()
    return time.perf_counter() - started


def measure(data: bytes, name: str, checks: int) -> dict[str, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imagex_dedup.upload import check_upload
    from imagex_dedup.upload.check import analyse_upload
    from tests.testapp.models import Photo

    totals, analyses, matches = [], [], set()
    for attempt in range(checks + 1):  # the first one warms caches and connections up
        upload = SimpleUploadedFile(name, data)
        started = time.perf_counter()
        result = check_upload(upload, model=Photo)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        analyse_upload(upload)
        analysed = time.perf_counter() - started
        if attempt:
            totals.append(elapsed)
            analyses.append(analysed)
            matches.add(tuple(match.label for match in result.matches))
    return {
        "p50_ms": 1000 * percentile(totals, 50),
        "p95_ms": 1000 * percentile(totals, 95),
        "analysis_p50_ms": 1000 * percentile(analyses, 50),
        "matches": " / ".join(", ".join(m) or "-" for m in sorted(matches)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--checks", type=int, default=30)
    parser.add_argument("--pg-database", default="bench_imagex_dedup_upload")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    uploads = {
        "12 MP JPEG": ("big.jpg", encoded("flower.jpg", (4000, 3000), "JPEG")),
        "1 MP PNG": ("peak.png", encoded("exif-72dpi-int.jpg", (1155, 866), "PNG")),
    }
    fingerprints = [
        fp.to_bytes() for fp in synthetic_fingerprints(max(args.sizes), seed=args.seed)[0]
    ]
    with tempfile.TemporaryDirectory() as media_root:
        configure(args.pg_database, args.redis, media_root)
        from django.core.management import call_command

        with postgres_database(args.pg_database):
            call_command("migrate", verbosity=0)
            store_library_photos()
            for kind, (_, data) in uploads.items():
                print(f"- upload {kind}: {len(data) / 1e6:.1f} MB")
            stored, rows = 0, []
            for size in sorted(args.sizes):
                loaded = grow_library(fingerprints, stored, size)
                print(f"- stored {size - stored:,} more fingerprints in {loaded:.1f} s")
                stored = size
                for kind, (name, data) in uploads.items():
                    row = measure(data, name, args.checks)
                    rows.append(
                        f"| {size:,} | {kind} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
                        f"| {row['analysis_p50_ms']:.1f} | {row['matches']} |"
                    )
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"\n{args.checks} checks per row; load average {load}\n")
            print(
                "| library | upload | check p50 ms | check p95 ms | analysis alone p50 ms | match |"
            )
            print("|---|---|---|---|---|---|")
            print("\n".join(rows))


if __name__ == "__main__":
    main()
