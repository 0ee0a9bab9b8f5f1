"""Turn detection results into ``DuplicateGroup`` records: the one way groups change.

Every backend ends here. The local backend and the callback view call :func:`apply_result` with a
``DetectionTask`` (kind ``check`` or ``remote``) and the backend's ``Result`` object
(``{"Groups": {"group0": [id, ...], ...}, "Score"?: "0.97"}``, the veImageX shape).

Mapping format in ``DetectionTask.request`` (what a backend stores when it builds the task)::

    {
        "Urls": ["https://cdn.example.com/a.jpg", ...],   # identifiers exactly as sent
        "Refs": {"https://cdn.example.com/a.jpg": "12:34:image", ...},
        "Subject": "12:34:image",                           # optional: the image being checked
        "Similarity": 0.84                                  # optional: threshold used
    }

``Refs`` maps each identifier sent to the backend (a URL, or any string the backend echoes back
in ``Groups``) to a host ref ``"<content_type_id>:<object_id>:<field_name>"``. Identifiers
without an entry are ignored. The local backend sends refs as identifiers (``{ref: ref}``).

Group semantics:

* every member of an open group is linked (scores >= the threshold) to the group's
  representative, its primary member; a backend group (or a subject and its matches) is
  *joined* under that rule (:func:`_place`): the subject goes to the open group whose
  representative it matches best, loose refs follow it when they match that representative,
  and two open groups are never merged through an image that matches both (no bridges);
* a pair a person dismissed (``DismissedPair``), or two members of one merged group (a merge
  that kept its duplicates), is never put in one open group again: refs and groups are added to
  the subject's cluster in order and skipped when they would bring such a pair together;
* each member's ``score`` is its similarity to the group's primary (computed from the stored
  fingerprints; otherwise the backend's ``Score`` for a pair, else the threshold, a lower bound);
  the primary of a new group is its oldest image linked to all the others (else the subject),
  unless someone chose a keeper (``is_primary`` is kept when groups grow);
* only ``open`` groups change: merged and dismissed groups are history and never reopened;
* removing a ref (its object was deleted, or its image changed) drops it from open groups; an
  open group left with fewer than two members is deleted, since it no longer says anything.

Concurrency: group changes run in ``locking.write_transaction()``. The fingerprint rows of the
refs involved are locked first (``select_for_update`` in primary-key order), then the open groups
involved, so two workers linking the same images run one after the other; on SQLite, which has no
row locks, the transaction holds the database write lock from its start instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any

from django.db import transaction
from django.utils import timezone

from imagex_dedup import engine
from imagex_dedup.conf import dedup_settings
from imagex_dedup.db import write_transaction
from imagex_dedup.index.refs import fingerprint_records, make_ref, parse_ref, ref_query
from imagex_dedup.models import (
    DetectionTask,
    DismissedPair,
    DuplicateGroup,
    DuplicateGroupMember,
    ImageFingerprint,
)
from imagex_dedup.signals import duplicates_found

logger = logging.getLogger(__name__)

Open = DuplicateGroup.Status.OPEN


def _lock_refs(refs: Sequence[str], *, create_missing: bool = True) -> dict[str, ImageFingerprint]:
    """Lock the fingerprint rows of ``refs``, creating empty placeholders for refs without one
    (refs known only to a remote backend) so that every ref has a row to lock."""
    records = fingerprint_records(refs)
    ids = sorted(record.pk for record in records.values())
    list(ImageFingerprint.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for ref in refs if create_missing else ():
        if ref not in records:
            content_type_id, object_id, field_name = parse_ref(ref)
            records[ref], _ = ImageFingerprint.objects.select_for_update().get_or_create(
                content_type_id=content_type_id, object_id=object_id, field_name=field_name
            )
    return records


def _open_members(refs: Iterable[str]) -> list[DuplicateGroupMember]:
    return list(DuplicateGroupMember.objects.filter(ref_query(refs), group__status=Open))


def _lock_groups(group_ids: Iterable[int]) -> list[DuplicateGroup]:
    return list(
        DuplicateGroup.objects.select_for_update()
        .filter(pk__in=set(group_ids), status=Open)
        .order_by("pk")
    )


def _never_together(refs: set[str]) -> set[tuple[str, str]]:
    """Ordered pairs among ``refs`` that must not share an open group: pairs a person dismissed,
    and members of one *merged* group (a merge with ``MERGE_DELETE_DUPLICATES = False`` keeps the
    duplicates; a later check must not put them up for review again; undo reopens the group)."""
    rows = DismissedPair.objects.filter(ref_a__in=refs, ref_b__in=refs)
    pairs = set(rows.values_list("ref_a", "ref_b"))
    merged: dict[int, set[str]] = {}
    members = DuplicateGroupMember.objects.filter(
        ref_query(refs), group__status=DuplicateGroup.Status.MERGED
    )
    for member in members:
        merged.setdefault(member.group_id, set()).add(member.ref)
    for group_refs in merged.values():
        pairs.update(DismissedPair.ordered(a, b) for a, b in combinations(group_refs, 2))
    return pairs


def _conflicts(unit: set[str], cluster: set[str], dismissed: set[tuple[str, str]]) -> bool:
    return any(DismissedPair.ordered(a, b) in dismissed for a in unit for b in cluster)


def _similarity(a: ImageFingerprint | None, b: ImageFingerprint | None) -> float | None:
    usable = [
        bytes(fp.fingerprint)
        for fp in (a, b)
        if fp is not None
        and fp.fingerprint
        and not fp.error
        and fp.fingerprint_version == engine.FINGERPRINT_VERSION
    ]
    return float(engine.compare(usable[0], usable[1])) if len(usable) == 2 else None


def _rescore(group: DuplicateGroup) -> None:
    """Score members against the group's primary wherever both fingerprints can be compared
    (other members keep the score they came with)."""
    members = list(group.members.select_related("fingerprint").order_by("added_at", "pk"))
    primary = next((member for member in members if member.is_primary), members[0])
    if not primary.is_primary:
        primary.is_primary = True
        primary.save(update_fields=["is_primary"])
    for member in members:
        computed = (
            1.0 if member.pk == primary.pk else _similarity(primary.fingerprint, member.fingerprint)
        )
        if computed is not None and member.score != round(computed, 6):
            member.score = round(computed, 6)
            member.save(update_fields=["score"])


def _notify(group: DuplicateGroup, created: bool, members: list[DuplicateGroupMember]) -> None:
    for receiver, response in duplicates_found.send_robust(
        sender=DuplicateGroup, group=group, created=created, members=members
    ):
        if isinstance(response, Exception):
            logger.error(
                "imagex_dedup: duplicates_found receiver %r failed: %r", receiver, response
            )


def _member(group: DuplicateGroup, ref: str, **fields: Any) -> DuplicateGroupMember:
    content_type_id, object_id, field_name = parse_ref(ref)
    return DuplicateGroupMember(
        group=group,
        content_type_id=content_type_id,
        object_id=object_id,
        field_name=field_name,
        **fields,
    )


@dataclass(frozen=True)
class _Placement:
    """Where a join puts things: an existing open group (``group``) or a new one, which refs
    join it, and the representative of a new group."""

    group: int | None
    joining: list[str]
    representative: str


class _Links:
    """Whether two refs are linked (score >= the threshold), from their stored fingerprints.

    Refs without a usable fingerprint (known only to a remote backend) are taken as linked
    to what the backend grouped them with: there is nothing to check its answer against.
    """

    def __init__(self, records: dict[str, ImageFingerprint], similarity: float) -> None:
        self.records = records
        self.similarity = similarity

    def score(self, a: str, b: str) -> float | None:
        return _similarity(self.records.get(a), self.records.get(b))

    def __call__(self, a: str, b: str) -> bool:
        score = self.score(a, b)
        return score is None or score >= self.similarity


def _place(
    refs: list[str],
    by_group: dict[int, set[str]],
    primaries: dict[int, str],
    dismissed: set[tuple[str, str]],
    links: _Links,
) -> _Placement | None:
    """Where ``refs[0]`` (the subject) and the other refs go: the representative rule.

    Every member of a group is linked to the group's representative (its primary); nothing
    joins through another member (no bridges), and two open groups are never merged:

    * a subject already in an open group stays there;
    * otherwise it joins the open group, among those holding one of ``refs``, whose
      representative it scores highest with, if that reaches the threshold (ties: the oldest
      group) — ``engine.assign``'s rule;
    * otherwise it starts a group with the loose refs it is linked to; the representative is the
      oldest of them linked to all the others (else the subject);
    * loose refs (in no open group) join the subject's group when linked to its representative;
      refs in other open groups stay where they are;
    * a dismissed pair is never put together.
    """
    subject, others = refs[0], refs[1:]
    group_of = {ref: pk for pk, members in by_group.items() for ref in members}
    loose = [ref for ref in others if ref not in group_of]
    target = group_of.get(subject)
    if target is None:
        candidates = sorted({group_of[ref] for ref in others if ref in group_of})
        scored = [
            (links.score(subject, primaries[pk]), pk)
            for pk in candidates
            if links(subject, primaries[pk]) and not _conflicts({subject}, by_group[pk], dismissed)
        ]
        if scored:
            target = max(scored, key=lambda item: (item[0] or 0.0, -item[1]))[1]
    if target is not None:
        representative = primaries[target]
        cluster = set(by_group[target]) | {subject}
        joining = [] if subject in by_group[target] else [subject]
    else:
        representative, cluster, joining = subject, {subject}, [subject]
    for ref in loose:
        if links(ref, representative) and not _conflicts({ref}, cluster, dismissed):
            cluster.add(ref)
            joining.append(ref)
    if target is None:
        if len(joining) < 2:
            return None
        representative = next(
            (
                ref
                for ref in sorted(joining, key=lambda ref: links.records[ref].pk)
                if all(links(ref, other) for other in joining if other != ref)
            ),
            subject,
        )
    elif not joining:
        return _Placement(target, [], representative)
    return _Placement(target, joining, representative)


def _relink_fingerprints(group: DuplicateGroup, records: dict[str, ImageFingerprint]) -> int:
    """Point members that lost their fingerprint record (it was deleted and made again, e.g. by a
    re-check) at the current one, so their sizes and scores are known again."""
    relinked = 0
    for member in group.members.filter(fingerprint__isnull=True):
        record = records.get(member.ref)
        if record is not None and record.pk is not None:
            member.fingerprint = record
            member.save(update_fields=["fingerprint"])
            relinked += 1
    return relinked


def join(
    refs: Sequence[str],
    *,
    similarity: float,
    backend: str,
    scores: dict[str, float] | None = None,
    fallback_score: float | None = None,
) -> DuplicateGroup | None:
    """Put ``refs`` (``refs[0]`` first: the subject) into one open group, as far as allowed.

    ``scores`` are known similarities to ``refs[0]`` and ``fallback_score`` (default: the
    threshold) the score of a new member otherwise; both are replaced by scores computed from
    fingerprints whenever possible. Returns the open group holding ``refs[0]``, or ``None``.
    """
    refs = list(dict.fromkeys(refs))
    if len(refs) < 2:
        return None
    with write_transaction():
        records = _lock_refs(refs)
        groups = {
            group.pk: group
            for group in _lock_groups(member.group_id for member in _open_members(refs))
        }
        by_group: dict[int, set[str]] = {pk: set() for pk in groups}
        primaries: dict[int, str] = {}
        for member in DuplicateGroupMember.objects.filter(group__in=groups.values()):
            by_group[member.group_id].add(member.ref)
            if member.is_primary:
                primaries[member.group_id] = member.ref
        # Representatives outside ``refs`` are compared too: read their fingerprints.
        records.update(fingerprint_records(set(primaries.values()) - set(records)))
        dismissed = _never_together(set(refs).union(*by_group.values()))
        placement = _place(refs, by_group, primaries, dismissed, _Links(records, similarity))
        if placement is None:
            return None

        created = placement.group is None
        primary = placement.representative
        if created:
            target = DuplicateGroup.objects.create(similarity=similarity, backend=backend)
        else:
            target = groups[placement.group]
        fallback = similarity if fallback_score is None else fallback_score
        # Known scores are against refs[0]; against the primary they hold for refs[0] only.
        given = {**(scores or {}), refs[0]: (scores or {}).get(primary, fallback), primary: 1.0}
        new_members = [
            _member(
                target,
                ref,
                fingerprint=records.get(ref),
                score=given.get(ref, fallback),
                is_primary=created and ref == primary,
            )
            for ref in placement.joining
        ]
        DuplicateGroupMember.objects.bulk_create(new_members)
        relinked = _relink_fingerprints(target, records)
        if new_members or relinked:
            target.save(update_fields=["updated_at"])
            _rescore(target)
        if new_members:
            transaction.on_commit(partial(_notify, target, created, new_members))
        return target


def link(
    ref_record: ImageFingerprint,
    matches: list[tuple[ImageFingerprint, float]],
    *,
    similarity: float,
    backend: str,
) -> DuplicateGroup | None:
    """Group a checked image with its matches (``index.find_matches`` output)."""
    return join(
        [ref_record.ref, *(record.ref for record, _ in matches)],
        similarity=similarity,
        backend=backend,
        scores={record.ref: score for record, score in matches},
    )


def _pair_score(result: dict[str, Any]) -> float | None:
    try:
        return float(result["Score"])
    except (KeyError, TypeError, ValueError):
        return None


def apply_result(task: DetectionTask, result: dict[str, Any]) -> list[DuplicateGroup]:
    """Apply a backend ``Result`` to the groups and mark ``task`` successful.

    See the module docstring for the ``task.request`` mapping. Returns the open groups touched.
    Service tasks answer other clients and never change this site's groups: ``ValueError``.
    """
    if task.kind == DetectionTask.Kind.SERVICE:
        raise ValueError(f"task {task.task_id} is a service request, not a check of host images")
    request = task.request or {}
    refs_of: dict[str, str] = request.get("Refs") or {}
    subject = request.get("Subject")
    similarity = float(request.get("Similarity") or dedup_settings.similarity)
    pair_score = _pair_score(result)
    touched: list[DuplicateGroup] = []
    with write_transaction():
        groups = result.get("Groups") or {}
        for name, identifiers in sorted(groups.items(), key=lambda item: (len(item[0]), item[0])):
            unknown = [i for i in identifiers if i not in refs_of]
            if unknown:
                logger.warning("imagex_dedup: task %s, %s: unknown ids %r", task, name, unknown)
            refs = list(dict.fromkeys(refs_of[i] for i in identifiers if i in refs_of))
            if subject in refs:
                refs.remove(subject)
                refs.insert(0, subject)
            group = join(
                refs,
                similarity=similarity,
                backend=task.backend,
                fallback_score=pair_score if len(refs) == 2 else None,
            )
            if group is not None and group not in touched:
                touched.append(group)
        task.result = result
        task.status = DetectionTask.Status.SUCCESS
        task.error = ""
        task.finished_at = timezone.now()
        task.save(update_fields=["result", "status", "error", "finished_at"])
    return touched


def remove_ref(ref: str) -> None:
    """Drop ``ref`` from its open groups; delete groups left with fewer than two members."""
    with write_transaction():
        _lock_refs([ref], create_missing=False)
        members = _open_members([ref])
        for group in _lock_groups(member.group_id for member in members):
            group.members.filter(ref_query([ref])).delete()
            remaining = list(group.members.order_by("added_at", "pk"))
            if len(remaining) < 2:
                group.delete()
            elif not any(member.is_primary for member in remaining):
                _rescore(group)


def dismiss_pairs(refs: Iterable[str], *, user: Any = None) -> int:
    """Remember that no two of ``refs`` are duplicates; returns the number of pairs recorded.

    The caller (``merge.dismiss_group``) changes the group's status; this only stores the pairs
    that :func:`join` will respect from now on.
    """
    pairs = {DismissedPair.ordered(a, b) for a, b in combinations(set(refs), 2) if a != b}
    rows = [DismissedPair(ref_a=a, ref_b=b, created_by=user) for a, b in sorted(pairs)]
    return len(DismissedPair.objects.bulk_create(rows, ignore_conflicts=True))


def forget(content_type_id: int, object_id: str, field_name: str) -> None:
    """Drop a host image from open groups and delete its fingerprint (its object is gone)."""
    with write_transaction():
        remove_ref(make_ref(content_type_id, object_id, field_name))
        ImageFingerprint.objects.filter(
            content_type_id=content_type_id, object_id=object_id, field_name=field_name
        ).delete()
