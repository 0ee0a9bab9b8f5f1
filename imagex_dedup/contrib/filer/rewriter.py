"""The merge's reference rewriter for django-filer images.

A filer image is a multi-table child of filer's ``File``: ``FilerImageField`` points at the image
(a foreign key the core merge re-points), but ``FilerFileField`` and filer's clipboard point at
the parent ``File`` row, which the core does not see. This rewriter re-points those, and keeps
filer's rules:

* the keeper stays where it is: its folder, owner and permissions do not change, and the
  duplicates leave their folders with their rows;
* a private keeper (``is_public=False``) cannot replace a public duplicate: references on public
  pages would then need a permission to load the image, so such a merge is refused;
* filer deletes a file with its row; a merge keeps it (undo needs it, ``MERGE_DELETE_FILES``
  decides).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import models
from filer import settings as filer_settings
from filer.models import File
from filer.utils.loader import load_model

from imagex_dedup.review.relations import describe, foreign_keys
from imagex_dedup.review.rewriters import ReferenceRewriter, keep_file


def image_model() -> type[models.Model]:
    return load_model(filer_settings.FILER_IMAGE_MODEL)


def file_references() -> Iterator[tuple[type[models.Model], models.ForeignKey]]:
    """Foreign keys to filer's ``File`` other than its children's parent links."""
    for model, fk in foreign_keys(File):
        if not fk.remote_field.parent_link:
            yield model, fk


class FilerImageRewriter(ReferenceRewriter):
    name = "filer.images"

    def handles(self, model: type[models.Model]) -> bool:
        return model is image_model()._meta.concrete_model

    def problems(self, keeper: models.Model, duplicates: list[models.Model]) -> list[str]:
        public = [d.pk for d in duplicates if d.is_public]
        if keeper.is_public or not public:
            return []
        return [
            f"The keeper ({describe(type(keeper), [keeper.pk])}) is private but "
            f"{describe(type(keeper), public)} public: keep a public image, or make the keeper "
            "public first"
        ]

    def rewrite(self, keeper: models.Model, duplicates: list[models.Model]) -> list[dict[str, Any]]:
        changes = []
        for model, fk in file_references():
            rows = model._base_manager.filter(**{f"{fk.attname}__in": [d.pk for d in duplicates]})
            for pk, old in rows.order_by("pk").values_list("pk", fk.attname):
                changes.append(
                    {
                        "model": model._meta.label_lower,
                        "pk": pk,
                        "field": fk.attname,
                        "old": old,
                        "new": keeper.pk,
                    }
                )
            rows.update(**{fk.attname: keeper.pk})
        return changes

    def before_delete(self, duplicate: models.Model) -> None:
        keep_file(duplicate.file)

    def undo_problems(self, data: list[dict[str, Any]]) -> list[str]:
        problems = []
        for change in data:
            model = apps.get_model(change["model"])
            current = model._base_manager.filter(pk=change["pk"]).values_list(
                change["field"], flat=True
            )
            if list(current) != [change["new"]]:
                where = f"{model._meta.label} {change['pk']}.{change['field']}"
                problems.append(f"{where}: changed or deleted since the merge")
        return problems

    def undo(self, data: list[dict[str, Any]]) -> None:
        for change in data:
            model = apps.get_model(change["model"])
            model._base_manager.filter(pk=change["pk"]).update(**{change["field"]: change["old"]})
