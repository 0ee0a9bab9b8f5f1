"""Reference rewriters: the extension point for references the core merge cannot see.

The core merge re-points what the database schema declares (foreign keys, many-to-many links,
generic foreign keys). Some host models are also referenced where the schema says nothing: a
Wagtail image is named by id inside StreamField JSON, rich-text HTML and stored revisions. An app
that knows such a place registers a :class:`ReferenceRewriter`; ``merge_group`` and
``undo_merge`` call every rewriter that ``handles`` the merged model, inside their transaction:

1. :meth:`~ReferenceRewriter.problems` while planning: any problem refuses the merge before
   anything changes (a locked page, a workflow in progress);
2. :meth:`~ReferenceRewriter.rewrite` after the core re-pointed its references and before the
   duplicates are deleted; it returns JSON-able undo data, kept in the ``MergeLog``'s ``changes``
   as one ``{"rewriter": name, "data": ...}`` entry;
3. :meth:`~ReferenceRewriter.undo_problems` and :meth:`~ReferenceRewriter.undo` when the merge
   is undone (undo data entries are put back after the core's own records).

:meth:`~ReferenceRewriter.left_alone` names (generic) foreign keys the core must not re-point
because the rewriter's app owns them (a rendition or a search-index entry belongs to its image and
is deleted with it).
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import Storage
from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils.deconstruct import deconstructible


class ReferenceRewriter:
    """Base class: override what applies; the defaults do nothing."""

    name: str = ""

    def handles(self, model: type[models.Model]) -> bool:
        """Whether merges of ``model`` (a concrete model) involve this rewriter."""
        return False

    def left_alone(self, model: type[models.Model], field: Any) -> bool:
        """Whether the core merge must leave ``field`` (a foreign key or a generic foreign key
        of ``model``) alone when it points at a merged object."""
        return False

    def problems(self, keeper: models.Model, duplicates: list[models.Model]) -> list[str]:
        """Why the merge must be refused (empty: it may go ahead)."""
        return []

    def rewrite(self, keeper: models.Model, duplicates: list[models.Model]) -> Any:
        """Re-point the references this rewriter knows; return undo data (JSON-able)."""
        return None

    def before_delete(self, duplicate: models.Model) -> None:
        """Called on each duplicate just before the merge deletes it."""

    def undo_problems(self, data: Any) -> list[str]:
        """Why ``data`` cannot be put back (the content moved on since the merge)."""
        return []

    def undo(self, data: Any) -> None:
        """Put back what :meth:`rewrite` changed."""


@deconstructible(path="imagex_dedup.review.rewriters.KeepFiles")
class KeepFiles(Storage):
    """A storage whose ``delete`` keeps the file: see :func:`keep_file`."""

    def delete(self, name: str) -> None:
        return None


def keep_file(field_file: FieldFile) -> None:
    """Make the deletion of ``field_file``'s row keep its file, for libraries that delete files
    with their rows (Wagtail, django-filer): undo needs the file, and ``MERGE_DELETE_FILES``
    decides about files. Call it from :meth:`ReferenceRewriter.before_delete`."""
    field_file.storage = KeepFiles()


_rewriters: dict[str, ReferenceRewriter] = {}


def register_rewriter(rewriter: ReferenceRewriter) -> ReferenceRewriter:
    """Add ``rewriter`` (replacing one of the same name: ``ready()`` may run twice in tests)."""
    if not rewriter.name:
        raise ValueError(f"{type(rewriter).__name__} needs a name: the MergeLog records it")
    _rewriters[rewriter.name] = rewriter
    return rewriter


def unregister_rewriter(name: str) -> None:
    _rewriters.pop(name, None)


def rewriters_for(model: type[models.Model]) -> list[ReferenceRewriter]:
    return [r for r in _rewriters.values() if r.handles(model)]


def left_alone(merged: type[models.Model], model: type[models.Model], field: Any) -> bool:
    """Whether a rewriter of ``merged`` owns ``field`` of ``model`` (see
    :meth:`ReferenceRewriter.left_alone`)."""
    return any(r.left_alone(model, field) for r in rewriters_for(merged))


def entry_undo_problems(entry: dict[str, Any]) -> list[str]:
    """Why a ``MergeLog`` rewriter entry cannot be put back (its app may be gone)."""
    rewriter = _rewriters.get(entry["rewriter"])
    if rewriter is None:
        return [f"reference rewriter {entry['rewriter']!r} is not installed: cannot undo"]
    return rewriter.undo_problems(entry["data"])


def undo_entry(entry: dict[str, Any]) -> None:
    _rewriters[entry["rewriter"]].undo(entry["data"])


def rewrite_all(keeper: models.Model, duplicates: list[models.Model]) -> list[dict[str, Any]]:
    """Run every rewriter of the keeper's model; return the ``MergeLog.changes`` entries."""
    model = keeper._meta.concrete_model
    return [
        {"rewriter": r.name, "data": r.rewrite(keeper, duplicates)} for r in rewriters_for(model)
    ]


def is_rewriter_entry(change: dict[str, Any]) -> bool:
    return "rewriter" in change


__all__ = [
    "KeepFiles",
    "ReferenceRewriter",
    "entry_undo_problems",
    "is_rewriter_entry",
    "keep_file",
    "left_alone",
    "register_rewriter",
    "rewrite_all",
    "rewriters_for",
    "undo_entry",
    "unregister_rewriter",
]
