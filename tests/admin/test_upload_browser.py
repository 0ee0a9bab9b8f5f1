"""A real browser (Debian chromium driven by Playwright) uploads a resized copy of a library
photo in the admin, sees the duplicate warning, and saves anyway without choosing the file again.

The warning's screenshot goes to a temporary file; set IMAGEX_DEDUP_UPLOAD_SCREENSHOT to a path
to keep it (the docs' picture is made that way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagex_dedup.models import ImageFingerprint
from tests.admin.test_browser import (  # noqa: F401  (browser_page: a fixture)
    browser_page,
    login,
    wait_for_images,
)
from tests.support.hook import jpeg
from tests.testapp.models import Photo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.admin.host_urls"),
]


def test_the_admin_warns_and_saves_anyway(
    browser_page,  # noqa: F811
    live_server,
    library,
    django_user_model,
    tmp_path,
):
    django_user_model.objects.create_superuser("admin", password="pw")
    resized = tmp_path / "frangipani-small.jpg"
    resized.write_bytes(jpeg("flower.jpg", scale=0.6, quality=60))
    page = browser_page
    login(page, live_server)

    page.goto(f"{live_server.url}/admin/testapp/photo/add/")
    page.fill("#id_title", "Frangipani again")
    page.set_input_files("#id_image", str(resized))
    page.click("input[name=_save]")

    warning = page.locator(".imagex-upload-warning")
    warning.wait_for()
    wait_for_images(page, "img.imagex-upload-thumb")
    assert "“frangipani-small.jpg” looks like an image already" in warning.inner_text()
    match = page.locator(".imagex-upload-match")
    assert match.count() == 1 and "Frangipani" in match.inner_text()
    link = match.locator("a.imagex-upload-use").get_attribute("href")
    assert link == f"/admin/testapp/photo/{library['flower'].pk}/change/"
    assert Photo.objects.count() == 2
    screenshot = Path(os.environ.get("IMAGEX_DEDUP_UPLOAD_SCREENSHOT", tmp_path / "warning.png"))
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    # The file input is empty now; the kept upload is saved when the editor confirms.
    page.check("#id_confirm_duplicate")
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")
    saved = Photo.objects.get(title="Frangipani again")
    assert saved.image.read() == resized.read_bytes()
    assert ImageFingerprint.objects.filter(object_id=str(saved.pk)).exists()  # the hook ran
