"""Helpers of the documentation tests: the repository's paths and the docs' settings hook."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="session")
def settings_hook() -> ModuleType:
    """``docs/hooks/settings_reference.py``, the MkDocs hook that generates the settings page."""
    path = DOCS / "hooks" / "settings_reference.py"
    spec = importlib.util.spec_from_file_location("docs_settings_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
