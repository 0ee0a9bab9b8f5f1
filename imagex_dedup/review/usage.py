"""Where host objects are used, in words people recognise: "Album 'Mountains' (cover)".

A reference row is shown as the object a person knows: the row itself for a foreign key, one-to-one
or generic foreign key (an ``Album`` whose ``cover`` is the photo), and the object on the other
side for a many-to-many link row (the ``Album`` whose ``photos`` include it). Each object is named
by its own ``str()`` and linked to its admin change page when the admin has one.

Counts are exact; only the first :data:`SHOWN` objects of each relation are loaded and named, so a
photo used ten thousand times costs the same few queries as one used once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from imagex_dedup.review.relations import (
    Reference,
    content_type_ids,
    foreign_keys,
    genericforeign_keys,
)

SHOWN = 10


@dataclass
class Referrer:
    text: str
    url: str | None = None


@dataclass
class Usage:
    """One relation's references to one object: ``label`` ("Album · cover"), how many rows,
    and the first few referring objects."""

    label: str
    count: int
    referrers: list[Referrer] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.referrers)

    @property
    def html(self) -> str:
        """The referrers as links, comma-separated, "and N more" (made here: a page lists
        hundreds and the template language is slow at that)."""
        links = format_html_join(
            ", ",
            "{}",
            ((format_html('<a href="{}">{}</a>', r.url, r.text) if r.url else r.text,)
             for r in self.referrers),
        )  # fmt: skip
        if self.more:
            links = format_html("{} {}", links, _("and %d more") % self.more)
        return links


def admin_url(obj: models.Model, site: admin.AdminSite | None = None) -> str | None:
    """The admin change page of ``obj`` on ``site`` (default ``admin.site``), if it has one."""
    pattern = _change_url_pattern(type(obj), site or admin.site)
    return pattern.replace(_PK, quote(str(obj.pk))) if pattern else None


_PK = "__pk__"


def _change_url_pattern(model: type[models.Model], site: admin.AdminSite) -> str | None:
    """The model's change URL with a placeholder for the pk: one ``reverse`` per page instead of
    one per object (pages name hundreds of objects)."""
    if not site.is_registered(model):
        return None
    opts = model._meta
    try:
        return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[_PK])
    except NoReverseMatch:
        return None


def _m2m_sides(through: type[models.Model], field_attname: str) -> tuple[Any, str]:
    """For an auto-created through model: (the FK to the other side, the M2M field's name)."""
    other = next(
        f
        for f in through._meta.local_fields
        if isinstance(f, models.ForeignKey) and f.attname != field_attname
    )
    owner = through._meta.auto_created
    m2m = next(
        (f.name for f in owner._meta.local_many_to_many if f.remote_field.through is through),
        through._meta.model_name,
    )
    return other, m2m


def relation_label(model: type[models.Model], field_attname: str, kind: str) -> str:
    """How a relation reads on a page: "Album · cover", "Album · photos", "Comment · target"."""
    if kind == "m2m":
        other, m2m = _m2m_sides(model, field_attname)
        return f"{other.related_model._meta.verbose_name.capitalize()} · {m2m}"
    opts = model._meta
    if kind == "gfk":
        gfk = next(
            (f for f in opts.private_fields if getattr(f, "fk_field", None) == field_attname), None
        )
        name = gfk.name if gfk else field_attname
    else:
        name = next(f.name for f in opts.local_fields if f.attname == field_attname)
    return f"{opts.verbose_name.capitalize()} · {name}"


def referrers_by_row(
    model: type[models.Model],
    field_attname: str,
    kind: str,
    row_pks: Sequence[Any],
    site: admin.AdminSite | None = None,
) -> dict[Any, Referrer]:
    """Reference row pk -> the object behind it, named and linked (one or two queries)."""
    if not row_pks:
        return {}
    if kind == "m2m":
        other, _ = _m2m_sides(model, field_attname)
        targets = dict(model._base_manager.filter(pk__in=row_pks).values_list("pk", other.attname))
        objects = other.related_model._base_manager.in_bulk(set(targets.values()))
        found = {pk: objects.get(target) for pk, target in targets.items()}
    else:
        found = model._base_manager.in_bulk(list(row_pks))
    return {pk: Referrer(str(obj), admin_url(obj, site)) for pk, obj in found.items() if obj}


def referrers(
    model: type[models.Model],
    field_attname: str,
    kind: str,
    row_pks: Sequence[Any],
    site: admin.AdminSite | None = None,
) -> list[Referrer]:
    """The objects behind reference rows, named and linked, in row order."""
    named = referrers_by_row(model, field_attname, kind, row_pks, site)
    return [named[pk] for pk in row_pks if pk in named]


def reference_usage(
    ref: Reference, row_pks: Sequence[Any], site: admin.AdminSite | None = None
) -> Usage:
    """A planned merge's rows of one relation as a :class:`Usage`."""
    return Usage(
        relation_label(ref.model, ref.field, ref.kind),
        len(row_pks),
        referrers(ref.model, ref.field, ref.kind, list(row_pks)[:SHOWN], site),
    )


def _rows_by_target(
    queryset: models.QuerySet, field_attname: str, targets: Iterable[Any]
) -> dict[Any, list[Any]]:
    rows: dict[Any, list[Any]] = defaultdict(list)
    values = queryset.filter(**{f"{field_attname}__in": list(targets)}).order_by("pk")
    for pk, target in values.values_list("pk", field_attname).iterator(chunk_size=2000):
        rows[target].append(pk)
    return rows


def _usages(
    ref: Reference, rows: dict[Any, list[Any]], site: admin.AdminSite | None
) -> dict[Any, Usage]:
    """Target value -> the :class:`Usage` of its rows in one relation (objects named in bulk)."""
    shown = [pk for pks in rows.values() for pk in pks[:SHOWN]]
    named = referrers_by_row(ref.model, ref.field, ref.kind, shown, site)
    label = relation_label(ref.model, ref.field, ref.kind)
    return {
        value: Usage(label, len(pks), [named[pk] for pk in pks[:SHOWN] if pk in named])
        for value, pks in rows.items()
    }


def usage_of(
    objects: Sequence[models.Model], site: admin.AdminSite | None = None
) -> dict[Any, list[Usage]]:
    """Object pk -> its usages (relations with at least one row), for objects of one model.
    A few queries per relation, however many objects and rows."""
    if not objects:
        return {}
    concrete = type(objects[0])._meta.concrete_model
    result: dict[Any, list[Usage]] = {obj.pk: [] for obj in objects}
    for model, fk in foreign_keys(concrete):
        if fk.remote_field.parent_link:
            continue
        target = fk.target_field.attname
        by_value = {getattr(obj, target): obj.pk for obj in objects}
        rows = _rows_by_target(model._base_manager.all(), fk.attname, by_value)
        kind = "m2m" if model._meta.auto_created else "o2o" if fk.one_to_one else "fk"
        for value, usage in _usages(Reference(model, fk.attname, kind), rows, site).items():
            result[by_value[value]].append(usage)
    ct_ids = content_type_ids(concrete)
    for model, gfk in genericforeign_keys():
        ct_field = model._meta.get_field(gfk.ct_field).attname
        fk_field = model._meta.get_field(gfk.fk_field)
        try:
            by_value = {fk_field.to_python(obj.pk): obj.pk for obj in objects}
        except ValidationError:  # an object-id field that cannot hold this model's keys
            continue
        queryset = model._base_manager.filter(**{f"{ct_field}__in": ct_ids})
        rows = _rows_by_target(queryset, fk_field.attname, by_value)
        ref = Reference(model, fk_field.attname, "gfk")
        for value, usage in _usages(ref, rows, site).items():
            result[by_value[value]].append(usage)
    return result
