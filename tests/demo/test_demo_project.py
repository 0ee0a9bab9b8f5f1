"""Smoke tests of demo_project, run in child processes with the demo's own settings.

The test run uses ``tests.settings``; the demo is a separate Django project, so each test starts
``manage.py`` with ``DJANGO_SETTINGS_MODULE=demo_project.settings`` and a temp database and media
directory, exactly as ``scripts/demo.sh`` does on a fresh clone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import free_port, start_django, stop_process, wait_for_port

REPO = Path(__file__).resolve().parents[2]

COUNTS = """
import json
from demo_project.gallery.models import Album, Author, Photo, Post
from imagex_dedup.models import AccessKey, DuplicateGroup
print(json.dumps({
    "photos": Photo.objects.count(),
    "authors": Author.objects.count(),
    "albums": Album.objects.count(),
    "posts": Post.objects.count(),
    "keys": AccessKey.objects.filter(service__service_id="demo").count(),
    "groups": [
        sorted(str(m.content_object) for m in group.members.all())
        for group in DuplicateGroup.objects.filter(status="open")
    ],
}))
"""

EXPECTED_GROUPS = sorted(
    sorted(group)
    for group in [
        ["Puppies", "Puppies (resized)", "Puppies (recompressed)"],
        ["Mountain peak", "Mountain peak (cropped)", "Mountain peak (watermarked)"],
        ["Frangipani", "Frangipani (mirrored)", "Frangipani (resized, recompressed)"],
        ["Heather", "Heather (captioned)"],
        ["R. Knit (old account)", "Robin Knit"],
    ]
)


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "IMAGEX_DEDUP_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="demo_project.settings",
        IMAGEX_DEMO_DB=str(tmp_path / "demo.sqlite3"),
        IMAGEX_DEMO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def summary(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Demo data:"))


def test_demo_project_passes_system_checks(demo_env: dict[str, str]) -> None:
    # `check` imports demo_project.urls (and through it imagex_dedup.urls and the API schema views).
    assert "no issues" in manage(demo_env, "check")


def test_load_demo_leaves_groups_to_review_and_is_idempotent(demo_env: dict[str, str]) -> None:
    manage(demo_env, "migrate", "--noinput", "-v", "0")
    first = manage(demo_env, "load_demo", "--sync")
    assert "SecretAccessKey" in first
    counts = json.loads(manage(demo_env, "shell", "--no-imports", "-c", COUNTS))

    assert counts["photos"] == 12
    assert counts["authors"] == 3
    assert (counts["albums"], counts["posts"], counts["keys"]) == (3, 4, 1)
    # Each original with its generated copies, and nothing else; the test card has no copy.
    assert sorted(counts["groups"]) == EXPECTED_GROUPS

    second = manage(demo_env, "load_demo", "--sync")
    assert "  + " not in second, "a second run created objects again"
    expected = "Demo data: 12 photos, 3 authors, 3 albums, 4 posts, 5 open duplicate groups."
    assert summary(second) == summary(first) == expected


def test_gallery_migrations_are_complete(demo_env: dict[str, str]) -> None:
    manage(demo_env, "makemigrations", "--check", "--dry-run", "gallery")


def test_load_demo_is_quiet_and_try_service_follows_the_port(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    manage(demo_env, "migrate", "--noinput", "-v", "0")
    done = subprocess.run(
        [sys.executable, "manage.py", "load_demo", "--sync"],
        cwd=REPO,
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no django-q2 lines, no per-check lines
    assert done.stdout.splitlines()[-1].startswith("Detection service 'demo': AccessKeyId AKLT")

    port = free_port()
    log = tmp_path / "runserver.log"
    server = start_django(
        ["runserver", "--noreload", f"127.0.0.1:{port}"], env=demo_env, log=log, cwd=REPO
    )
    try:
        wait_for_port(port, server, log)
        front = requests.get(f"http://127.0.0.1:{port}/", timeout=30).text
        assert 'href="/demo/service/">Detection service</a>' in front
        assert 'href="/imagex/api/docs/">API docs</a>' in front
        page = requests.get(f"http://127.0.0.1:{port}/demo/service/", timeout=30)
        assert page.status_code == 200
        assert f"try_service --port {port}" in page.text
        assert "AccessKeyId <code>AKLT" in page.text

        # No --port, no --base-url: PORT, as scripts/demo.sh sets it.
        result = json.loads(manage({**demo_env, "PORT": str(port)}, "try_service"))
        assert len(result["Groups"]) == 4 and result["FailedUrls"] == []
    finally:
        stop_process(server)
