"""The README's settings tables list every key of ``conf.DEFAULTS`` with its default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from imagex_dedup.conf import DEFAULTS

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `([A-Z_]+)` \| `(.+?)` \|", re.MULTILINE)


def documented() -> dict[str, Any]:
    # Defaults are written as Python literals, some as arithmetic (``50 * 1024 * 1024``).
    return {
        key: eval(value, {"__builtins__": {}}) for key, value in ROW.findall(README.read_text())
    }


def test_every_setting_is_documented_with_its_default() -> None:
    expected = {key: value for key, value in DEFAULTS.items() if key != "IMAGEX"}
    expected.update(DEFAULTS["IMAGEX"])
    assert documented() == expected
