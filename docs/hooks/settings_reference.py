"""MkDocs hook: the settings reference, generated from ``imagex_dedup.conf`` at build time.

A page that contains ``<!-- settings:SPECS -->`` gets the top-level options of ``IMAGEX_DEDUP``
there, one table per section, and ``<!-- settings:IMAGEX_SPECS -->`` the keys of its ``IMAGEX``
dict. Each option's row carries an anchor (``#similarity``, ``#imagex-top_k``) for links from
other pages. ``tests/docs/test_settings_reference.py`` checks the output against the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imagex_dedup import conf

SECTIONS = {
    conf.HOOK: "The model hook",
    conf.INPUT: "Safe input",
    conf.CALLBACKS: "Callbacks",
    conf.SERVICE: "The detection service",
    conf.REVIEW: "Review and merge",
    conf.UPLOAD: "The check on upload",
    conf.SCAN: "Library scans and self-healing",
    "imagex": "The veImageX backend",
}
MARKERS = {
    "<!-- settings:SPECS -->": "top",
    "<!-- settings:IMAGEX_SPECS -->": "imagex",
}


def anchor(spec: conf.Spec, prefix: str = "") -> str:
    return (prefix + spec.key).lower()


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(specs: Iterable[conf.Spec], header: str, prefix: str = "") -> str:
    rows = [f"| {header} | Default | Meaning |", "|---|---|---|"]
    for spec in specs:
        default = spec.shown_default
        shown = default if default == "see below" else f"`{default}`"
        rows.append(
            f'| <a id="{anchor(spec, prefix)}"></a>`{spec.key}` | {shown} | {cell(spec.doc)} |'
        )
    return "\n".join(rows)


def top_level() -> str:
    parts = []
    sections: dict[str, list[conf.Spec]] = {}
    for spec in conf.SPECS:
        sections.setdefault(spec.section, []).append(spec)
    for section, specs in sections.items():
        parts.append(f"### {SECTIONS.get(section, section.title())}\n\n{table(specs, 'Key')}")
    return "\n\n".join(parts)


def imagex() -> str:
    return table(conf.IMAGEX_SPECS, "`IMAGEX` key", prefix="imagex-")


def render(markdown: str) -> str:
    """``markdown`` with every settings marker replaced by its generated tables."""
    for marker, which in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, top_level() if which == "top" else imagex())
    return markdown


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return render(markdown)
