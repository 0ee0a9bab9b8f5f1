"""The demo's admin warns when a resized copy of a demo photo is uploaded (run in a child
process with the demo's own settings, like the other demo smoke tests)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.demo.test_demo_project import demo_env, manage  # noqa: F401  (a fixture)

UPLOAD = """
import json
import re
from pathlib import Path
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from demo_project.gallery.models import Photo

user, _ = get_user_model().objects.get_or_create(username="admin", is_staff=True, is_superuser=True)
client = Client(SERVER_NAME="localhost")
client.force_login(user)
path = Path(settings.MEDIA_ROOT) / "try_upload" / "heather-resized.jpg"
before = Photo.objects.count()
with path.open("rb") as image:
    response = client.post("/admin/gallery/photo/add/", {"title": "Heather again", "image": image})
html = response.content.decode()
print(json.dumps({
    "status": response.status_code,
    "warning": "imagex-upload-warning" in html,
    "matches": sorted(re.findall('<span class="imagex-upload-label">(.*?)</span>', html)),
    "created": Photo.objects.count() - before,
}))
"""


def test_the_demo_admin_warns_about_a_resized_copy(demo_env: dict[str, str]) -> None:  # noqa: F811
    manage(demo_env, "migrate", "--noinput", "-v", "0")
    loaded = manage(demo_env, "load_demo", "--sync")
    try_upload = Path(demo_env["IMAGEX_DEMO_MEDIA_ROOT"]) / "try_upload" / "heather-resized.jpg"
    assert f"try uploading {try_upload}" in loaded and try_upload.exists()
    result = json.loads(manage(demo_env, "shell", "--no-imports", "-c", UPLOAD))
    assert result["status"] == 200 and result["warning"] and result["created"] == 0
    assert result["matches"] == ["Heather", "Heather (captioned)"]
