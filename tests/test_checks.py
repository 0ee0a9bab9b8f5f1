"""System checks report registration mistakes with stable ids, before any save."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from imagex_dedup.checks import (
    check_backend,
    check_rates,
    check_registered_models,
    check_setting_values,
)


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return sorted(message.id for message in messages if message.id.startswith("imagex_dedup."))


def run_checks() -> list[checks.CheckMessage]:
    """Our registration and backend checks (the whole suite would also import every URLconf)."""
    return check_registered_models() + check_backend() + check_rates() + check_setting_values()


def test_test_settings_pass() -> None:
    assert ids(run_checks()) == []


@pytest.mark.parametrize(
    ("models_setting", "expected", "text"),
    [
        ({"testapp.Nope": "image"}, ["imagex_dedup.E003"], "no installed model 'testapp.Nope'"),
        ({"nodot": "image"}, ["imagex_dedup.E003"], "no installed model 'nodot'"),
        ({"testapp.BaseImage": "picture"}, ["imagex_dedup.E003"], "abstract"),
        ({"testapp.Photo": "missing"}, ["imagex_dedup.E004"], "has no field 'missing'"),
        ({"testapp.Photo": "title"}, ["imagex_dedup.E005"], "CharField, not a FileField"),
        (
            {"testapp.Product": ["main_image", "name", "nope"]},
            ["imagex_dedup.E004", "imagex_dedup.E005"],
            "Product",
        ),
        ({"testapp.Photo": 3}, ["imagex_dedup.E006"], "field name or a list"),
        (["testapp.Photo"], ["imagex_dedup.E007"], "must be a dict"),
    ],
)
def test_models_setting_mistakes(models_setting, expected, text) -> None:
    with override_settings(IMAGEX_DEDUP={"MODELS": models_setting}):
        messages = [m for m in run_checks() if m.id.startswith("imagex_dedup.")]
    assert ids(messages) == expected
    assert any(text in (m.msg + (m.hint or "")) for m in messages)


def test_file_field_passes() -> None:
    with override_settings(IMAGEX_DEDUP={"MODELS": {"testapp.Document": "file"}}):
        assert ids(run_checks()) == []


@pytest.mark.parametrize("rate", ["10", "ten/s", "10/fortnight", "0/s", 10])
def test_malformed_rates(rate) -> None:
    with override_settings(IMAGEX_DEDUP={"SERVICE_RATE": rate, "STATUS_RATE": "5/minute"}):
        messages = check_rates()
    assert ids(messages) == ["imagex_dedup.E009"]
    assert "SERVICE_RATE" in messages[0].msg


def test_no_rate_limit_is_allowed() -> None:
    with override_settings(IMAGEX_DEDUP={"SERVICE_RATE": None, "STATUS_RATE": "5/minute"}):
        assert check_rates() == []


def test_unknown_backend() -> None:
    with override_settings(IMAGEX_DEDUP={"BACKEND": "no.such.Backend"}):
        messages = run_checks()
    assert ids(messages) == ["imagex_dedup.E008"]
    assert "cannot be imported" in messages[0].msg


@pytest.mark.parametrize(
    ("user_settings", "expected", "text"),
    [
        ({"SIMILARITY": 0.845}, ["imagex_dedup.E016"], "at most two decimals"),
        ({"SIMILARITY": 0}, ["imagex_dedup.E016"], "greater than 0"),
        ({"SIMILARITY": "0.9"}, ["imagex_dedup.E016"], "must be int or float"),
        ({"MAX_IMAGE_BYTES": -1}, ["imagex_dedup.E016"], "greater than 0"),
        ({"ENABLED": "yes"}, ["imagex_dedup.E016"], "must be bool"),
        ({"TASK_TIMEOUT": True}, ["imagex_dedup.E016"], "must be int"),
        ({"FINGERPRINT_CACHE_SIZE": 0}, [], ""),
        ({"SERVICE_RATE": None}, [], ""),
        ({"SIMILARTY": 0.9}, ["imagex_dedup.W017"], "['SIMILARTY'] is not an imagex_dedup setting"),
    ],
)
def test_setting_values_are_checked(user_settings: dict, expected: list, text: str) -> None:
    with override_settings(IMAGEX_DEDUP=user_settings):
        messages = check_setting_values()
    assert ids(messages) == expected
    assert all(text in message.msg for message in messages)


def test_a_mount_without_the_slashless_service_is_reported() -> None:
    from imagex_dedup.checks import check_service_mount

    assert check_service_mount() == []  # tests.urls mounts with urls.mount()
    with override_settings(ROOT_URLCONF="tests.admin.host_urls"):  # include() only
        (warning,) = check_service_mount()
    assert warning.id == "imagex_dedup.W018"
    assert warning.msg.startswith("POST /imagex (without the slash) is not served")


def test_worker_settings_without_a_urlconf_pass_the_mount_check(settings) -> None:
    from imagex_dedup.checks import check_service_mount

    del settings.ROOT_URLCONF
    assert check_service_mount() == []
