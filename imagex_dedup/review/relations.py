"""Find every row that refers to some host objects, and what re-pointing it would break.

References are found in every installed model (except imagex_dedup's own records):

* forward ``ForeignKey`` / ``OneToOneField`` whose target is the host's concrete model; the FKs of
  auto-created many-to-many through tables are the M2M links (kind ``"m2m"``);
* ``GenericForeignKey`` rows whose content type is the host model or one of its proxies.

(Generic) foreign keys a reference rewriter owns (:mod:`imagex_dedup.review.rewriters`) are
left to it.

Before anything moves, every unconditional unique constraint that includes the reference field is
checked: re-pointed rows that would collide with each other or with the keeper's rows are a
conflict, except M2M links, where the duplicate link is dropped instead (the keeper has it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from imagex_dedup.review import rewriters

OWN_APP = "imagex_dedup"


@dataclass
class Reference:
    """Rows of one model that point at the duplicates through one field."""

    model: type[models.Model]
    field: str  # attname of the FK / of the GFK's object-id field
    kind: str  # "fk" | "o2o" | "m2m" | "gfk"
    moves: list[tuple[Any, Any]] = field(default_factory=list)  # (row pk, old target value)
    drops: list[tuple[Any, Any]] = field(default_factory=list)  # m2m rows the keeper already has
    content_type_field: str = ""  # GFK only: attname of the content-type field

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


def describe(model: type[models.Model], pks: Iterable[Any]) -> str:
    return f"{model._meta.label} {', '.join(str(pk) for pk in pks)}"


def candidate_models() -> Iterator[type[models.Model]]:
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if not (opts.proxy or opts.swapped) and opts.app_label != OWN_APP:
            yield model


def foreign_keys(concrete: type[models.Model]) -> Iterator[tuple[type[models.Model], Any]]:
    for model in candidate_models():
        for f in model._meta.local_fields:
            if (
                isinstance(f, models.ForeignKey)
                and f.remote_field.model._meta.concrete_model is concrete
                and not rewriters.left_alone(concrete, model, f)  # a rewriter owns it
            ):
                yield model, f


def _genericforeign_keys() -> Iterator[tuple[type[models.Model], GenericForeignKey]]:
    for model in candidate_models():
        for f in model._meta.private_fields:
            if isinstance(f, GenericForeignKey):
                yield model, f


def content_type_ids(concrete: type[models.Model]) -> list[int]:
    """The content types of ``concrete`` and its proxies (GFKs may store either)."""
    family = [m for m in apps.get_models() if m._meta.concrete_model is concrete]
    cts = ContentType.objects.get_for_models(*family, for_concrete_models=False)
    return sorted(ct.pk for ct in cts.values())


def unique_sets(model: type[models.Model]) -> list[tuple[str, tuple[str, ...]]]:
    """(name, attnames) of every unconditional unique constraint of ``model``."""
    opts = model._meta
    sets = [(f"{f.name} unique", (f.attname,)) for f in opts.local_fields if f.unique]
    for names in opts.unique_together:
        sets.append(("unique_together", tuple(opts.get_field(n).attname for n in names)))
    for constraint in opts.total_unique_constraints:
        attnames = tuple(opts.get_field(n).attname for n in constraint.fields)
        sets.append((constraint.name, attnames))
    return sets


def check_unique(
    ref: Reference, keeper_value: Any, keeper_rows: list[Any], extra: dict[str, Any]
) -> list[str]:
    """Find rows that would collide once re-pointed; m2m collisions become drops instead."""
    problems: list[str] = []
    moving = [pk for pk, _ in ref.moves]
    for name, attnames in unique_sets(ref.model):
        if ref.field not in attnames:
            continue
        others = [a for a in attnames if a != ref.field]
        rows = ref.model._base_manager.filter(pk__in=[*keeper_rows, *moving], **extra)
        keys = {row[0]: tuple(row[1:]) for row in rows.values_list("pk", *others)}
        seen: dict[tuple[Any, ...], Any] = {keys[pk]: pk for pk in keeper_rows if pk in keys}
        colliding: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for pk in moving:
            key = keys.get(pk)
            if key is None or None in key:  # NULLs never collide
                continue
            if key in seen:
                colliding[key].append(pk)
            else:
                seen[key] = pk
        if not colliding:
            continue
        clashing = sorted({pk for pks in colliding.values() for pk in pks}, key=str)
        if ref.kind == "m2m":
            ref.drops.extend((pk, old) for pk, old in ref.moves if pk in clashing)
            ref.moves = [(pk, old) for pk, old in ref.moves if pk not in clashing]
            continue
        pairs = ", ".join(f"{pk} with {seen[key]}" for key, pks in colliding.items() for pk in pks)
        what = "one-to-one" if ref.kind == "o2o" else f"unique constraint {name!r}"
        problems.append(
            f"{ref.label} ({what}): re-pointing onto the keeper ({keeper_value}) would make "
            f"{ref.model._meta.label} rows collide ({pairs})"
        )
    return problems


def fk_references(
    concrete: type[models.Model],
    keeper: models.Model,
    duplicates: list[models.Model],
    skip_duplicates: bool,
) -> tuple[list[Reference], list[str]]:
    references: list[Reference] = []
    problems: list[str] = []
    for model, fk in foreign_keys(concrete):
        target = fk.target_field.attname
        old_values = [getattr(d, target) for d in duplicates]
        keeper_value = getattr(keeper, target)
        rows = model._base_manager.filter(**{f"{fk.attname}__in": old_values})
        if model is concrete and skip_duplicates:  # deleted with them, no need to re-point
            rows = rows.exclude(pk__in=[d.pk for d in duplicates])
        if fk.remote_field.parent_link:
            if rows.exists():
                problems.append(
                    f"{describe(concrete, [d.pk for d in duplicates])} has a multi-table child "
                    f"row in {model._meta.label}: merge the child objects instead"
                )
            continue
        moves = list(rows.order_by("pk").values_list("pk", fk.attname))
        if not moves:
            continue
        kind = "m2m" if model._meta.auto_created else "o2o" if fk.one_to_one else "fk"
        ref = Reference(model, fk.attname, kind, moves)
        keeper_rows = list(
            model._base_manager.filter(**{fk.attname: keeper_value}).values_list("pk", flat=True)
        )
        problems += check_unique(ref, keeper_value, keeper_rows, {})
        references.append(ref)
    return references, problems


def gfk_references(
    concrete: type[models.Model], keeper: models.Model, duplicates: list[models.Model]
) -> tuple[list[Reference], list[str]]:
    references: list[Reference] = []
    problems: list[str] = []
    ct_ids = content_type_ids(concrete)
    for model, gfk in _genericforeign_keys():
        if rewriters.left_alone(concrete, model, gfk):
            continue
        ct_field = model._meta.get_field(gfk.ct_field)
        fk_field = model._meta.get_field(gfk.fk_field)
        try:
            old_values = [fk_field.to_python(d.pk) for d in duplicates]
            keeper_value = fk_field.to_python(keeper.pk)
        except ValidationError:  # an object-id field that cannot hold this model's keys
            continue
        by_ct = {f"{ct_field.attname}__in": ct_ids}
        rows = model._base_manager.filter(**by_ct, **{f"{fk_field.attname}__in": old_values})
        moves = list(rows.order_by("pk").values_list("pk", fk_field.attname))
        if not moves:
            continue
        ref = Reference(model, fk_field.attname, "gfk", moves, content_type_field=ct_field.attname)
        keeper_rows = list(
            model._base_manager.filter(**by_ct, **{fk_field.attname: keeper_value}).values_list(
                "pk", flat=True
            )
        )
        problems += check_unique(ref, keeper_value, keeper_rows, by_ct)
        references.append(ref)
    return references, problems
