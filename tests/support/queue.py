"""A broker that keeps what is enqueued, so a test runs the tasks itself, in the order it wants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
