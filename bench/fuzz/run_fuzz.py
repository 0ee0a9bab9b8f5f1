"""A longer run of the hypothesis fuzz tests in ``tests/security/test_fuzz.py``.

The unit suite runs 150 examples per parser (120 for the image loader); this runs ``--scale``
times as many (default 40: 6,000 and 4,800) and prints pytest's outcome, the examples per test
and the wall time.

Run from the repository root: ``.venv/bin/python bench/fuzz/run_fuzz.py [--scale 40]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=40.0)
    args = parser.parse_args()
    env = {
        **os.environ,
        "IMAGEX_DEDUP_FUZZ_SCALE": str(args.scale),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/security/test_fuzz.py", "-q", "-p",
         "no:cacheprovider", "--nomigrations", "--hypothesis-show-statistics"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    lines = result.stdout.splitlines()
    for line in lines:
        if "::" in line or "passing examples" in line or "failing" in line or "passed" in line:
            print(line.strip())
    print(f"scale {args.scale:g}: exit {result.returncode}, {elapsed:.0f} s wall, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if result.returncode:
        print(result.stdout[-4000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
