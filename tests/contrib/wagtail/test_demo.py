"""The Wagtail demo (``demo_project.settings_wagtail``) in child processes, as a person runs it:
migrate, load (twice: idempotent), merge every group, and every article still renders with no
broken image."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.demo.test_demo_project import manage

MERGE_AND_RENDER = """
import json, re
from django.core.files.storage import default_storage
from django.test import Client
from imagex_dedup.models import DuplicateGroup
from imagex_dedup.review.merge import merge_group
groups = [sorted(str(m.content_object) for m in g.members.all())
          for g in DuplicateGroup.objects.filter(status="open")]
for group in DuplicateGroup.objects.filter(status="open"):
    merge_group(group)
pages = {}
for url in ["/flowers/", "/test-card/"]:
    response = Client().get(url, HTTP_HOST="localhost")
    srcs = re.findall(r'<img [^>]*src="/media/([^"]+)"', response.content.decode())
    pages[url] = [response.status_code, len(srcs), all(default_storage.exists(s) for s in srcs)]
print(json.dumps({"groups": sorted(groups), "pages": pages}))
"""


@pytest.fixture
def wagtail_demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IMAGEX_DEDUP_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="demo_project.settings_wagtail",
        IMAGEX_DEMO_DB=str(tmp_path / "demo.sqlite3"),
        IMAGEX_DEMO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    return env


def test_the_wagtail_demo_loads_merges_and_renders(wagtail_demo_env: dict[str, str]) -> None:
    manage(wagtail_demo_env, "migrate", "--noinput", "-v", "0")
    output = manage(wagtail_demo_env, "load_wagtail_demo", "--sync")
    assert "6 images, 2 articles, 2 open duplicate groups" in output
    assert "  + " not in manage(wagtail_demo_env, "load_wagtail_demo", "--sync"), "not idempotent"

    result = json.loads(
        manage(wagtail_demo_env, "shell", "--no-imports", "-c", MERGE_AND_RENDER).splitlines()[-1]
    )

    assert result["groups"] == [
        ["Frangipani", "Frangipani (mirrored)", "Frangipani (resized)"],
        ["Test card", "Test card (recompressed)"],
    ]
    assert result["pages"] == {"/flowers/": [200, 5, True], "/test-card/": [200, 3, True]}
