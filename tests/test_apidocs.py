"""The app's API docs: Swagger UI and ReDoc from the app's own files, offline, in a real
browser (Debian chromium driven by Playwright, as in tests/admin/test_browser.py)."""

from __future__ import annotations

import pytest

from tests.admin.test_browser import browser_page  # noqa: F401  (the fixture)

SUMMARY = "Group near-duplicate images (veImageX GetImageDuplicateDetection)"


def test_assets_are_the_sidecar_files_only(client) -> None:
    css = client.get("/imagex/api/assets/swagger-ui-dist/swagger-ui.css")
    assert css.status_code == 200
    assert css["Content-Type"] == "text/css"
    assert css["Cache-Control"] == "public, max-age=86400"
    assert b".swagger-ui" in b"".join(css.streaming_content)
    for name in ("../../drf_spectacular_sidecar/__init__.py", "LICENSE", "swagger-ui-dist/.."):
        assert client.get(f"/imagex/api/assets/{name}").status_code == 404


@pytest.fixture
def offline(browser_page, live_server):  # noqa: F811
    """The page may reach the live server only: anything else (a CDN) is refused and noted
    as ``(resource type, url)``."""
    refused: list[tuple[str, str]] = []

    def route(request_route) -> None:
        request = request_route.request
        if request.url.startswith(live_server.url):
            request_route.continue_()
        else:
            refused.append((request.resource_type, request.url))
            request_route.abort()

    browser_page.route("**/*", route)
    return browser_page, refused


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_lists_the_operations_offline(offline, live_server) -> None:
    page, refused = offline
    page.goto(f"{live_server.url}/imagex/api/docs/")
    page.wait_for_selector(".opblock")
    summaries = page.locator(".opblock-summary-description").all_inner_texts()
    assert SUMMARY in summaries
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/imagex/", "/imagex/api/groups/", "/imagex/api/check/"} <= paths
    assert refused == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_redoc_lists_the_operations_offline(offline, live_server) -> None:
    page, refused = offline
    page.goto(f"{live_server.url}/imagex/api/redoc/")
    page.wait_for_selector(f"text={SUMMARY}")
    menu = page.locator("[role=menuitem], li[data-item-id]").all_inner_texts()
    assert any("Poll an async detection" in item for item in menu)
    # ReDoc always shows Redocly's logo from its CDN, and hides it when that fails.
    assert refused in ([], [("image", "https://cdn.redoc.ly/redoc/logo-mini.svg")])
