"""The settings reference in the docs is generated from ``imagex_dedup.conf`` and equals it.

The MkDocs hook ``docs/hooks/settings_reference.py`` fills ``docs/reference/settings.md`` at
build time; these tests run the same generator and read its tables back.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from imagex_dedup.conf import DEFAULTS, IMAGEX_SPECS, SPECS
from tests.docs.conftest import DOCS, ROOT

PAGE = DOCS / "reference" / "settings.md"
ROW = re.compile(r'^\| <a id="([a-z_-]+)"></a>`([A-Z_]+)` \| (`(.+?)`|see below) \| (.*) \|$', re.M)


def rows(markdown: str) -> list[tuple[str, str, str | None, str]]:
    return [
        (anchor, key, default or None, doc)
        for anchor, key, _, default, doc in ROW.findall(markdown)
    ]


def documented(markdown: str) -> dict[str, Any]:
    # Defaults are written as Python literals, some as arithmetic (``50 * 1024 * 1024``).
    return {
        key: eval(default, {"__builtins__": {}})
        for _, key, default, _ in rows(markdown)
        if default is not None
    }


def test_the_page_asks_for_both_tables_and_the_build_runs_the_hook() -> None:
    text = PAGE.read_text()
    assert "<!-- settings:SPECS -->" in text
    assert "<!-- settings:IMAGEX_SPECS -->" in text
    assert "docs/hooks/settings_reference.py" in (ROOT / "mkdocs.yml").read_text()


def test_rendered_page_has_no_marker_left(settings_hook: ModuleType) -> None:
    rendered = settings_hook.render(PAGE.read_text())
    assert "<!-- settings:" not in rendered


def test_every_setting_is_documented_with_its_default(settings_hook: ModuleType) -> None:
    expected = {key: value for key, value in DEFAULTS.items() if key != "IMAGEX"}
    assert documented(settings_hook.top_level()) == expected
    assert documented(settings_hook.imagex()) == DEFAULTS["IMAGEX"]


def test_rows_follow_the_declarations_in_order_with_their_descriptions(
    settings_hook: ModuleType,
) -> None:
    top = rows(settings_hook.top_level())
    assert [key for _, key, _, _ in top] == [spec.key for spec in SPECS]
    assert [doc for _, _, _, doc in top] == [spec.doc.replace("|", "\\|") for spec in SPECS]
    imagex = rows(settings_hook.imagex())
    assert [key for _, key, _, _ in imagex] == [spec.key for spec in IMAGEX_SPECS]
    assert [doc for _, _, _, doc in imagex] == [spec.doc for spec in IMAGEX_SPECS]


def test_each_row_has_an_anchor_for_links(settings_hook: ModuleType) -> None:
    anchors = [a for a, _, _, _ in rows(settings_hook.top_level() + settings_hook.imagex())]
    assert len(anchors) == len(set(anchors)) == len(SPECS) + len(IMAGEX_SPECS)
    assert "similarity" in anchors
    assert "imagex-top_k" in anchors
