"""Candidate lookup at scale: ``index.find_matches`` for one new image against N stored ones.

Stores N synthetic fingerprints (``engine.synthetic``) with their index keys, bulk-inserted, then
times ``find_matches`` for new images that are planted near-duplicates of stored ones (they are
not stored themselves): p50/p95 of the whole lookup, of its SQL part (candidate ids and bytes)
and the number of candidates, per database and size. Sizes grow in place (100k, then the next
900k rows are added for 1M), so each database is filled once.

SQLite: a file in a temp directory, loaded with ``synchronous=OFF`` and a 1 GiB page cache.
PostgreSQL: a ``bench_imagex_dedup`` database (``--pg-database``: pick another name when a run is
already going) on 127.0.0.1:5432 (user postgres), created for the run and dropped afterwards.

``--explain N`` prints the plan of the candidate statement (``index.lookup.candidate_rows``) for
the first N planted images at each size, after the timed look-ups: ``EXPLAIN (ANALYZE, BUFFERS)``
on PostgreSQL (the plan check before a release: an index scan of ``imagex_dedup_key_idx``, buffers
read vs hit), ``EXPLAIN QUERY PLAN`` on SQLite.

Run: ``.venv/bin/python bench/bench_index.py [--sizes 100000 1000000] [--databases sqlite
postgresql] [--queries 50] [--workers 2] [--explain 0]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import django
import numpy as np
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imagex_dedup import engine
from tests.support.synthetic import synthetic_fingerprints

PG_NAME = "bench_imagex_dedup"
INDEX = "imagex_dedup_key_idx"
FP_COLUMNS = (
    "id, content_type_id, object_id, field_name, fingerprint, fingerprint_version, "
    "content_hash, file_name, format, computed_at, error"
)
CHUNK = 20_000
SQLITE_CACHE_KIB = 1024 * 1024
"""SQLite page cache for the run (1 GiB; the default 2 MiB makes the 1M load crawl)."""


def configure(database: str, sqlite_path: str, pg_name: str) -> None:
    if database == "sqlite":
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path}
    else:
        db = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": pg_name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    settings.configure(
        DATABASES={"default": db},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "imagex_dedup",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()


def keyed_chunks(
    fingerprints: Sequence[bytes], start: int, stop: int, workers: int
) -> Iterator[tuple[int, list[bytes], list[list[int]]]]:
    spans = [(i, min(i + CHUNK, stop)) for i in range(start, stop, CHUNK)]
    chunks = [list(fingerprints[a:b]) for a, b in spans]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for (a, _), chunk, keys in zip(
            spans, chunks, pool.map(engine.index_keys_many, chunks), strict=True
        ):
            yield a, chunk, keys


@contextmanager
def bulk_load() -> Iterator[None]:
    """Load without the key index and foreign-key checks; rebuild the index afterwards."""
    from django.db import connection

    from imagex_dedup.models import ImageFingerprintKey

    table = ImageFingerprintKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        if connection.vendor == "postgresql":
            constraints = connection.introspection.get_constraints(cursor, table)
            for name, info in constraints.items():
                if info["foreign_key"]:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {INDEX} ON {table} (key, fingerprint_id)")
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def insert(rows: Iterator[tuple[int, list[bytes], list[list[int]]]], content_type_id: int) -> None:
    from django.db import connection, transaction

    from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey

    fp_table = ImageFingerprint._meta.db_table
    key_table = ImageFingerprintKey._meta.db_table
    version = engine.FINGERPRINT_VERSION
    now = datetime.now(UTC)
    for start, chunk, keys in rows:
        fp_rows = [
            (
                start + i + 1,
                content_type_id,
                str(start + i),
                "image",
                data,
                version,
                "",
                "",
                "",
                now,
                "",
            )
            for i, data in enumerate(chunk)
        ]
        key_rows = [(start + i + 1, key) for i, row in enumerate(keys) for key in row]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                copy_rows(cursor, fp_table, fp_rows, key_table, key_rows)
            else:
                cursor.executemany(
                    f"INSERT INTO {fp_table} ({FP_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})",
                    fp_rows,
                )
                cursor.executemany(
                    f"INSERT INTO {key_table} (fingerprint_id, key) VALUES (%s, %s)", key_rows
                )
        print(f"\r  inserted {start + len(chunk):,} fingerprints", end="", file=sys.stderr)
    print(file=sys.stderr)


def copy_rows(cursor, fp_table, fp_rows, key_table, key_rows) -> None:
    raw = cursor.cursor
    with raw.copy(f"COPY {fp_table} ({FP_COLUMNS}) FROM STDIN") as copy:
        for row in fp_rows:
            copy.write_row(row)
    with raw.copy(f"COPY {key_table} (fingerprint_id, key) FROM STDIN") as copy:
        for row in key_rows:
            copy.write_row(row)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure(queries: list[tuple[int, bytes]], stored: int, content_type_id: int) -> dict:
    from imagex_dedup.index.lookup import candidates, find_matches
    from imagex_dedup.models import ImageFingerprint

    totals, cpu, sql, counts, found = [], [], [], [], 0
    for original, data in queries:
        record = ImageFingerprint(
            content_type_id=content_type_id,
            object_id=f"new-{original}",
            field_name="image",
            fingerprint=data,
            fingerprint_version=engine.FINGERPRINT_VERSION,
        )
        started = time.perf_counter()
        candidate_rows = candidates(engine.Fingerprint.from_bytes(data), exclude=record)
        sql.append(time.perf_counter() - started)
        counts.append(len(candidate_rows))
        started, cpu_started = time.perf_counter(), time.process_time()
        matches = find_matches(record, engine.DEFAULT_SIMILARITY)
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        found += str(original) in {m.object_id for m, _ in matches}
    expected = sum(1 for original, _ in queries if original < stored)
    return {
        "p50_ms": 1000 * percentile(totals, 50),
        "p95_ms": 1000 * percentile(totals, 95),
        "cpu_p50_ms": 1000 * percentile(cpu, 50),
        "sql_p50_ms": 1000 * percentile(sql, 50),
        "sql_p95_ms": 1000 * percentile(sql, 95),
        "candidates_p50": int(statistics.median(counts)),
        "recall": f"{found}/{expected}",
    }


def explain(queries: list[tuple[int, bytes]]) -> None:
    """Print the candidate statement's plan for each query (see the module docstring)."""
    from django.db import connection

    from imagex_dedup.index.lookup import candidate_rows

    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    for original, data in queries:
        plan = candidate_rows(engine.Fingerprint.from_bytes(data)).explain(**options)
        print(f"plan, planted copy of {original}:\n{plan}", flush=True)


@contextmanager
def postgres_database(pg_name: str) -> Iterator[None]:
    import psycopg

    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {pg_name}")
        admin.execute(f"CREATE DATABASE {pg_name}")
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {pg_name}")


def create_schema() -> int:
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey

    call_command("migrate", "contenttypes", verbosity=0)
    with connection.schema_editor() as editor:
        editor.create_model(ImageFingerprint)
        editor.create_model(ImageFingerprintKey)
    return ContentType.objects.get_or_create(app_label="bench", model="photo")[0].pk


def run(
    database: str, sizes: list[int], n_queries: int, workers: int, seed: int, n_explain: int
) -> None:
    started = time.perf_counter()
    fingerprints, planted = synthetic_fingerprints(max(sizes), seed=seed, planted=n_queries)
    data = [fp.to_bytes() for fp in fingerprints]
    copies = {copy for _, copy in planted}
    sample = data[: min(len(data), 200)]
    assert engine.index_keys_many(sample) == [engine.index_keys(d) for d in sample]
    stored_data = [d for i, d in enumerate(data) if i not in copies]
    stored_index = [i for i in range(len(data)) if i not in copies]
    position = {index: row for row, index in enumerate(stored_index)}
    queries = [(position[original], data[copy]) for original, copy in planted]
    print(
        f"{database}: {len(data):,} synthetic fingerprints in {time.perf_counter() - started:.0f} s"
    )

    content_type_id = create_schema()
    done = 0
    for size in sorted(sizes):
        started = time.perf_counter()
        with bulk_load():
            insert(keyed_chunks(stored_data, done, size, workers), content_type_id)
        elapsed = time.perf_counter() - started
        print(f"{database}: stored {size:,} fingerprints ({size - done:,} new in {elapsed:.0f} s)")
        done = size
        measure(queries[:3], size, content_type_id)  # warm caches and connections
        figures = measure(queries, size, content_type_id)
        print(
            f"{database:>10} {size:>9,}: find_matches p50 {figures['p50_ms']:.1f} ms, "
            f"p95 {figures['p95_ms']:.1f} ms (client CPU p50 {figures['cpu_p50_ms']:.1f} ms) | "
            f"SQL p50 {figures['sql_p50_ms']:.1f} ms, "
            f"p95 {figures['sql_p95_ms']:.1f} ms | candidates p50 {figures['candidates_p50']:,}"
            f" | planted originals found {figures['recall']}"
            f" | load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        explain(queries[:n_explain])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-database", default=PG_NAME)
    parser.add_argument("--explain", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if len(args.databases) > 1:
        # Django is configured once per process: one child process per database.
        import subprocess

        for database in args.databases:
            command = [
                sys.executable,
                __file__,
                "--databases",
                database,
                "--queries",
                str(args.queries),
                "--workers",
                str(args.workers),
                "--seed",
                str(args.seed),
                "--pg-database",
                args.pg_database,
                "--explain",
                str(args.explain),
                "--sizes",
                *map(str, args.sizes),
            ]
            subprocess.run(command, check=True)
        return
    (database,) = args.databases
    with tempfile.TemporaryDirectory(prefix="bench_index_") as tmp:
        configure(database, os.path.join(tmp, "bench.sqlite3"), args.pg_database)
        if database == "postgresql":
            with postgres_database(args.pg_database):
                run(database, args.sizes, args.queries, args.workers, args.seed, args.explain)
        else:
            run(database, args.sizes, args.queries, args.workers, args.seed, args.explain)


if __name__ == "__main__":
    main()
