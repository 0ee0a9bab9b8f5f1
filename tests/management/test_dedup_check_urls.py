"""``dedup_check`` with URLs: each URL is fetched once for both the ``Result`` and the library."""

from __future__ import annotations

import io
import json
from collections import Counter
from functools import partial
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from imagex_dedup.hook.tasks import check_object
from tests.service.conftest import QuietHandler, serve
from tests.support.hook import jpeg
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def test_each_url_is_fetched_once_and_matches_the_library(tmp_path, capsys) -> None:
    (tmp_path / "copy.jpg").write_bytes(jpeg("flower.jpg", scale=0.8, quality=70))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    fetched: Counter[str] = Counter()

    class CountingHandler(QuietHandler):
        def do_GET(self) -> None:
            fetched[self.path] += 1
            super().do_GET()

    server, _ = serve(partial(CountingHandler, directory=str(tmp_path)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        stored = Photo()
        stored.image.save("stored.jpg", ContentFile(jpeg("flower.jpg")), save=True)
        check_object("testapp", "photo", str(stored.pk), "image")
        out = io.StringIO()
        url, broken = f"{base}/copy.jpg", f"{base}/broken.jpg"
        call_command("dedup_check", url, broken, "--allow-private-urls", stdout=out)
    finally:
        server.shutdown()
    report: dict[str, Any] = json.loads(out.getvalue())
    assert fetched == {"/copy.jpg": 1, "/broken.jpg": 1}
    assert report["Result"] == {"Groups": {}}  # two inputs, one unreadable: no Score
    assert [m["pk"] for m in report["Library"][url]] == [str(stored.pk)]
    assert float(report["Library"][url][0]["score"]) >= 0.84
    assert broken not in report["Library"]
    assert (
        capsys.readouterr().err == f"{broken}: not_an_image: the data is not a recognised image\n"
    )
