"""What the review page and the review queue show about each member of a group.

One card per member: its picture, its name and admin link, its file's facts (dimensions, size,
format, EXIF date and camera, JPEG quality) with the ones that differ from the keeper marked, its
similarity to the keeper, and where it is used. A merged group's cards show the kept object and
the removed ones as the merge log recorded them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.core import serializers
from django.db import models
from django.utils.translation import ngettext

from imagex_dedup import engine
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, ImageFingerprint, MergeLog
from imagex_dedup.review import rewriters
from imagex_dedup.review.history import merge_in_effect, removed_objects, removed_records
from imagex_dedup.review.keeper import choose_keeper, get_keeper_rule, keeper_reason, pixels
from imagex_dedup.review.keeper import default_keeper_rule as default_rule
from imagex_dedup.review.pictures import PictureFacts, members_facts
from imagex_dedup.review.thumbnails import member_file, thumbnail_url
from imagex_dedup.review.usage import (
    SHOWN,
    Usage,
    admin_url,
    referrers,
    relation_label,
    usage_of,
)

COMPARED = ("dimensions", "byte_size", "format", "taken", "camera", "quality")


@dataclass
class Card:
    member: DuplicateGroupMember
    title: str
    object: models.Model | None
    admin_url: str | None
    thumb_url: str | None
    preview_url: str | None
    record: ImageFingerprint | None
    facts: PictureFacts
    state: str  # "keeper" (the rule's pick), "kept", "removed", "gone" or ""
    score_to_keeper: float | None = None
    usages: list[Usage] = field(default_factory=list)
    differs: set[str] = field(default_factory=set)

    @property
    def values(self) -> dict[str, Any]:
        fp = self.record
        return {
            "dimensions": (fp.width, fp.height) if fp and fp.width else None,
            "byte_size": fp.byte_size if fp else None,
            "format": fp.format if fp else "",
            "taken": self.facts.taken,
            "camera": self.facts.camera,
            "quality": self.facts.quality,
        }

    @property
    def width(self) -> int | None:
        return self.record.width if self.record else None

    @property
    def height(self) -> int | None:
        return self.record.height if self.record else None

    @property
    def usage_count(self) -> int:
        return sum(u.count for u in self.usages)


@dataclass
class Review:
    group: DuplicateGroup
    cards: list[Card]
    keeper: DuplicateGroupMember | None
    keeper_reason: str
    log: Any
    title: str


def group_title(group: DuplicateGroup, members: list[DuplicateGroupMember] | None = None) -> str:
    """A group named by its largest existing picture: "“Frangipani” and 2 similar images"
    (``members``: the group's, already loaded with their objects and fingerprints)."""
    members = list(group.members.all()) if members is None else members
    existing = [m for m in members if m.content_object is not None]
    if not existing:
        return str(group)
    named = min(existing, key=lambda m: -pixels(m))  # the largest: usually the keeper
    others = len(members) - 1
    return ngettext(
        "“%(name)s” and %(n)d similar image", "“%(name)s” and %(n)d similar images", others
    ) % {"name": named.content_object, "n": others}


@dataclass
class Tile:
    """A small picture with its name, for confirmation pages."""

    title: str
    thumb_url: str | None
    admin_url: str | None


def tile(member: DuplicateGroupMember, obj: models.Model | None, site: admin.AdminSite) -> Tile:
    has_file = obj is not None and member_file(member) is not None
    return Tile(
        str(obj) if obj is not None else str(member),
        thumbnail_url(member) if has_file else None,
        admin_url(obj, site) if obj is not None else None,
    )


def _score_to(keeper: Card | None, cards: list[Card]) -> None:
    raw = _fingerprint(keeper.record) if keeper else None
    if raw is None:
        return
    others = [(card, fp) for card in cards if (fp := _fingerprint(card.record)) is not None]
    scores = engine.compare_many(raw, [fp for _, fp in others]) if others else []
    for (card, _), score in zip(others, scores, strict=True):
        card.score_to_keeper = None if card is keeper else round(float(score), 3)


def _fingerprint(record: ImageFingerprint | None) -> bytes | None:
    if record is None or not record.fingerprint or record.error:
        return None
    if record.fingerprint_version != engine.FINGERPRINT_VERSION:
        return None
    return bytes(record.fingerprint)


def build_review(group: DuplicateGroup, site: admin.AdminSite) -> Review:
    """Every card of ``group``, in the group's member order, keeper marked."""
    members = list(
        group.members.select_related("content_type", "fingerprint").prefetch_related(
            "content_object"
        )
    )
    for member in members:
        member.group = group  # one instance: its merge history is read once
    keeper = reason = None
    log = merge_in_effect(group)
    removed = removed_objects(group)
    records = removed_records(group)
    if group.status == DuplicateGroup.Status.OPEN:
        try:
            keeper = choose_keeper(group)
        except (DuplicateGroupMember.DoesNotExist, ValueError):
            keeper = None
        if keeper is not None and get_keeper_rule() is default_rule:
            existing = [m for m in members if m.content_object is not None]
            reason = keeper_reason(existing, next(m for m in existing if m.pk == keeper.pk))
    elif log is not None:
        keeper = next(
            (
                m
                for m in members
                if m.content_type_id == log.keeper_content_type_id
                and m.object_id == log.keeper_object_id
            ),
            None,
        )
    cards = []
    facts = members_facts(members)
    for member in members:
        obj = member.content_object
        record = member.fingerprint or records.get(member.object_id)
        if keeper is not None and member.pk == keeper.pk:
            state = "keeper" if group.status == DuplicateGroup.Status.OPEN else "kept"
        elif obj is None:
            state = "removed" if member.object_id in removed else "gone"
        else:
            state = ""
        has_file = member_file(member) is not None
        shown = obj if obj is not None else removed.get(member.object_id)
        cards.append(
            Card(
                member=member,
                title=str(shown) if shown is not None else str(member),
                object=obj,
                admin_url=admin_url(obj, site) if obj is not None else None,
                thumb_url=thumbnail_url(member) if has_file else None,
                preview_url=thumbnail_url(member, "preview") if has_file else None,
                record=record,
                facts=facts[member.pk],
                state=state,
            )
        )
    by_model: dict[type[models.Model], list[Card]] = defaultdict(list)
    for card in cards:
        if card.object is not None:
            by_model[type(card.object)._meta.concrete_model].append(card)
    for same_model in by_model.values():
        usages = usage_of([card.object for card in same_model], site)
        for card in same_model:
            card.usages = usages.get(card.object.pk, [])
    keeper_card = next((c for c in cards if c.state in {"keeper", "kept"}), None)
    _score_to(keeper_card, cards)
    if keeper_card is not None:
        for card in cards:
            if card is not keeper_card:
                card.differs = {
                    name
                    for name in COMPARED
                    if card.values[name] != keeper_card.values[name]
                    and (card.values[name] or keeper_card.values[name])
                }
    return Review(group, cards, keeper, reason or "", log, group_title(group, members))


@dataclass
class LogChange:
    """One relation a merge changed: the rows it moved (named) and the links it dropped."""

    usage: Usage
    dropped: int


@dataclass
class LogSummary:
    log: MergeLog
    group: DuplicateGroup | None
    title: str
    keeper: Tile | None
    removed: list[Tile]
    changes: list[LogChange]

    @property
    def moved_count(self) -> int:
        return sum(c.usage.count for c in self.changes)

    @property
    def dropped_count(self) -> int:
        return sum(c.dropped for c in self.changes)


def summarize_log(log: MergeLog, site: admin.AdminSite) -> LogSummary:
    """A merge log in words: the kept object, the removed ones, the references it moved."""
    group = log.group
    members: dict[str, DuplicateGroupMember] = {}
    if group is not None:
        for member in group.members.select_related("content_type"):
            member.group = group
            members[member.object_id] = member
    ct = log.keeper_content_type
    keeper_obj = ct.model_class()._base_manager.filter(pk=log.keeper_object_id).first()
    keeper_member = members.get(log.keeper_object_id)
    keeper = tile(keeper_member, keeper_obj, site) if keeper_member else None
    removed = []
    for item in serializers.deserialize("python", log.duplicates, ignorenonexistent=True):
        obj = item.object
        current = type(obj)._base_manager.filter(pk=obj.pk).first()
        member = members.get(str(obj.pk))
        shown = current or obj
        removed.append(
            Tile(
                str(shown),
                thumbnail_url(member) if member and member_file(member) else None,
                admin_url(current, site) if current is not None else None,
            )
        )
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for change in log.changes:
        if rewriters.is_rewriter_entry(change):  # references only a rewriter knows (Wagtail)
            continue
        grouped[(change["model"], change["field"], change["kind"])].append(change)
    changes = []
    for (label, field_name, kind), rows in grouped.items():
        model = apps.get_model(label)
        moved = [c["pk"] for c in rows if c["new"] is not None]
        usage = Usage(
            relation_label(model, field_name, kind),
            len(moved),
            referrers(model, field_name, kind, moved[:SHOWN], site),
        )
        changes.append(LogChange(usage, len(rows) - len(moved)))
    title = group_title(group) if group is not None else str(log)
    return LogSummary(log, group, title, keeper, removed, changes)
