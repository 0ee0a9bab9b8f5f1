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


def genericforeign_keys() -> Iterator[tuple[type[models.Model], GenericForeignKey]]:
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


@dataclass
class Case:
    """One merge to plan: its keeper and duplicates (objects of one concrete model); the
    references and problems are filled by :func:`find_references`."""

    keeper: models.Model
    duplicates: list[models.Model]
    keeper_label: str
    references: list[Reference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


CHUNK = 2000
"""Most values in one ``IN (...)`` list (SQLite caps the parameters of a statement)."""


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _rows_of(
    queryset: models.QuerySet, field_attname: str, owner: dict[Any, int]
) -> dict[int, list[tuple[Any, Any]]]:
    """Case index -> (row pk, value) of the rows whose ``field_attname`` is a key of ``owner``."""
    found: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for values in _chunks(list(owner)):
        rows = queryset.filter(**{f"{field_attname}__in": values}).values_list("pk", field_attname)
        for pk, value in rows:
            found[owner[value]].append((pk, value))
    for rows in found.values():
        rows.sort(key=lambda row: row[0])
    return found


def collisions(
    ref: Reference,
    constraint: str,
    keys: dict[Any, tuple[Any, ...]],
    keeper_rows: list[Any],
    keeper_label: str,
) -> str | None:
    """Rows of ``ref`` that would collide on one unique constraint once re-pointed (``keys``:
    row pk -> the constraint's other columns). M2M collisions become drops (the keeper has the
    link); for other kinds the collision is returned as a problem."""
    seen: dict[tuple[Any, ...], Any] = {keys[pk]: pk for pk in keeper_rows if pk in keys}
    colliding: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for pk, _old in ref.moves:
        key = keys.get(pk)
        if key is None or None in key:  # NULLs never collide
            continue
        if key in seen:
            colliding[key].append(pk)
        else:
            seen[key] = pk
    if not colliding:
        return None
    clashing = {pk for pks in colliding.values() for pk in pks}
    if ref.kind == "m2m":
        ref.drops.extend((pk, old) for pk, old in ref.moves if pk in clashing)
        ref.moves = [(pk, old) for pk, old in ref.moves if pk not in clashing]
        return None
    pairs = ", ".join(f"{pk} with {seen[key]}" for key, pks in colliding.items() for pk in pks)
    what = "one-to-one" if ref.kind == "o2o" else f"unique constraint {constraint!r}"
    return (
        f"{ref.label} ({what}): re-pointing onto the keeper ({keeper_label}) would make "
        f"{ref.model._meta.label} rows collide (row pks {pairs})"
    )


def _add_references(
    cases: list[Case],
    model: type[models.Model],
    field_attname: str,
    kind: str,
    moves: dict[int, list[tuple[Any, Any]]],
    keepers: dict[Any, int],
    extra: dict[str, Any],
    ct_field: str = "",
) -> None:
    """Add one relation's references to the cases, with the unique-constraint checks: a query
    for the keepers' rows and one per constraint, for all cases together."""
    refs = {
        i: Reference(model, field_attname, kind, rows, content_type_field=ct_field)
        for i, rows in moves.items()
    }
    constraints = [(n, a) for n, a in unique_sets(model) if field_attname in a]
    keeper_rows: dict[int, list[Any]] = defaultdict(list)
    if constraints:
        for i, rows in _rows_of(
            model._base_manager.filter(**extra), field_attname, keepers
        ).items():
            keeper_rows[i] = [pk for pk, _ in rows]
    for name, attnames in constraints:
        others = [a for a in attnames if a != field_attname]
        pks = [
            pk for i, ref in refs.items() for pk in (*keeper_rows[i], *(p for p, _ in ref.moves))
        ]
        keys: dict[Any, tuple[Any, ...]] = {}
        for chunk in _chunks(pks):
            rows = model._base_manager.filter(pk__in=chunk, **extra).values_list("pk", *others)
            keys.update((row[0], tuple(row[1:])) for row in rows)
        for i, ref in refs.items():
            problem = collisions(ref, name, keys, keeper_rows[i], cases[i].keeper_label)
            if problem:
                cases[i].problems.append(problem)
    for i, ref in refs.items():
        cases[i].references.append(ref)


def find_references(concrete: type[models.Model], cases: list[Case], skip_duplicates: bool) -> None:
    """Fill each case's references (forward FK, O2O, M2M links, GFK rows pointing at its
    duplicates) and problems, a few queries per relation for all cases together. Cases must not
    share objects (members of open groups never do)."""
    all_duplicates = [d.pk for case in cases for d in case.duplicates]
    for model, fk in foreign_keys(concrete):
        target = fk.target_field.attname
        owner = {getattr(d, target): i for i, case in enumerate(cases) for d in case.duplicates}
        rows = model._base_manager.all()
        if model is concrete and skip_duplicates:  # deleted with them, no need to re-point
            rows = rows.exclude(pk__in=all_duplicates)
        moves = _rows_of(rows, fk.attname, owner)
        if fk.remote_field.parent_link:
            for i in moves:
                pks = [d.pk for d in cases[i].duplicates]
                cases[i].problems.append(
                    f"{describe(concrete, pks)} has a multi-table child row in "
                    f"{model._meta.label}: merge the child objects instead"
                )
            continue
        if moves:
            kind = "m2m" if model._meta.auto_created else "o2o" if fk.one_to_one else "fk"
            keepers = {getattr(cases[i].keeper, target): i for i in moves}
            _add_references(cases, model, fk.attname, kind, moves, keepers, {})
    ct_ids = content_type_ids(concrete)
    for model, gfk in genericforeign_keys():
        if rewriters.left_alone(concrete, model, gfk):
            continue
        ct_field = model._meta.get_field(gfk.ct_field)
        fk_field = model._meta.get_field(gfk.fk_field)
        try:
            owner = {
                fk_field.to_python(d.pk): i for i, case in enumerate(cases) for d in case.duplicates
            }
            keepers = {fk_field.to_python(case.keeper.pk): i for i, case in enumerate(cases)}
        except ValidationError:  # an object-id field that cannot hold this model's keys
            continue
        by_ct = {f"{ct_field.attname}__in": ct_ids}
        moves = _rows_of(model._base_manager.filter(**by_ct), fk_field.attname, owner)
        if moves:
            keepers = {value: i for value, i in keepers.items() if i in moves}
            _add_references(
                cases, model, fk_field.attname, "gfk", moves, keepers, by_ct, ct_field.attname
            )
