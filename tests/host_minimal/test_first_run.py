"""A host set up exactly as the install docs say (``tests.host_minimal.settings``: no
``REST_FRAMEWORK``, no ``drf_spectacular`` app, ``DEBUG`` on) answers every URL the app mounts,
and the app's admin pages, without a 500; its API docs load their assets from the app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("host_minimal")
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.host_minimal.settings",
        "HOST_MINIMAL_DB": str(root / "db.sqlite3"),
        "HOST_MINIMAL_MEDIA": str(root / "media"),
        "PYTHONPATH": str(REPO_ROOT),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "no issues" in run("-m", "django", "check")
    run("-m", "django", "migrate", "-v", "0")
    return json.loads(run("-m", "tests.host_minimal.crawl"))


def test_no_url_of_the_app_answers_500(crawl: dict) -> None:
    statuses = crawl["statuses"]
    assert len(statuses) > 100  # every route, both ways, as two users, and the admin pages
    assert {key: status for key, status in statuses.items() if status >= 500} == {}


def test_the_service_answers_with_and_without_the_slash(crawl: dict) -> None:
    # Unsigned: the service's own refusal (as the cloud words it) at both addresses, not
    # Django's 301 to the slashed URL (a POST turned GET) or DEBUG's RuntimeError.
    refusal = [401, "MissingAuthenticationToken", 100003]
    assert crawl["service"] == {"POST /imagex/": refusal, "POST /imagex": refusal}


def test_schema_and_docs_pages_work_without_drf_spectacular_in_the_host(crawl: dict) -> None:
    statuses = crawl["statuses"]
    for page in ("schema", "docs", "redoc"):
        assert statuses[f"GET /imagex/api/{page}/ anonymous"] == 200
    # The app's own API only, each path once (the slash-less service is not listed twice).
    assert crawl["schema_paths"] == [
        "/imagex/",
        "/imagex/api/check/",
        "/imagex/api/groups/",
        "/imagex/api/groups/{id}/",
        "/imagex/api/groups/{id}/dismiss/",
        "/imagex/api/groups/{id}/merge/",
        "/imagex/api/groups/{id}/recheck/",
        "/imagex/api/members/{member_id}/image/",
        "/imagex/api/merge-logs/",
        "/imagex/api/merge-logs/{id}/",
        "/imagex/api/merge-logs/{id}/undo/",
        "/imagex/api/tasks/{task_id}/",
    ]
    # Swagger UI's files come from the app (the sidecar package), not a CDN.
    assert crawl["docs_assets"] == [
        f"/imagex/api/assets/swagger-ui-dist/{name}"
        for name in (
            "favicon-32x32.png",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "swagger-ui.css",
        )
    ]
