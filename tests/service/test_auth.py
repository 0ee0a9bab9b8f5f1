"""Authentication (Volcengine signatures, host-site users), access rules and rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from imagex_dedup.models import AccessKey, DetectionService, DetectionTask, UsageRecord
from imagex_dedup.service.throttling import ServiceCallerThrottle
from imagex_dedup.volc.errors import ERRORS
from imagex_dedup.volc.signing import Credentials, sign_request
from tests.service.conftest import AK, SERVICE_ID, VERSION, ServiceClient

BODY = {"Urls": ["http://127.0.0.1:9/a.jpg"]}


def error_of(response) -> tuple[int, str, int]:
    error = response.json()["ResponseMetadata"]["Error"]
    return response.status_code, error["Code"], error["CodeN"]


def expect(code: str) -> tuple[int, str, int]:
    return ERRORS[code].http_status, code, ERRORS[code].code_n


@pytest.fixture
def other_service(db) -> DetectionService:
    service = DetectionService.objects.create(service_id="svc-other", allow_private_urls=True)
    AccessKey.objects.create(service=service, access_key_id="AKother", secret_access_key="sk2")
    return service


def test_unsigned_anonymous_request_is_refused_as_the_cloud_does(api) -> None:
    # Volcengine's common error table: no credentials at all is 401 MissingAuthenticationToken.
    response = api.detect(BODY, sign=False)
    assert error_of(response) == (401, "MissingAuthenticationToken", 100003)
    assert response.json()["ResponseMetadata"]["Error"]["Message"] == (
        "Request is missing Authentication Token."
    )
    assert not UsageRecord.objects.exists()


def test_wrong_secret(client, service) -> None:
    response = ServiceClient(client, sk="not-the-secret").detect(BODY)
    assert error_of(response) == expect("SignatureDoesNotMatch")
    assert response.status_code == 401


def test_unknown_and_inactive_access_keys(client, service) -> None:
    assert error_of(ServiceClient(client, ak="AKnobody").detect(BODY)) == expect("InvalidAccessKey")
    AccessKey.objects.filter(access_key_id=AK).update(is_active=False)
    assert error_of(ServiceClient(client).detect(BODY)) == expect("InvalidAccessKey")


def test_stale_signature(client, service) -> None:
    target = f"/imagex/?Action=GetDedupTaskStatus&Version={VERSION}&TaskId=x"
    headers = sign_request(
        "GET",
        f"http://testserver{target}",
        {},
        b"",
        Credentials(AK, "test-secret-key"),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    assert error_of(client.get(target, headers=headers)) == expect("InvalidTimestamp")


def test_tampered_query(client, service) -> None:
    target = f"/imagex/?Action=GetDedupTaskStatus&Version={VERSION}&TaskId=x"
    headers = sign_request(
        "GET", f"http://testserver{target}", {}, b"", Credentials(AK, "test-secret-key")
    )
    response = client.get(target.replace("=x", "=y"), headers=headers)
    assert error_of(response) == expect("SignatureDoesNotMatch")


def test_key_of_another_service_is_denied(api, other_service) -> None:
    response = api.detect(BODY, service_id=other_service.service_id)
    assert error_of(response) == expect("AccessDenied")
    assert not UsageRecord.objects.exists()


def test_tasks_are_visible_to_their_service_only(client, api, service, other_service) -> None:
    task = DetectionTask.objects.create(kind="service", service=service)
    assert api.status(task.task_id).status_code == 200
    other = ServiceClient(client, ak="AKother", sk="sk2")
    assert error_of(other.status(task.task_id)) == expect("TaskNotFound")


@pytest.fixture
def user_client(db) -> tuple[User, APIClient]:
    user = User.objects.create_user("alice", password="pw")
    session = APIClient()
    session.force_authenticate(user)
    return user, session


def user_detect(session: APIClient, service_id: str = SERVICE_ID, body=BODY):
    query = f"Action=GetImageDuplicateDetection&Version={VERSION}&ServiceId={service_id}"
    return session.post(f"/imagex/?{query}", body, format="json")


def test_host_user_uses_own_services_only(user_client, service, other_service) -> None:
    user, session = user_client
    assert error_of(user_detect(session)) == expect("AccessDenied")
    service.owner = user
    service.save()
    response = user_detect(session, body={"Urls": ["http://127.0.0.1:9/a.jpg"]})
    assert response.status_code == 200, response.json()
    record = UsageRecord.objects.get()
    assert (record.user, record.access_key_id) == (user, "")
    assert error_of(user_detect(session, "svc-other")) == expect("AccessDenied")


def test_staff_permission_opens_every_service(user_client, service) -> None:
    user, session = user_client
    user.is_staff = True
    user.save()
    assert error_of(user_detect(session)) == expect("AccessDenied")  # staff alone is not enough
    user.user_permissions.add(Permission.objects.get(codename="use_any_detectionservice"))
    user = User.objects.get(pk=user.pk)  # fresh permission cache
    session.force_authenticate(user)
    assert user_detect(session).status_code == 200
    task = DetectionTask.objects.create(kind="service", service=service)
    query = f"Action=GetDedupTaskStatus&Version={VERSION}&TaskId={task.task_id}"
    assert session.get(f"/imagex/?{query}").json()["Result"]["TaskId"] == task.task_id


def test_user_reads_own_tasks(user_client, service) -> None:
    user, session = user_client
    mine = DetectionTask.objects.create(kind="service", service=service, created_by=user)
    theirs = DetectionTask.objects.create(kind="service", service=service)
    query = f"Action=GetDedupTaskStatus&Version={VERSION}&TaskId="
    assert session.get(f"/imagex/?{query}{mine.task_id}").status_code == 200
    assert error_of(session.get(f"/imagex/?{query}{theirs.task_id}")) == expect("TaskNotFound")


def test_basic_auth_with_a_wrong_password(client, service) -> None:
    User.objects.create_user("bob", password="pw")
    headers = {"Authorization": "Basic Ym9iOndyb25n"}  # bob:wrong
    query = f"Action=GetImageDuplicateDetection&Version={VERSION}&ServiceId={SERVICE_ID}"
    response = client.post(
        f"/imagex/?{query}", BODY, content_type="application/json", headers=headers
    )
    assert error_of(response) == expect("InvalidAccessKey")


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The rate limiter's clock, frozen; tests move it on by changing ``clock[0]``."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(ServiceCallerThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def codes_of(responses) -> list[str]:
    return [r.json()["ResponseMetadata"]["Error"]["Code"] for r in responses]


def test_eleventh_detection_at_once_is_throttled(api, clock) -> None:
    codes = codes_of(api.detect({"Urls": []}) for _ in range(11))
    assert codes == ["InvalidParameter"] * 10 + ["FlowLimitExceeded"]
    response = api.detect({"Urls": []})
    assert error_of(response) == (429, "FlowLimitExceeded", ERRORS["FlowLimitExceeded"].code_n)
    assert response["Retry-After"] == "1"  # the next token is 0.1 s away; whole seconds, >= 1
    clock[0] += 0.1
    assert codes_of([api.detect({"Urls": []}) for _ in range(2)]) == [
        "InvalidParameter",
        "FlowLimitExceeded",
    ]


def test_a_client_pacing_at_the_limit_is_never_throttled(api, clock) -> None:
    """10/s with up to 90 ms of jitter either way, for 3 s: DRF's sliding log refused some."""
    jitter = [0.09, -0.09, 0.0, 0.05, -0.05, 0.02, -0.02]
    start, codes = clock[0], []
    for i in range(30):
        clock[0] = start + i * 0.1 + jitter[i % len(jitter)]
        codes += codes_of([api.detect({"Urls": []})])
    assert codes == ["InvalidParameter"] * 30
    clock[0] = start + 3.0  # a burst on top of the paced requests: at most 10 more, then 429
    burst = codes_of(api.detect({"Urls": []}) for _ in range(11))
    assert burst.count("InvalidParameter") <= 10 and burst[-1] == "FlowLimitExceeded"


def test_status_polling_is_limited_to_five_per_second(api, clock) -> None:
    codes = codes_of(api.status("f" * 32) for _ in range(6))
    assert codes == ["TaskNotFound"] * 5 + ["FlowLimitExceeded"]
    assert api.detect({"Urls": []}).status_code == 400  # detection has its own budget


def test_malformed_authorization_and_missing_x_date(api) -> None:
    query = {"Action": "GetDedupTaskStatus", "Version": VERSION, "TaskId": "x"}
    broken = api.call("GET", query, sign=False, Authorization="HMAC-SHA256 Credential=nope")
    assert error_of(broken) == expect("InvalidAuthorization")
    target = f"/imagex/?Action=GetDedupTaskStatus&Version={VERSION}&TaskId=x"
    headers = sign_request(
        "GET", f"http://testserver{target}", {}, b"", Credentials(AK, "test-secret-key")
    )
    del headers["X-Date"]
    assert error_of(api.client.get(target, headers=headers)) == expect("MissingRequestInfo")
