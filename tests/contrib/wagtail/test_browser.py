"""A real browser uploads a near-duplicate through Wagtail's multiple upload, sees the warning
with the existing image and its score, keeps the upload, then merges the pair in the Wagtail
admin's Duplicates screen."""

from __future__ import annotations

import pytest
from wagtail.images import get_image_model

from imagex_dedup.models import DuplicateGroup
from tests.admin.test_browser import wait_for_images
from tests.contrib.wagtail.conftest import make_image
from tests.support.review import encode

# serialized_rollback: Wagtail's migrations create rows (root page, site, collection, workflow)
# that the flush after a transactional test would otherwise take from the tests that follow.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_upload_warning_then_merge_in_the_wagtail_admin(
    browser_page,
    live_server,
    django_user_model,
    tmp_path,
) -> None:
    page = browser_page
    django_user_model.objects.create_superuser("admin", password="pw")
    keeper = make_image("keeper", width=320)  # fingerprinted by the hook on commit
    near = tmp_path / "near-copy.jpg"
    near.write_bytes(encode("flower.jpg", 240))

    page.goto(f"{live_server.url}/cms/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/cms/")

    page.goto(f"{live_server.url}/cms/images/multiple/add/")
    page.set_input_files("#fileupload", str(near))
    warning = page.locator(".imagex-dedup-upload-warning")
    warning.wait_for()
    assert "keeper" in warning.inner_text() and "% similar" in warning.inner_text()
    wait_for_images(page, ".imagex-dedup-upload-warning img")
    warning.locator(".confirm-upload").click()
    page.locator("#upload-list form").first.wait_for()
    new = get_image_model().objects.exclude(pk=keeper.pk).get()

    page.goto(f"{live_server.url}/cms/duplicates/")
    page.click("text=Review")
    wait_for_images(page, ".imagex-dedup-review img")
    page.check(f"input[aria-label='Keep {keeper.title}']")
    page.click("text=Merge into the selected image")
    page.wait_for_url(f"{live_server.url}/cms/duplicates/")
    assert "Merged into 'keeper'" in page.locator(".messages").inner_text()
    assert not get_image_model().objects.filter(pk=new.pk).exists()
    assert DuplicateGroup.objects.get().status == DuplicateGroup.Status.MERGED
