"""SSRF through every door that takes a URL: the service's image URLs (sync and async), its
Callback, and the REST check endpoint. Refusals must come before any connection: the autouse
``loopback_only`` guard fails a test that connects off loopback, the hostile server's request log
shows whether 127.0.0.1 was reached, and trap listeners on 127.0.0.2 / [::1] count connections.
"""

from __future__ import annotations

from typing import Any

import pytest

from imagex_dedup.models import CallbackAttempt, DetectionTask, UsageRecord
from tests.security.conftest import row_counts, volc_error

# URL text only: none of these is ever connected to (the guard would fail the test).
PRIVATE_HOSTS = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "[fd00::1]",
    "[fe80::1]",
    "[::ffff:10.0.0.1]",
]


def loopback_spellings(port: int) -> list[str]:
    """127.0.0.1 and ::1 spelled every way a resolver or URL parser accepts."""
    return [
        f"http://127.0.0.1:{port}/flower.jpg",
        f"http://127.1:{port}/flower.jpg",
        f"http://2130706433:{port}/flower.jpg",
        f"http://0x7f.0.0.1:{port}/flower.jpg",
        f"http://0177.0.0.1:{port}/flower.jpg",
        f"http://[::1]:{port}/flower.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/flower.jpg",
        f"http://[::ffff:7f00:1]:{port}/flower.jpg",
        f"http://localhost:{port}/flower.jpg",
        f"http://images.localhost:{port}/flower.jpg",
        f"http://LOCALHOST.:{port}/flower.jpg",
    ]


def loopback_name() -> str | None:
    """A name (not *localhost*) that /etc/hosts maps to loopback: resolved with no DNS traffic."""
    try:
        lines = open("/etc/hosts").read().splitlines()  # noqa: SIM115
    except OSError:
        return None
    for line in lines:
        address, *names = line.split("#", 1)[0].split()[:1] + line.split("#", 1)[0].split()[1:]
        if address in ("127.0.0.1", "::1"):
            for name in names:
                if "localhost" not in name and name.replace("-", "").isalnum():
                    return name
    return None


def ok(response: Any) -> dict[str, Any]:
    payload = response.json()
    assert response.status_code == 200, payload
    return payload["Result"]


def failed_codes(result: dict[str, Any]) -> dict[str, str]:
    return {item["Url"]: item["Code"] for item in result["FailedUrls"]}


# --- image URLs of a sync detection -------------------------------------------------------------


def test_private_and_loopback_image_urls_are_refused_before_connecting(api, hostile) -> None:
    port = int(hostile.base.rsplit(":", 1)[1])
    urls = loopback_spellings(port) + [f"http://{host}/a.jpg" for host in PRIVATE_HOSTS]
    result = ok(api.detect({"Urls": urls}))
    codes = failed_codes(result)
    assert set(codes) == set(urls)
    assert set(codes.values()) == {"UnsafeUrl"}, codes
    assert result["Groups"] == {}
    assert hostile.log == []  # 127.0.0.1 was never reached
    # The request itself was valid: it is metered, nothing else is stored.
    assert row_counts() == {
        "DetectionTask": 0,
        "UsageRecord": 1,
        "DuplicateGroup": 0,
        "ImageFingerprint": 0,
        "CallbackAttempt": 0,
    }


def test_a_name_resolving_to_loopback_is_refused_by_the_transport(api, hostile) -> None:
    name = loopback_name()
    if name is None:
        pytest.skip("no non-localhost name resolves to loopback here")
    port = hostile.base.rsplit(":", 1)[1]
    url = f"http://{name}:{port}/flower.jpg"
    result = ok(api.detect({"Urls": [url]}))
    assert failed_codes(result) == {url: "UnsafeUrl"}
    assert "resolves to 127.0.0.1" in result["FailedUrls"][0]["Message"]
    assert hostile.log == []


@pytest.mark.parametrize("trap_host", ["127.0.0.2", "::1"])
def test_redirect_from_an_allowed_host_to_another_loopback_address_is_refused(
    api, hostile, traps, loopback_service, trap_host
) -> None:
    if trap_host not in traps:
        pytest.skip("no IPv6 loopback")
    trap = traps[trap_host]
    url = hostile.url(f"/redirect?to=http://{trap.url_host}:{trap.port}/flower.jpg")
    result = ok(api.detect({"Urls": [url]}))
    assert failed_codes(result) == {url: "UnsafeUrl"}
    assert "not in the allowed hosts" in result["FailedUrls"][0]["Message"]
    assert hostile.log == ["/redirect"]
    assert trap.connections == 0


def test_redirect_to_a_loopback_name_is_refused(api, hostile, loopback_service) -> None:
    port = hostile.base.rsplit(":", 1)[1]
    url = hostile.url(f"/redirect?to=http://localhost:{port}/flower.jpg")
    result = ok(api.detect({"Urls": [url]}))
    assert failed_codes(result) == {url: "UnsafeUrl"}
    assert hostile.log == ["/redirect"]


def test_control_a_redirect_within_the_allowed_host_is_followed(
    api, hostile, loopback_service
) -> None:
    urls = [hostile.url("/redirect?to=/flower.jpg"), hostile.url("/flower_small.jpg")]
    result = ok(api.detect({"Urls": urls}))
    assert result["FailedUrls"] == []
    assert result["Groups"] == {"group0": urls}
    assert hostile.log.count("/flower.jpg") == 1


# --- async detection: image URLs in the worker, and the Callback ---------------------------------


def test_async_task_refuses_disallowed_image_urls_in_the_worker(
    api, hostile, traps, loopback_service, django_capture_on_commit_callbacks, settings
) -> None:
    trap = traps["127.0.0.2"]
    urls = [f"http://127.0.0.2:{trap.port}/flower.jpg", "http://169.254.169.254/latest/"]
    # The callback goes to the hostile server (allowed: the service may reach private hosts),
    # which answers 501 to a POST.
    body = {"Urls": urls, "Async": True, "Callback": hostile.url("/cb")}
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "CALLBACK_MAX_ATTEMPTS": 1}
    with django_capture_on_commit_callbacks(execute=True):
        task_id = ok(api.detect(body))["TaskId"]
    task = DetectionTask.objects.get(task_id=task_id)
    assert task.status == DetectionTask.Status.SUCCESS
    assert [item["Code"] for item in task.result["FailedUrls"]] == ["UnsafeUrl", "UnsafeUrl"]
    assert trap.connections == 0
    assert CallbackAttempt.objects.get().status_code == 501


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:9/cb",
        "http://[::1]:9/cb",
        "http://[::ffff:127.0.0.1]:9/cb",
        "http://2130706433:9/cb",
        "http://localhost:9/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/cb",
        "http://[fd12::1]/cb",
        "ftp://example.com/cb",
        "http://user:pw@example.com/cb",
    ],
)
def test_private_callback_urls_are_refused_at_the_request(api, callback) -> None:
    response = api.detect({"Urls": ["https://img.example.com/a.jpg"], "Async": True,
                           "Callback": callback})  # fmt: skip
    assert volc_error(response) == (400, "InvalidParameter")
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_callback_name_resolving_to_loopback_is_refused_at_delivery(
    api, django_capture_on_commit_callbacks, traps
) -> None:
    """A host name is not resolved when the request is accepted (DNS may change by delivery
    time anyway); the delivery's transport resolves it, refuses, and does not retry."""
    name = loopback_name()
    if name is None:
        pytest.skip("no non-localhost name resolves to loopback here")
    callback = f"http://{name}:{traps['127.0.0.2'].port}/cb"
    with django_capture_on_commit_callbacks(execute=True):
        ok(api.detect({"Urls": ["https://img.example.com/a.jpg"], "Async": True,
                       "Callback": callback}))  # fmt: skip
    attempt = CallbackAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("UnsafeUrl")
    assert DetectionTask.objects.get().callback_delivered_at is None
    assert UsageRecord.objects.count() == 1
    from django_q.models import Schedule

    assert not Schedule.objects.exists()  # a permanent refusal: no retry scheduled


# --- the REST check endpoint ---------------------------------------------------------------------


@pytest.fixture
def logged_in(client: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("checker", password="x")
    client.force_login(user)
    return client


def test_rest_check_refuses_private_urls_before_connecting(logged_in, hostile) -> None:
    port = hostile.base.rsplit(":", 1)[1]
    urls = [
        f"http://127.0.0.1:{port}/flower.jpg",
        f"http://[::1]:{port}/flower.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/flower.jpg",
        f"http://localhost:{port}/flower.jpg",
        "http://10.0.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
    ]
    before = row_counts()
    response = logged_in.post("/imagex/api/check/", {"urls": urls}, content_type="application/json")
    assert response.status_code == 200, response.json()
    images = response.json()["images"]
    assert [image["error"]["code"] for image in images] == ["unsafe_url"] * len(urls)
    assert response.json()["groups"] == []
    assert hostile.log == []
    assert row_counts() == before


def test_rest_check_refuses_a_single_label_loopback_name(logged_in, hostile) -> None:
    name = loopback_name()
    if name is None:
        pytest.skip("no non-localhost name resolves to loopback here")
    port = hostile.base.rsplit(":", 1)[1]
    response = logged_in.post(
        "/imagex/api/check/",
        {"urls": [f"http://{name}:{port}/flower.jpg"]},
        content_type="application/json",
    )
    # Single-label names fail DRF's URLField (a TLD is required) before the fetcher; a dotted
    # name would reach the transport, which refuses loopback addresses (see the service test).
    assert response.status_code == 400
    assert "urls" in response.json()
    assert hostile.log == []


# --- the management command ----------------------------------------------------------------------


@pytest.mark.django_db
def test_dedup_check_refuses_private_urls_unless_allowed(hostile, capsys) -> None:
    import json

    from django.core.management import call_command

    urls = [hostile.url("/flower.jpg"), hostile.url("/flower_small.jpg")]
    call_command("dedup_check", *urls)
    refused = json.loads(capsys.readouterr().out)
    assert refused["Result"]["Groups"] == {}
    assert hostile.log == []
    call_command("dedup_check", *urls, "--allow-private-urls")
    allowed = json.loads(capsys.readouterr().out)
    assert allowed["Result"]["Groups"] == {"group0": urls}
    assert row_counts() == dict.fromkeys(row_counts(), 0)
