"""PostgreSQL sessions dropped (``pg_terminate_backend``) and Redis connections killed under a
running server and qcluster: the next request and the next task reconnect and succeed.

PostgreSQL + Redis leg only: ``DJANGO_SETTINGS_MODULE=tests.settings_pg pytest -m slow
tests/reliability``. On a server shared with other runs, give the test database a name of its
own: ``DJANGO_SETTINGS_MODULE=tests.reliability.q_settings``,
``IMAGEX_DEDUP_BASE_SETTINGS=tests.settings_pg``,
``IMAGEX_DEDUP_PG_TEST_NAME=test_imagex_dedup_faults``. Only sessions of our child processes
(named by ``q_settings``) are terminated. Redis faults use a private ``redis-server`` on its
own loopback port, started here, so the shared Redis of other test runs is never touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from imagex_dedup.models import AccessKey, DetectionService, DetectionTask
from imagex_dedup.service.access import Caller
from imagex_dedup.service.actions import detect_duplicates
from tests.processes import free_port, stop_process, wait_for_port
from tests.reliability.conftest import start_fault_child
from tests.reliability.q_settings import APPLICATION_NAME
from tests.service.conftest import signed_headers, wait_for, wait_for_delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SERVICE_ID, AK, SK = "svc-pg", "AKpgfaults", "pg-secret"


@pytest.fixture(autouse=True)
def _postgres_only(django_db_blocker: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL + Redis leg (tests.settings_pg)")


@pytest.fixture
def key(transactional_db: None) -> AccessKey:
    service = DetectionService.objects.create(service_id=SERVICE_ID, allow_private_urls=True)
    return AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)


def terminate_other_sessions() -> int:
    """Drop the sessions of our child processes (servers, workers, the scheduler): those named
    by ``q_settings``, on the test database, other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s"
            " AND pid <> pg_backend_pid()",
            [APPLICATION_NAME],
        )
        return int(cursor.fetchone()[0])


def accept(key: AccessKey, urls: list[str], callback: str, number: int = 0) -> str:
    body = json.dumps({"Urls": urls, "Async": True, "Callback": callback}).encode()
    reply = detect_duplicates(
        Caller(access_key=key),
        {"ServiceId": SERVICE_ID},
        "application/json",
        body,
        request_id=f"pg{number}",
    )
    return str(reply["TaskId"])


def sync_detect(base: str, urls: list[str]) -> requests.Response:
    query = f"Action=GetImageDuplicateDetection&Version=2018-08-01&ServiceId={SERVICE_ID}"
    target = f"{base}/imagex/?{query}"
    body = json.dumps({"Urls": urls}).encode()
    headers = signed_headers("POST", target, body, "application/json", ak=AK, sk=SK)
    return requests.post(target, data=body, headers=headers, timeout=60)


@pytest.mark.parametrize("conn_max_age", ["0", "60"])
def test_server_requests_survive_dropped_sessions(
    key: AccessKey, photo_base: str, tmp_path: Path, conn_max_age: str
) -> None:
    """CONN_MAX_AGE 0 (a connection per request) and 60 with CONN_HEALTH_CHECKS."""
    port = free_port()
    log = tmp_path / "server.log"
    server = start_fault_child(
        ["runserver", "--noreload", f"127.0.0.1:{port}"],
        log,
        IMAGEX_DEDUP_CONN_MAX_AGE=conn_max_age,
    )
    try:
        wait_for_port(port, server, log)
        base, urls = f"http://127.0.0.1:{port}", [f"{photo_base}/flower.jpg"] * 2
        statuses = [sync_detect(base, urls).status_code]
        dropped = terminate_other_sessions()
        statuses += [sync_detect(base, urls).status_code for _ in range(3)]
    finally:
        stop_process(server)
    assert statuses == [200] * 4, log.read_text()[-3000:]
    if conn_max_age != "0":
        assert dropped >= 1  # the server's persistent session was there to drop


def test_task_survives_its_session_dropped_mid_run(
    key: AccessKey, slow_image: Any, receiver: Any, photo_base: str, tmp_path: Path, monkeypatch
) -> None:
    """The worker's session dies while it fetches images; the task still stores its result and
    sends its one callback."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    log = tmp_path / "qcluster.log"
    cluster = start_fault_child(["qcluster"], log)
    try:
        urls = [f"{photo_base}/flower.jpg", slow_image.url]
        task_id = accept(key, urls, receiver.url)
        assert slow_image.first_request.wait(60), log.read_text()
        assert terminate_other_sessions() >= 1
        slow_image.release()
        try:
            receiver.wait(1, timeout=60)
        except AssertionError as lost:
            raise AssertionError(f"{lost}\n{log.read_text()[-3000:]}") from None
        wait_for_delivery(task_id)
        # The cluster keeps working after the drop: a second task runs too.
        second = accept(
            key, [f"{photo_base}/card.png", f"{photo_base}/card_flip.jpg"], receiver.url, 1
        )
        receiver.wait(2, timeout=60)
    finally:
        stop_process(cluster)
    task = DetectionTask.objects.get(task_id=task_id)
    assert task.status == DetectionTask.Status.SUCCESS, log.read_text()[-3000:]
    assert task.result["Groups"] == {"group0": urls}
    assert sorted(json.loads(raw)["TaskId"] for _, raw in receiver.received) == sorted(
        [task_id, second]
    )


def test_remote_check_survives_its_session_dropped_during_the_call(
    make_photo: Any, fake_imagex: Any
) -> None:
    """The imagex backend waits on veImageX (up to TIMEOUT per try, with retries); PostgreSQL
    drops this process's session meanwhile. The answer is still applied: one group."""
    from django.test import override_settings

    from imagex_dedup.hook.tasks import check_object
    from imagex_dedup.models import DuplicateGroup
    from tests.backends.conftest import imagex_settings

    _, other = make_photo("flower.jpg", "jpeg_q50")
    photo, _ = make_photo("flower.jpg")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]

    def drop_session() -> None:
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [own_pid])

    fake_imagex.before_reply = drop_session
    urls = [
        f"http://host.test/media/{photo.image.name}",
        f"http://host.test/media/{other.file_name}",
    ]
    answer = {"ResponseMetadata": {"RequestId": "ok"}, "Result": {"Groups": {"group0": urls}}}
    fake_imagex.reply(200, answer)
    settings = imagex_settings(ENDPOINT=fake_imagex.url, RATE_LIMIT=1000)
    with override_settings(IMAGEX_DEDUP=settings):
        check_object("testapp", "photo", str(photo.pk), "image")
    group = DuplicateGroup.objects.get()
    assert sorted(group.members.values_list("object_id", flat=True)) == sorted(
        [str(photo.pk), other.object_id]
    )


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture(params=["volatile"])
def private_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A redis-server of our own on a free loopback port; yields its port and a function
    restarting it. ``volatile``: no persistence, ``SHUTDOWN NOSAVE`` (every queued message is
    gone); ``aof``: append-only file fsynced on every write, ``SHUTDOWN`` (nothing is lost)."""
    aof = request.param == "aof"
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if aof else "no",
        "--appendfsync",
        "always",
        "--dir",
        str(tmp_path),
    ]
    box = {"process": subprocess.Popen(command, stdout=subprocess.DEVNULL)}

    def cli(*args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    def restart() -> None:
        cli("SHUTDOWN", "SAVE" if aof else "NOSAVE")
        box["process"].wait(10)
        box["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for(lambda: cli("PING") == "PONG", 10, "redis to restart")

    def down_for(seconds: float) -> None:
        """Stop Redis now, start it again after ``seconds`` (in the background)."""
        import threading

        cli("SHUTDOWN", "SAVE" if aof else "NOSAVE")
        box["process"].wait(10)

        def later() -> None:
            time.sleep(seconds)
            box["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)

        threading.Thread(target=later, daemon=True).start()

    restart.down_for = down_for  # type: ignore[attr-defined]
    wait_for(lambda: cli("PING") == "PONG", 10, "redis to start")
    yield port, (cli, restart)
    cli("SHUTDOWN", "NOSAVE")
    box["process"].wait(10)


def batch(key: AccessKey, base: str, callback: str, numbers: range) -> list[str]:
    pairs = [["flower.jpg", "flower_small.jpg"], ["card.png", "card_flip.jpg"]]
    return [accept(key, [f"{base}/{n}" for n in pairs[i % 2]], callback, i) for i in numbers]


@pytest.fixture
def redis_cluster(private_redis, monkeypatch, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """A qcluster child whose broker (and cache) is the private Redis; this process enqueues
    there too. Yields (cli, restart) of the private Redis."""
    from django_q.conf import Conf

    port, controls = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "REDIS", url)
    cluster = start_fault_child(["qcluster"], tmp_path / "qcluster.log", IMAGEX_DEDUP_REDIS_URL=url)
    yield controls
    stop_process(cluster)


def delivered(receiver: Any) -> list[str]:
    return [json.loads(raw)["TaskId"] for _, raw in receiver.received]


def test_killed_redis_connections_under_load_lose_nothing(
    key: AccessKey, receiver: Any, photo_base: str, redis_cluster
) -> None:
    """``CLIENT KILL TYPE normal`` while 12 tasks are queued and running, then 4 more."""
    cli, _ = redis_cluster
    first = batch(key, photo_base, receiver.url, range(12))
    receiver.wait(1, timeout=90)  # the cluster is connected and working through the batch
    killed = int(cli("CLIENT", "KILL", "TYPE", "normal") or 0)
    later = batch(key, photo_base, receiver.url, range(12, 16))
    receiver.wait(16, timeout=180)
    time.sleep(2)  # a duplicate would arrive now
    print(
        f"\nredis CLIENT KILL: {killed} connections killed, {len(delivered(receiver))}/16 delivered"
    )
    assert killed >= 1
    assert sorted(delivered(receiver)) == sorted(first + later)
    assert set(DetectionTask.objects.values_list("status", flat=True)) == {1}


@pytest.mark.parametrize("private_redis", ["volatile", "aof"], indirect=True)
def test_redis_restart_loses_queued_messages_only_without_persistence(
    key: AccessKey, receiver: Any, photo_base: str, redis_cluster, request
) -> None:
    """A restart with 12 tasks just queued. Without persistence (``SHUTDOWN NOSAVE``) the
    messages still in Redis are gone: run messages (the task stays at Status 0) and callback
    messages (the task is done, its callback never sent), counted; with an fsynced
    append-only file none is lost. Either way nothing runs twice and tasks queued after
    the restart all run."""
    _, restart = redis_cluster
    mode = request.node.callspec.params["private_redis"]
    first = batch(key, photo_base, receiver.url, range(12))
    receiver.wait(1, timeout=90)  # the cluster is connected and working through the batch
    restart()
    later = batch(key, photo_base, receiver.url, range(12, 16))
    wait_for(lambda: set(later) <= set(delivered(receiver)), 120, "the tasks queued after")
    time.sleep(20)  # what was taken before the restart finishes meanwhile
    got = delivered(receiver)
    lost = set(first) - set(got)
    at_zero = set(
        DetectionTask.objects.filter(status=DetectionTask.Status.RUNNING).values_list(
            "task_id", flat=True
        )
    )
    print(
        f"\nredis restart ({mode}): {len(set(first) & set(got))}/12 queued before were delivered;"
        f" lost: {len(lost & at_zero)} runs (Status 0), {len(lost - at_zero)} callbacks (task"
        f" done, callback message gone); {len(set(later) & set(got))}/4 queued after delivered"
    )
    assert len(got) == len(set(got))  # nothing delivered twice
    assert set(later) <= set(got)
    assert at_zero <= lost
    if mode == "aof":
        assert not lost


def test_tasks_accepted_while_redis_is_down_run_when_it_is_back(
    key: AccessKey, receiver: Any, photo_base: str, redis_cluster
) -> None:
    """Redis down for 10 s: the requests accepted meanwhile are kept as schedules in the
    database and run once it is back (the scheduler ticks every ~30 s)."""
    from django_q.models import Schedule

    _, restart = redis_cluster
    before = batch(key, photo_base, receiver.url, range(2))
    receiver.wait(2, timeout=90)
    restart.down_for(10)
    during = batch(key, photo_base, receiver.url, range(2, 6))
    kept = Schedule.objects.count()
    receiver.wait(6, timeout=150)
    time.sleep(3)
    print(
        f"\nredis down at accept: {kept} messages kept as schedules,"
        f" {len(delivered(receiver))}/6 delivered"
    )
    assert kept == 4
    assert sorted(delivered(receiver)) == sorted(before + during)
