"""The library scan admin: progress, the "Scan library" page and the cancel/resume actions,
each behind its permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from imagex_dedup.models import ScanBatch, ScanRun

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:imagex_dedup_scanrun_changelist")
ADD = reverse("admin:imagex_dedup_scanrun_add")
Stage = ScanBatch.Stage


@pytest.fixture
def accounts(django_user_model) -> dict:
    def staff(name: str, *codenames: str):
        user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return {
        "staff": staff("staff"),
        "viewer": staff("viewer", "view_scanrun"),
        "starter": staff("starter", "view_scanrun", "add_scanrun"),
        "controller": staff("controller", "view_scanrun", "change_scanrun"),
    }


@pytest.fixture
def run() -> ScanRun:
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Photo

    run = ScanRun.objects.create(targets=["testapp.photo.image"], planned=True)
    ScanRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - timezone.timedelta(seconds=10)
    )
    content_type = ContentType.objects.get_for_model(Photo)
    common = {"run": run, "content_type": content_type, "field_name": "image"}
    ScanBatch.objects.create(
        **common,
        first_id="1",
        last_id="30",
        size=30,
        stage=Stage.CHECKED,
        fingerprinted=30,
        errors=1,
        messages=["7: decode: cannot identify image file"],
    )
    ScanBatch.objects.create(**common, first_id="31", last_id="50", size=20)
    return ScanRun.objects.get(pk=run.pk)


def as_user(client, accounts, name):
    client.force_login(accounts[name])
    return client


def test_the_list_shows_progress_rate_and_errors(client, accounts, run) -> None:
    page = as_user(client, accounts, "viewer").get(CHANGELIST).content.decode()
    assert '<progress value="30" max="50"' in page and "30 / 50 (60%)" in page
    assert "ETA" in page
    assert "Scan library" not in page, "no add permission"
    detail = client.get(reverse("admin:imagex_dedup_scanrun_change", args=[run.pk]))
    assert "7: decode: cannot identify image file" in detail.content.decode()


def test_staff_without_view_permission_see_nothing(client, accounts, run) -> None:
    assert as_user(client, accounts, "staff").get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403


def test_scan_library_needs_the_add_permission(client, accounts) -> None:
    assert as_user(client, accounts, "viewer").get(ADD).status_code == 403
    assert client.post(ADD, {"targets": ["testapp.photo.image"]}).status_code == 403
    assert not ScanRun.objects.exists()

    as_user(client, accounts, "starter")
    assert "Scan library" in client.get(CHANGELIST).content.decode()
    form = client.get(ADD).content.decode()
    assert 'value="testapp.photo.image"' in form
    response = client.post(ADD, {"targets": ["testapp.photo.image"], "force": "on"})
    assert response.status_code == 302 and response["Location"] == CHANGELIST
    run = ScanRun.objects.get()
    assert (run.targets, run.force, run.created_by) == (
        ["testapp.photo.image"],
        True,
        accounts["starter"],
    )


def test_scan_library_refuses_a_bad_form(client, accounts) -> None:
    as_user(client, accounts, "starter")
    for data in ({}, {"targets": ["auth.user.password"]}):
        response = client.post(ADD, data)
        assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not ScanRun.objects.exists()


@pytest.mark.parametrize("name, allowed", [("viewer", False), ("controller", True)])
def test_cancel_and_resume_need_the_change_permission(client, accounts, run, name, allowed) -> None:
    as_user(client, accounts, name)
    page = client.get(CHANGELIST).content.decode()
    assert ("cancel_scans" in page) is allowed
    data = {"action": "cancel_scans", "_selected_action": [run.pk]}
    client.post(CHANGELIST, data)
    expected = ScanRun.Status.CANCELLED if allowed else ScanRun.Status.RUNNING
    assert ScanRun.objects.get().status == expected
    client.post(CHANGELIST, {"action": "resume_scans", "_selected_action": [run.pk]})
    assert ScanRun.objects.get().status == ScanRun.Status.RUNNING
