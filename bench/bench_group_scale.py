"""Grouping at scale: time and peak memory of ``group()`` on synthetic fingerprints.

Each size runs in a fresh child process (so peak RSS is that size's alone): ``n`` random
fingerprints of which ``n / 100`` are planted near-duplicates (``synthetic.py``: a dihedral
transform plus re-encoding-like bit flips); the run checks that every planted pair comes back
as a group and that no other group appears.

Run: ``.venv/bin/python bench/bench_group_scale.py [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from imagex_dedup.engine import group
from tests.support.synthetic import synthetic_fingerprints


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def run_one(n: int) -> dict[str, float]:
    start = time.perf_counter()
    fingerprints, planted = synthetic_fingerprints(n, seed=0, planted=n // 100)
    generated = time.perf_counter() - start
    rss_before = _current_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    groups = group(fingerprints)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    found = {tuple(members) for members in groups}
    return {
        "n": n,
        "generate_s": generated,
        "group_s": seconds,
        "group_cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_group_mb": rss_before,
        "planted": len(planted),
        "recovered": sum(pair in found for pair in planted),
        "other_groups": len(found - set(planted)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return
    print(
        "| fingerprints | group() wall time | group() CPU time | peak RSS (RSS before group) "
        "| planted pairs recovered | other groups |"
    )
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout)
        print(
            f"| {n:,} | {r['group_s']:.1f} s | {r['group_cpu_s']:.1f} s | "
            f"{r['peak_rss_mb']:.0f} MB ({r['rss_before_group_mb']:.0f} MB) | "
            f"{r['recovered']}/{r['planted']} | {r['other_groups']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
