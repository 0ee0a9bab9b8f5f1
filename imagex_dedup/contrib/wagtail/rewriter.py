"""The merge's reference rewriter for Wagtail images.

The core merge re-points foreign keys; Wagtail also names images by id inside StreamField JSON,
rich-text embeds and stored revisions, which no schema declares. This rewriter finds every object
that uses a duplicate — the reference index (what the "Usage" tab shows) plus the latest draft
revision of every object with unpublished changes, which the index does not cover — and:

* refuses the merge when one of them cannot be rewritten: locked, in a moderation workflow, or
  scheduled for publishing (a person or a schedule expects that content to stay as it is);
* re-points the live rows' content fields (and their child rows'), and the latest revision;
* refreshes the reference index of each of them, after the merge and after an undo;
* leaves renditions, search-index entries and tag links to Wagtail: they go with their image
  (rendition files removed by Wagtail), since re-pointing them would clash with the keeper's own;
  the keeper gains the tags it lacked, and undo gives each restored image its tags back and
  puts it back in the search and reference indexes;
* keeps the duplicates' original files (Wagtail deletes an image's file with its row), so undo
  can restore them; ``MERGE_DELETE_FILES`` decides about files, as for any model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from modelcluster.models import get_all_child_relations
from wagtail.images import get_image_model
from wagtail.images.models import AbstractRendition
from wagtail.models import DraftStateMixin, ReferenceIndex, Revision
from wagtail.search.index import insert_or_update_object
from wagtail.search.models import IndexEntry

from imagex_dedup.contrib.wagtail import content
from imagex_dedup.review.rewriters import ReferenceRewriter, keep_file

Source = tuple[str, str]  # (model label, pk) of an object that uses an image


def _describe(obj: models.Model) -> str:
    return f"{obj._meta.verbose_name} {str(obj)!r} (id {obj.pk})"


def lock_problem(obj: models.Model) -> str | None:
    """Why ``obj``'s content must not be rewritten by a merge now, if it must not."""
    if getattr(obj, "workflow_in_progress", False):
        return f"{_describe(obj)} has a workflow in progress: finish or cancel it first"
    if getattr(obj, "approved_schedule", False):
        return f"{_describe(obj)} is scheduled for publishing: cancel the schedule first"
    if getattr(obj, "locked", False):
        return f"{_describe(obj)} is locked: unlock it first"
    return None


class WagtailImageRewriter(ReferenceRewriter):
    name = "wagtail.images"

    def handles(self, model: type[models.Model]) -> bool:
        return model is get_image_model()._meta.concrete_model

    def left_alone(self, model: type[models.Model], field: Any) -> bool:
        """Renditions, search-index entries and tags belong to their image: deleted with it."""
        tags = get_image_model()._meta.get_field("tags").remote_field.through
        return issubclass(model, AbstractRendition | IndexEntry | tags)

    # --- finding the users of the duplicates ---------------------------------------------------

    def _indexed(self, duplicates: list[models.Model]) -> set[Source]:
        found: set[Source] = set()
        for dup in duplicates:
            rows = ReferenceIndex.get_references_to(dup).values_list("content_type", "object_id")
            for ct_id, object_id in rows.distinct():
                model = ContentType.objects.get_for_id(ct_id).model_class()
                if model is not None:
                    found.add((model._meta.label_lower, object_id))
        return found

    def _draft_revisions(self) -> models.QuerySet[Revision]:
        """Latest revisions of every object with unpublished changes (not in the index)."""
        ids: list[Any] = []
        for model in apps.get_models():
            if issubclass(model, DraftStateMixin) and not model._meta.parents:
                rows = model._base_manager.filter(
                    has_unpublished_changes=True, latest_revision__isnull=False
                )
                ids += rows.values_list("latest_revision_id", flat=True)
        return Revision.objects.filter(pk__in=ids).select_related("content_type")

    def _revisions(self, sources: set[Source]) -> Iterator[Revision]:
        """The latest revision of each source, and every draft revision."""
        seen: set[int] = set()
        for label, pk in sorted(sources):
            obj = _object(label, pk)
            revision = getattr(obj, "latest_revision", None)
            if isinstance(revision, Revision) and revision.pk not in seen:
                seen.add(revision.pk)
                yield revision
        for revision in self._draft_revisions():
            if revision.pk not in seen:
                seen.add(revision.pk)
                yield revision

    def _users(
        self, keeper: models.Model, duplicates: list[models.Model]
    ) -> tuple[set[Source], list[tuple[Revision, dict[str, Any]]]]:
        """Objects that use a duplicate, and the revisions to rewrite with their new content."""
        mapping = {dup.pk: keeper.pk for dup in duplicates}
        sources = self._indexed(duplicates)
        revisions = []
        for revision in self._revisions(sources):
            owner = revision.content_type.model_class()
            if owner is None:
                continue
            new = content.serialized(owner, revision.content, type(keeper), mapping)
            if new != revision.content:
                revisions.append((revision, new))
                sources.add((owner._meta.label_lower, str(revision.object_id)))
        return sources, revisions

    # --- the merge -----------------------------------------------------------------------------

    def problems(self, keeper: models.Model, duplicates: list[models.Model]) -> list[str]:
        sources, _ = self._users(keeper, duplicates)
        found = (lock_problem(obj) for obj in _objects(sources))
        return [f"Cannot rewrite the images' usage: {problem}" for problem in found if problem]

    def rewrite(self, keeper: models.Model, duplicates: list[models.Model]) -> dict[str, Any]:
        sources, revisions = self._users(keeper, duplicates)
        mapping = {dup.pk: keeper.pk for dup in duplicates}
        rows = [
            change
            for obj in _objects(sources)
            for row in _rows(obj)
            for change in _rewrite_row(row, type(keeper), mapping)
        ]
        for change in rows:
            _write(change, "new")
        logged = []
        for revision, new in revisions:
            logged.append({"pk": revision.pk, "old": revision.content, "new": new})
            Revision.objects.filter(pk=revision.pk).update(content=new)
        reindex(sources)
        tags = {str(dup.pk): sorted(dup.tags.names()) for dup in duplicates}
        added = sorted({t for names in tags.values() for t in names} - set(keeper.tags.names()))
        keeper.tags.add(*added)
        return {
            "rows": rows,
            "revisions": logged,
            "sources": sorted(sources),
            "tags": tags,
            "keeper": [str(keeper.pk), added],
        }

    def before_delete(self, duplicate: models.Model) -> None:
        keep_file(duplicate.file)

    # --- undo ----------------------------------------------------------------------------------

    def undo_problems(self, data: dict[str, Any]) -> list[str]:
        problems = []
        for change in data["rows"]:
            row = apps.get_model(change["model"])._base_manager.filter(pk=change["pk"]).first()
            where = f"{change['model']} {change['pk']}.{change['field']}"
            if row is None:
                problems.append(f"{where}: the row was deleted since the merge")
            elif _raw(row, change["field"]) != change["new"]:
                problems.append(f"{where}: edited since the merge")
        for change in data["revisions"]:
            current = Revision.objects.filter(pk=change["pk"]).values_list("content", flat=True)
            if list(current) != [change["new"]]:
                problems.append(f"revision {change['pk']}: changed or deleted since the merge")
        problems += [p for p in map(lock_problem, _objects(set(map(tuple, data["sources"])))) if p]
        return problems

    def undo(self, data: dict[str, Any]) -> None:
        for change in data["rows"]:
            _write(change, "old")
        for change in data["revisions"]:
            Revision.objects.filter(pk=change["pk"]).update(content=change["old"])
        reindex({(label, pk) for label, pk in data["sources"]})
        model = get_image_model()
        keeper_pk, added = data["keeper"]
        model.objects.get(pk=keeper_pk).tags.remove(*added)
        for image in model.objects.filter(pk__in=list(data["tags"])):
            image.tags.add(*data["tags"][str(image.pk)])  # restored rows come back untagged
            insert_or_update_object(image)  # restored with raw saves: no index signals ran
            ReferenceIndex.create_or_update_for_object(image)


def _object(label: str, pk: str) -> models.Model | None:
    return apps.get_model(label)._base_manager.filter(pk=pk).first()


def _objects(sources: set[Source]) -> Iterator[models.Model]:
    for label, pk in sorted(sources):
        obj = _object(label, pk)
        if obj is not None:
            yield obj


def _rows(obj: models.Model) -> Iterator[models.Model]:
    """``obj`` and its child rows (inline panels), at any depth."""
    yield obj
    for relation in get_all_child_relations(type(obj)):
        for child in getattr(obj, relation.get_accessor_name()).all():
            yield from _rows(child)


def _raw(row: models.Model, field_name: str) -> Any:
    field = row._meta.get_field(field_name)
    return content.field_raw(field, getattr(row, field.attname))


def _rewrite_row(
    row: models.Model, model: type[models.Model], mapping: dict[Any, Any]
) -> Iterator[dict[str, Any]]:
    for field in content.content_fields(type(row)):
        old = _raw(row, field.name)
        new = content.field_value(field, old, model, mapping)
        if new != old:
            yield {
                "model": row._meta.label_lower,
                "pk": row.pk,
                "field": field.name,
                "old": old,
                "new": new,
            }


def _write(change: dict[str, Any], which: str) -> None:
    model = apps.get_model(change["model"])
    model._base_manager.filter(pk=change["pk"]).update(**{change["field"]: change[which]})


def reindex(sources: set[Source]) -> None:
    """Refresh the reference index of each source (its rows were changed with ``update()``)."""
    for obj in _objects(sources):
        ReferenceIndex.create_or_update_for_object(obj)
