"""ImageXConfig (settings, environment, redaction) and the W010-W015 system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from imagex_dedup.backends.imagex_config import ImageXConfig
from imagex_dedup.backends.ratelimit import cache_is_shared
from tests.backends.conftest import AK, SK, imagex_settings


def warning_ids(**dedup: Any) -> list[str]:
    with override_settings(IMAGEX_DEDUP=dedup):
        return sorted(
            message.id
            for message in checks.run_checks(tags=[checks.Tags.compatibility])
            if message.id.startswith("imagex_dedup.W01")
        )


@pytest.fixture(autouse=True)
def no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOLC_ACCESSKEY", raising=False)
    monkeypatch.delenv("VOLC_SECRETKEY", raising=False)


def test_local_backend_needs_nothing() -> None:
    assert warning_ids(BACKEND="local") == []


def test_complete_settings_warn_only_about_a_cache_without_atomic_add() -> None:
    # The SQLite leg's file-based cache cannot hold the limit across processes; Redis can.
    expected = [] if cache_is_shared("default") else ["imagex_dedup.W014"]
    assert warning_ids(**imagex_settings()) == expected


def test_missing_everything() -> None:
    assert warning_ids(BACKEND="imagex", IMAGEX={"RATE_LIMIT_CACHE": "nope"}) == [
        "imagex_dedup.W010",
        "imagex_dedup.W011",
        "imagex_dedup.W012",
        "imagex_dedup.W014",
    ]


def test_credentials_from_the_environment_satisfy_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLC_ACCESSKEY", "AKLTenv")
    monkeypatch.setenv("VOLC_SECRETKEY", "env-secret")
    ids = warning_ids(**imagex_settings(ACCESS_KEY_ID="", SECRET_ACCESS_KEY=""))
    assert "imagex_dedup.W010" not in ids


def test_unknown_region_without_endpoint_and_bad_limits() -> None:
    ids = warning_ids(**imagex_settings(ENDPOINT="", REGION="mars-1", BATCH_SIZE=1))
    assert {"imagex_dedup.W013", "imagex_dedup.W015"} <= set(ids)


def test_non_numeric_limit() -> None:
    assert "imagex_dedup.W015" in warning_ids(**imagex_settings(TOP_K="many"))


def test_settings_win_over_the_environment_and_the_secret_is_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLC_ACCESSKEY", "AKLTenv")
    with override_settings(IMAGEX_DEDUP=imagex_settings()):
        config = ImageXConfig.from_settings()
    assert (config.access_key_id, config.secret_access_key) == (AK, SK)
    assert config.credentials.secret_access_key == SK
    for text in (repr(config), str(config), repr(config.credentials)):
        assert SK not in text
    assert "secret_access_key=<set>" in repr(config)
