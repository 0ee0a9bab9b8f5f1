"""conf: every option declared once, typed, documented; values read lazily and reloaded."""

from __future__ import annotations

import pytest
from django.test import override_settings

from imagex_dedup.conf import DEFAULTS, IMAGEX_SPECS, SPECS, dedup_settings
from imagex_dedup.engine.fetch import FetchPolicy
from imagex_dedup.engine.loading import LoadLimits
from imagex_dedup.models import DetectionService


def test_every_option_is_declared_once_with_a_description() -> None:
    keys = [spec.key for spec in SPECS]
    assert len(keys) == len(set(keys)) == len(DEFAULTS)
    assert all(spec.doc.strip() and spec.section for spec in (*SPECS, *IMAGEX_SPECS))
    assert set(DEFAULTS["IMAGEX"]) == {spec.key for spec in IMAGEX_SPECS}


def test_typed_values_and_their_upper_case_names_agree() -> None:
    assert dedup_settings.similarity == dedup_settings.SIMILARITY == 0.84
    assert dedup_settings.imagex["TOP_K"] == 20
    with pytest.raises(AttributeError):
        dedup_settings.NOPE


def test_values_follow_override_settings_and_ints_become_floats() -> None:
    with override_settings(IMAGEX_DEDUP={"SIMILARITY": 1, "IMAGEX": {"TOP_K": 5}}):
        assert dedup_settings.similarity == 1.0 and isinstance(dedup_settings.similarity, float)
        assert dedup_settings.imagex["TOP_K"] == 5
        assert dedup_settings.imagex["BATCH_SIZE"] == 50  # keys left out keep their defaults
    assert dedup_settings.similarity == 0.84


@override_settings(IMAGEX_DEDUP={"MAX_IMAGE_BYTES": 1000, "MAX_IMAGE_PIXELS": 2000})
def test_load_limits() -> None:
    assert dedup_settings.load_limits() == LoadLimits(max_bytes=1000, max_pixels=2000)


@override_settings(IMAGEX_DEDUP={"FETCH_TIMEOUT": 3, "FETCH_ALLOW_PRIVATE": True})
def test_the_site_fetch_policy_and_a_services_own() -> None:
    site = dedup_settings.fetch_policy()
    assert (site.timeout, site.allow_private, site.allowed_hosts) == (3.0, True, None)
    service = DetectionService(
        service_id="s", allow_private_urls=False, allowed_url_hosts=["cdn.example", " ", 7]
    )
    policy = dedup_settings.fetch_policy(service)
    assert isinstance(policy, FetchPolicy)
    assert (policy.allow_private, policy.allowed_hosts) == (False, frozenset({"cdn.example"}))
