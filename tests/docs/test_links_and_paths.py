"""The README's links into the docs, and the module paths the docs name, point at real things."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.docs.conftest import DOCS, ROOT

README = ROOT / "README.md"
LINK = re.compile(r"\]\(((?:\./)?docs/[^)\s#]*)(#[^)\s]*)?\)")
DOTTED = re.compile(r"\bimagex_dedup(?:\.[A-Za-z_]\w*)+")
# Not module paths: system check ids (imagex_dedup.E001) and permissions (app_label.codename).
NOT_A_PATH = re.compile(r"^imagex_dedup\.([EW]\d{3}|(view|add|change|delete|merge|use)_\w+)$")


def readme_links() -> list[str]:
    return [target for target, _ in LINK.findall(README.read_text())]


def documented_paths() -> list[tuple[str, str]]:
    found = []
    for path in [README, *sorted(DOCS.rglob("*.md"))]:
        for name in sorted(set(DOTTED.findall(path.read_text()))):
            if not NOT_A_PATH.match(name):
                found.append((path.relative_to(ROOT).as_posix(), name))
    return found


def resolve(name: str) -> object:
    """The object a dotted name stands for: the longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(name)


def test_the_readme_links_into_the_docs() -> None:
    assert len(readme_links()) >= 10


@pytest.mark.parametrize("target", sorted(set(readme_links())))
def test_readme_link_points_at_an_existing_page(target: str) -> None:
    path = ROOT / target
    assert path.is_file(), f"README links to {target}, which does not exist"
    if path.suffix == ".md" and path.name != "index.md":
        # A page of the site: listed in the nav, or the build would leave it out.
        page = Path(target).relative_to("docs").as_posix()
        nav = (ROOT / "mkdocs.yml").read_text()
        assert re.search(rf"^\s*- [^#\n]*{re.escape(page)}\s*$", nav, re.M), page


def test_docs_name_module_paths() -> None:
    assert len(documented_paths()) >= 50


@pytest.mark.parametrize(("page", "name"), documented_paths())
def test_named_module_path_exists(page: str, name: str) -> None:
    try:
        resolve(name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{page} names {name}, which does not exist: {error}")
