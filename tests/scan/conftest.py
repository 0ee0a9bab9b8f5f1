"""Scan fixtures: a queue that only stores tasks, and a single-process scan to compare with."""

from __future__ import annotations

import io

from django.core.management import call_command

from tests.support.queue import queue_only  # noqa: F401  (fixture)


def scan_here() -> str:
    """``dedup_scan`` in this process (no pool): the reference result."""
    out = io.StringIO()
    call_command("dedup_scan", "--workers", "1", "--batch-size", "7", "--no-progress", stdout=out)
    return out.getvalue()
