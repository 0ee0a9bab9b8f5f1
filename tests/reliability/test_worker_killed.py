"""A qcluster worker killed (SIGKILL) in the middle of a service task: the broker delivers the
message again, the task runs to the end once in effect and the client gets one callback.

SQLite + the ORM broker (a message stays in the queue, locked, until its result is saved, and
is handed out again ``retry`` seconds after it was taken). The Redis broker pops messages, so a
killed worker loses its message there: see ``bench/README.md`` (reliability).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from imagex_dedup.models import AccessKey, CallbackAttempt, DetectionService, DetectionTask
from imagex_dedup.service.access import Caller
from imagex_dedup.service.actions import detect_duplicates
from tests.processes import stop_process
from tests.reliability.conftest import pid_of_client, start_fault_child
from tests.service.conftest import wait_for_delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def short_retry_cluster(transactional_db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A real qcluster child whose broker hands out unacknowledged messages after 12 s."""
    from django.conf import settings
    from django_q.conf import Conf

    if "orm" not in settings.Q_CLUSTER:
        pytest.skip("needs the ORM broker (a popped Redis message dies with its worker)")
    monkeypatch.setattr(Conf, "SYNC", False)
    log = tmp_path / "qcluster.log"
    process = start_fault_child(["qcluster"], log)
    yield log
    stop_process(process)


def test_killed_worker_task_is_retried_and_completes_once(
    short_retry_cluster, slow_image, receiver, photo_base
) -> None:
    service = DetectionService.objects.create(service_id="svc-kill", allow_private_urls=True)
    key = AccessKey.objects.create(service=service, access_key_id="AKkill", secret_access_key="s")
    urls = [f"{photo_base}/flower.jpg", slow_image.url]
    body = json.dumps({"Urls": urls, "Async": True, "Callback": receiver.url}).encode()
    accepted = detect_duplicates(
        Caller(access_key=key),
        {"ServiceId": "svc-kill"},
        "application/json",
        body,
        request_id="kill-1",
    )
    task_id = accepted["TaskId"]

    assert slow_image.first_request.wait(60), "the worker never fetched the slow image"
    worker = pid_of_client(slow_image.requests[0])
    os.kill(worker, signal.SIGKILL)
    slow_image.release()

    receiver.wait(1, timeout=90)  # after the broker's retry (12 s) and the second run
    wait_for_delivery(task_id)
    receiver.wait(1)
    assert len(slow_image.requests) == 2  # the killed run and the retried one
    assert "reincarnated worker" in short_retry_cluster.read_text()
    task = DetectionTask.objects.get(task_id=task_id)
    assert task.status == DetectionTask.Status.SUCCESS
    assert task.result["Groups"] == {"group0": urls}
    assert [json.loads(raw)["TaskId"] for _, raw in receiver.received] == [task_id]
    assert json.loads(receiver.received[0][1])["Status"] == 1
    attempts = CallbackAttempt.objects.filter(task=task)
    assert list(attempts.values_list("attempt", "status_code", "error")) == [(1, 200, "")]
