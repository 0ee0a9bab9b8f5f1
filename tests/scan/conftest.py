"""Scan fixtures: a queue that only stores tasks (so a test drives the stages itself), and a
single-process scan to compare with."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django_q.brokers import get_broker
from django_q.conf import Conf


@pytest.fixture
def queue_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Enqueued tasks stay on the real broker instead of running inline; purged afterwards."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    yield
    broker.purge_queue()


def scan_here() -> str:
    """``dedup_scan`` in this process (no pool): the reference result."""
    out = io.StringIO()
    call_command("dedup_scan", "--workers", "1", "--batch-size", "7", "--no-progress", stdout=out)
    return out.getvalue()
