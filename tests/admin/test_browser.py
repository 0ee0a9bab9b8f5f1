"""A real browser (Debian chromium driven by Playwright) reviews and merges a group in the admin.

Playwright's sync API runs an event loop in this thread, so Django's ORM calls made here would be
refused as "async unsafe"; the test sets DJANGO_ALLOW_ASYNC_UNSAFE (the ORM is used from plain
synchronous test code, and the server side runs in pytest-django's live_server thread).
The review page's screenshot goes to a temporary file; set
IMAGEX_DEDUP_SCREENSHOT=docs/review-page.png to refresh the README's picture (a test run never
rewrites tracked files on its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

from imagex_dedup.models import DuplicateGroup, MergeLog
from tests.support.review import make_group, make_photo
from tests.testapp.models import Album, Photo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (scripts/services.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        # Django keys connections by context (asgiref Local) and Playwright's sync API switches
        # greenlets, which carry their own context: ORM calls made while it runs open a
        # connection pytest-django never closes. Close it, or PostgreSQL refuses to drop the
        # test database at the end of the run.
        connections.close_all()
        browser.close()
        playwright.stop()


@pytest.fixture
def review_group(settings, django_user_model):
    # Detection is not under test here: keep the hook from grouping these photos on its own.
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "ENABLED": False}
    django_user_model.objects.create_superuser("admin", password="pw")
    original = make_photo("Flower, original", width=480)
    smaller = make_photo("Flower, smaller copy", width=320)
    png = make_photo("Flower, PNG copy", width=360, fmt="PNG")
    Album.objects.create(name="Garden", cover=smaller)
    return make_group(smaller, original, png, scores=(1.0, 0.97, 0.95))


def wait_for_images(page, selector: str) -> None:
    """Wait until every image matching ``selector`` loaded (thumbnails are made on request)."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)",
        arg=selector,
    )


def test_review_and_merge_in_the_admin(browser_page, live_server, review_group, tmp_path):
    page = browser_page
    login(page, live_server)

    page.goto(f"{live_server.url}/admin/imagex_dedup/duplicategroup/")
    thumbs = page.locator("img.imagex-thumb")
    assert thumbs.count() == 3
    wait_for_images(page, "img.imagex-thumb")
    page.click(f"a[href$='/duplicategroup/{review_group.pk}/change/']")

    previews = page.locator("img.imagex-preview")
    assert previews.count() == 3
    wait_for_images(page, "img.imagex-preview")
    keeper_card = page.locator("figure.imagex-keeper")
    assert "Flower, original" in keeper_card.inner_text()
    assert (
        "480 \N{MULTIPLICATION SIGN} 360" in keeper_card.locator(".imagex-dimensions").inner_text()
    )
    screenshot = Path(os.environ.get("IMAGEX_DEDUP_SCREENSHOT", tmp_path / "review-page.png"))
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    # Keep the PNG copy instead of the rule's pick.
    png = Photo.objects.get(title="Flower, PNG copy")
    png_member = review_group.members.get(object_id=str(png.pk))
    page.locator(f"#member-{png_member.pk} input.imagex-keep").click()
    page.wait_for_selector("text=Merge duplicates: are you sure?")
    assert "Album · cover" in page.locator("table.imagex-references").inner_text()
    assert page.locator("strong.imagex-keeper").inner_text() == "Flower, PNG copy"
    page.click("input[value='Yes, merge']")

    page.wait_for_selector("ul.messagelist li.success")
    assert "Merged" in page.locator("ul.messagelist").inner_text()
    assert page.locator(".imagex-status").inner_text() == "Merged"
    assert page.locator("ul.imagex-logs li").count() == 1
    assert page.locator("input.imagex-keep").count() == 0

    group = DuplicateGroup.objects.get(pk=review_group.pk)
    assert group.status == DuplicateGroup.Status.MERGED and group.resolved_by.username == "admin"
    assert list(Photo.objects.values_list("title", flat=True)) == ["Flower, PNG copy"]
    assert Album.objects.get().cover_id == png.pk
    assert MergeLog.objects.get().keeper_object_id == str(png.pk)


def login(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


@pytest.fixture
def queue_groups(settings, django_user_model):
    """Three open groups (scores 0.99, 0.95, 0.90), each duplicate an album's cover."""
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "ENABLED": False}
    django_user_model.objects.create_superuser("admin", password="pw")
    groups = {}
    for name, source, score in [
        ("Flower", "flower.jpg", 0.99),
        ("Card", "test-card.png", 0.95),
        ("Heather", "flower2.jpg", 0.90),
    ]:
        original = make_photo(f"{name}, original", source, width=400)
        copy = make_photo(f"{name}, copy", source, width=240)
        Album.objects.create(name=f"{name} album", cover=copy)
        groups[name] = make_group(original, copy, scores=(1.0, score))
    return groups


def current_title(page) -> str:
    return page.locator("h2.imagex-queue-title a").inner_text()


def test_review_queue_with_the_keyboard(browser_page, live_server, queue_groups, tmp_path):
    page = browser_page
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/imagex_dedup/duplicategroup/queue/")
    assert current_title(page).startswith("\N{LEFT DOUBLE QUOTATION MARK}Flower")  # best first
    wait_for_images(page, "img.imagex-preview")
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

    page.keyboard.press("s")  # skip
    page.wait_for_selector("text=Card")
    assert current_title(page).startswith("\N{LEFT DOUBLE QUOTATION MARK}Card")

    page.keyboard.press("2")  # keep the copy (second card)...
    assert page.locator("figure.imagex-chosen").count() == 1
    page.keyboard.press("m")  # ...and merge
    page.wait_for_selector("ul.messagelist li.success")
    assert (
        "kept \N{LEFT DOUBLE QUOTATION MARK}Card, copy"
        in page.locator("ul.messagelist").inner_text()
    )
    assert Album.objects.get(name="Card album").cover.title == "Card, copy"
    assert not Photo.objects.filter(title="Card, original").exists()
    assert current_title(page).startswith("\N{LEFT DOUBLE QUOTATION MARK}Heather")

    page.keyboard.press("u")  # undo the merge
    page.wait_for_selector("text=undone")
    assert Photo.objects.filter(title="Card, original").exists()
    assert DuplicateGroup.objects.get(pk=queue_groups["Card"].pk).status == "open"
    assert current_title(page).startswith("\N{LEFT DOUBLE QUOTATION MARK}Card")

    page.keyboard.press("n")  # not duplicates
    page.wait_for_selector("text=dismissed as not duplicates")
    assert DuplicateGroup.objects.get(pk=queue_groups["Card"].pk).status == "dismissed"
    page.keyboard.press("m")  # merge "Heather" into the rule's pick
    page.wait_for_selector("text=Nothing left to review")
    assert DuplicateGroup.objects.get(pk=queue_groups["Heather"].pk).status == "merged"
    assert DuplicateGroup.objects.get(pk=queue_groups["Flower"].pk).status == "open"  # skipped
