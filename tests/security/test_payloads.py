"""Hostile image content through the service (downloaded) and the REST check (uploaded):
decompression bombs, absurd dimensions, truncated and corrupt files, SVG/HTML posing as images,
oversized bodies and a slow-loris server. Each is reported per image, the request never fails
with a 500, and nothing but the request's usage record is stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security.conftest import build_payloads, row_counts

# path -> FailedUrls Code of the service (engine code in CamelCase).
HOSTILE_URLS = {
    "/bomb.png": "TooManyPixels",
    "/huge_dims.png": "TooManyPixels",
    "/truncated.jpg": "Corrupt",
    "/corrupt.jpg": "Corrupt",
    "/page.svg": "BadContentType",
    "/svg_as_jpeg.jpg": "NotAnImage",
    "/page.html": "BadContentType",
    "/html_as_png.png": "NotAnImage",
    "/oversized.jpg": "TooLarge",
    "/missing.jpg": "HttpError",
}


@pytest.fixture
def small_limits(settings: Any) -> None:
    """2 MiB images keep the hostile cases quick (the 5 s deadline is headroom for a loaded
    machine: no case here should end by the deadline, except the slow loris)."""
    settings.IMAGEX_DEDUP = {
        **settings.IMAGEX_DEDUP,
        "MAX_IMAGE_BYTES": 2 * 1024 * 1024,
        "FETCH_TIMEOUT": 5.0,
    }


def test_hostile_images_are_reported_per_url(api, hostile, loopback_service, small_limits) -> None:
    urls = [hostile.url(path) for path in HOSTILE_URLS] + [hostile.url("/flower.jpg")]
    response = api.detect({"Urls": urls})
    assert response.status_code == 200, response.json()
    result = response.json()["Result"]
    codes = {item["Url"]: item["Code"] for item in result["FailedUrls"]}
    assert codes == {hostile.url(path): code for path, code in HOSTILE_URLS.items()}
    assert result["Groups"] == {}
    assert row_counts()["UsageRecord"] == 1
    assert row_counts()["DetectionTask"] == 0


def test_slow_loris_download_stops_at_the_fetch_deadline(
    api, hostile, loopback_service, small_limits
) -> None:
    """The server trickles one byte every 0.1 s for 15 s; the 5 s deadline ends the download.
    (No timing assertion: the outcome code says the deadline, not the server, ended it.)"""
    url = hostile.url("/slow.jpg")
    response = api.detect({"Urls": [url, hostile.url("/flower.jpg")]})
    assert response.status_code == 200
    failed = response.json()["Result"]["FailedUrls"]
    assert [(item["Url"], item["Code"]) for item in failed] == [(url, "Timeout")]


def test_sync_budget_exhausted_is_a_clean_timeout_error(
    api, hostile, loopback_service, settings
) -> None:
    settings.IMAGEX_DEDUP = {
        **settings.IMAGEX_DEDUP,
        "SYNC_TIME_BUDGET": 0.5,
        "FETCH_TIMEOUT": 5.0,
    }
    response = api.detect({"Urls": [hostile.url("/slow.jpg")]})
    payload = response.json()["ResponseMetadata"]
    assert (response.status_code, payload["Error"]["Code"]) == (504, "RequestTimeout")
    assert row_counts() == dict.fromkeys(row_counts(), 0)  # a failed request is not billed


# --- uploads to the REST check -------------------------------------------------------------------


@pytest.fixture
def logged_in(client: Any, django_user_model: Any) -> Any:
    client.force_login(django_user_model.objects.create_user("uploader", password="x"))
    return client


# path -> (status, engine error code or None): DRF's ImageField opens each upload with Pillow
# first and answers 400 for what Pillow refuses (Pillow's own bomb error: > 2 x 89 Mpx); the rest
# reaches the engine's loader, whose error is reported per image.
UPLOAD_OUTCOMES = {
    "/bomb.png": (200, "too_many_pixels"),
    "/huge_dims.png": (400, None),
    "/truncated.jpg": (200, "corrupt"),
    "/corrupt.jpg": (200, "corrupt"),
}


@pytest.mark.parametrize("path", list(UPLOAD_OUTCOMES))
def test_hostile_uploads_are_refused_cleanly(logged_in, small_limits, path) -> None:
    _, content_type, body = build_payloads().routes[path]
    upload = SimpleUploadedFile(path.strip("/"), body, content_type=content_type)
    before = row_counts()
    response = logged_in.post("/imagex/api/check/", {"files": [upload]})
    expected_status, expected_code = UPLOAD_OUTCOMES[path]
    assert response.status_code == expected_status, response.content
    if expected_code:
        assert response.json()["images"][0]["error"]["code"] == expected_code
    else:
        assert "files" in response.json()
    assert row_counts() == before


@pytest.mark.parametrize("path", ["/page.svg", "/page.html", "/svg_as_jpeg.jpg"])
def test_non_images_uploaded_as_images_are_refused(logged_in, path) -> None:
    body = build_payloads().routes[path][2]
    upload = SimpleUploadedFile("picture.jpg", body, content_type="image/jpeg")
    response = logged_in.post("/imagex/api/check/", {"files": [upload]})
    assert response.status_code == 400
    assert "files" in response.json()


def test_an_upload_over_the_image_cap_is_refused(logged_in, small_limits) -> None:
    body = build_payloads().routes["/oversized.jpg"][2]
    upload = SimpleUploadedFile("big.jpg", body, content_type="image/jpeg")
    response = logged_in.post("/imagex/api/check/", {"files": [upload]})
    assert response.status_code == 400
