"""The docs' SDK example (``docs/examples/sdk_client.py``), run as written: a child process,
configured through its environment only, against a live server of this app."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from imagex_dedup.models import DetectionService
from tests.processes import REPO_ROOT
from tests.service.conftest import AK, SERVICE_ID, SK, create_service

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "docs" / "examples" / "sdk_client.py"


@pytest.fixture
def live_service(transactional_db: None) -> DetectionService:
    return create_service()


def run_example(live_server: Any, tmp_path: Any, *urls: str) -> subprocess.CompletedProcess:
    pytest.importorskip("volcengine")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),  # no ~/.volc credentials of whoever runs the tests
        "VOLC_ACCESSKEY": AK,
        "VOLC_SECRETKEY": SK,
        "IMAGEX_DEDUP_HOST": live_server.url.split("//", 1)[1],
        "IMAGEX_DEDUP_SERVICE_ID": SERVICE_ID,
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *urls],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_sdk_example_runs_as_written(live_server, live_service, photo_base, tmp_path) -> None:
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_bright.png"]
    done = run_example(live_server, tmp_path, *urls)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["Groups"] == {"group0": urls}
    assert result["FailedUrls"] == []
    assert float(result["Score"]) >= 0.84


def test_the_sdk_example_explains_its_arguments(live_server, tmp_path) -> None:
    done = run_example(live_server, tmp_path)
    assert done.returncode == 1
    assert "usage:" in done.stderr and "URL URL" in done.stderr
