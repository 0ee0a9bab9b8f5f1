"""Merge a duplicate group into one keeper, undo a merge, dismiss a group.

``merge_group`` is the default ``MERGE_HANDLER``; the admin, the REST API and host code all call
the configured handler (``get_merge_handler()``), so one function does the work:

1. lock the group (``select_for_update``) and the host rows, plan the merge (:func:`plan_merge`);
2. refuse with :class:`MergeConflict` if the plan shows a conflict (a unique or one-to-one
   constraint the re-pointing would break, a multi-table child row) — nothing has changed yet;
3. re-point every reference to the duplicates onto the keeper: forward ``ForeignKey`` and
   ``OneToOneField`` of any installed model, many-to-many through rows (a link the keeper already
   has is dropped instead of duplicated), and ``GenericForeignKey`` rows of any installed model;
   then every reference rewriter of the model (:mod:`imagex_dedup.review.rewriters`) re-points
   the references only it knows (StreamField JSON, rich text, revisions);
4. delete the duplicates (``MERGE_DELETE_DUPLICATES``) or keep them; a deletion that is still
   blocked (``ProtectedError``) or any ``IntegrityError`` rolls everything back as MergeConflict;
5. write a :class:`~imagex_dedup.models.MergeLog` with every change and the duplicates' rows as
   serialized before the merge, so :func:`undo_merge` can put everything back.

Files are deleted only when ``MERGE_DELETE_FILES`` is set, and then only after the commit.
Signals (``pre_merge``, ``group_merged``, ``merge_undone``, ``group_dismissed``) are sent with
``send_robust``; the "after" ones fire once the transaction committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from imagex_dedup import signals
from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import (
    DismissedPair,
    DuplicateGroup,
    DuplicateGroupMember,
    ImageFingerprint,
    ImageFingerprintKey,
    MergeLog,
)
from imagex_dedup.review import rewriters
from imagex_dedup.review.keeper import choose_keeper, keeper_of
from imagex_dedup.review.relations import (
    Case,
    Reference,
    content_type_ids,
    describe,
    find_references,
)

logger = logging.getLogger(__name__)


class MergeConflict(Exception):
    """A merge or undo that cannot be done safely; nothing was changed.

    ``problems`` lists every reason (model, field and rows named); ``str(e)`` joins them.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


@dataclass
class MergePlan:
    """What merging ``group`` into ``keeper`` would change (shown on confirmation pages)."""

    group: DuplicateGroup
    keeper_member: DuplicateGroupMember
    keeper: models.Model
    duplicates: list[models.Model]
    references: list[Reference]
    conflicts: list[str]
    delete_duplicates: bool

    @property
    def moved_count(self) -> int:
        """Reference rows re-pointed onto the keeper."""
        return sum(len(r.moves) for r in self.references)

    @property
    def dropped_count(self) -> int:
        """Many-to-many links deleted because the keeper already has the same link."""
        return sum(len(r.drops) for r in self.references)

    @property
    def deleted_count(self) -> int:
        """Host rows the merge deletes (0 when ``MERGE_DELETE_DUPLICATES`` is off)."""
        return len(self.duplicates) if self.delete_duplicates else 0


def get_merge_handler() -> Callable[..., MergeLog]:
    """The configured ``MERGE_HANDLER`` (default :func:`merge_group`)."""
    return dedup_settings.load("MERGE_HANDLER")


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, int | str) else str(value)


# --- planning -----------------------------------------------------------------------------------


def _concrete_model(members: Sequence[DuplicateGroupMember]) -> type[models.Model]:
    classes = {m.content_type.model_class() for m in members}
    if None in classes:
        raise MergeConflict("A member's model is no longer installed: cannot merge")
    concretes = {c._meta.concrete_model for c in classes}
    if len(concretes) != 1:
        names = ", ".join(sorted(c._meta.label for c in concretes))
        raise MergeConflict(f"Members are objects of different models ({names}): cannot merge")
    return concretes.pop()


def _case(
    group: DuplicateGroup,
    members: Sequence[DuplicateGroupMember],
    keeper: DuplicateGroupMember,
    concrete: type[models.Model],
    objects: dict[Any, models.Model],
) -> Case:
    """The keeper's and the duplicates' objects of one group (``objects``: by pk, at least the
    group's), or :class:`MergeConflict` when there is nothing to merge."""
    pk_field = concrete._meta.pk
    keeper_obj = objects.get(pk_field.to_python(keeper.object_id))
    keeper_label = f"member {keeper.pk}, {concrete._meta.label} pk {keeper.object_id}"
    if keeper_obj is None:
        raise MergeConflict(f"The keeper ({keeper_label}) is gone")
    ids = sorted({pk_field.to_python(m.object_id) for m in members} - {keeper_obj.pk}, key=str)
    duplicates = [objects[pk] for pk in ids if pk in objects]
    if not duplicates:
        raise MergeConflict(f"Group {group.pk} has no other existing object to merge")
    return Case(keeper_obj, duplicates, keeper_label)


def _plan(group: DuplicateGroup, keeper: DuplicateGroupMember, case: Case) -> MergePlan:
    rewriter_problems = [
        problem
        for rewriter in rewriters.rewriters_for(type(case.keeper)._meta.concrete_model)
        for problem in rewriter.problems(case.keeper, case.duplicates)
    ]
    return MergePlan(
        group=group,
        keeper_member=keeper,
        keeper=case.keeper,
        duplicates=case.duplicates,
        references=case.references,
        conflicts=case.problems + rewriter_problems,
        delete_duplicates=dedup_settings.merge_delete_duplicates,
    )


def _check_open(group: DuplicateGroup) -> None:
    if group.status != DuplicateGroup.Status.OPEN:
        raise MergeConflict(f"Group {group.pk} is {group.get_status_display()}, not open")


def plan_merge(
    group: DuplicateGroup, keeper: DuplicateGroupMember | None = None, *, lock: bool = False
) -> MergePlan:
    """Work out what a merge would do, without changing anything.

    Raises :class:`MergeConflict` when the group cannot be merged at all (not open, members of
    different models, keeper not in the group or gone); other problems are in ``plan.conflicts``.
    """
    _check_open(group)
    members = list(group.members.select_related("content_type", "fingerprint"))
    if keeper is None:
        try:
            keeper = choose_keeper(group)
        except DuplicateGroupMember.DoesNotExist as exc:
            raise MergeConflict(str(exc)) from exc
    elif keeper.group_id != group.pk:
        raise MergeConflict(f"Member {keeper.pk} is not in group {group.pk}")
    concrete = _concrete_model(members)
    manager = concrete._base_manager.select_for_update() if lock else concrete._base_manager
    ids = {concrete._meta.pk.to_python(m.object_id) for m in members}
    objects = {obj.pk: obj for obj in manager.filter(pk__in=ids).order_by("pk")}
    case = _case(group, members, keeper, concrete, objects)
    find_references(concrete, [case], dedup_settings.merge_delete_duplicates)
    return _plan(group, keeper, case)


def plan_merges(
    groups: Iterable[DuplicateGroup], *, chunk: int = 500
) -> Iterator[tuple[DuplicateGroup, MergePlan | MergeConflict]]:
    """:func:`plan_merge` (keeper rule, no locks) for many groups, with a few queries per chunk
    of groups instead of a dozen per group: what a bulk dry run needs."""
    batch: list[DuplicateGroup] = []
    for group in groups:
        batch.append(group)
        if len(batch) == chunk:
            yield from _plan_batch(batch)
            batch = []
    if batch:
        yield from _plan_batch(batch)


def _plan_batch(
    groups: list[DuplicateGroup],
) -> Iterator[tuple[DuplicateGroup, MergePlan | MergeConflict]]:
    members_of: dict[int, list[DuplicateGroupMember]] = defaultdict(list)
    members = DuplicateGroupMember.objects.filter(group__in=groups).select_related(
        "content_type", "fingerprint"
    )
    for member in members.prefetch_related("content_object"):
        members_of[member.group_id].append(member)
    outcomes: dict[int, MergePlan | MergeConflict] = {}
    pending: dict[type[models.Model], list[tuple[DuplicateGroup, DuplicateGroupMember, Case]]]
    pending = defaultdict(list)
    for group in groups:
        try:
            _check_open(group)
            group_members = members_of[group.pk]
            concrete = _concrete_model(group_members)
            keeper = keeper_of(group, group_members)
            objects = {obj.pk: obj for m in group_members if (obj := m.content_object) is not None}
            case = _case(group, group_members, keeper, concrete, objects)
        except (MergeConflict, DuplicateGroupMember.DoesNotExist) as exc:
            problem = exc if isinstance(exc, MergeConflict) else MergeConflict(str(exc))
            outcomes[group.pk] = problem
            continue
        pending[concrete].append((group, keeper, case))
    delete = dedup_settings.merge_delete_duplicates
    for concrete, planned in pending.items():
        find_references(concrete, [case for _, _, case in planned], delete)
        for group, keeper, case in planned:
            outcomes[group.pk] = _plan(group, keeper, case)
    for group in groups:
        yield group, outcomes[group.pk]


# --- merging ------------------------------------------------------------------------------------


def _apply(plan: MergePlan) -> list[dict[str, Any]]:
    """Re-point (or drop) every planned reference; return the change records."""
    changes: list[dict[str, Any]] = []
    for ref in plan.references:
        manager = ref.model._base_manager
        if ref.kind == "gfk":
            new = ref.model._meta.get_field(ref.field).to_python(plan.keeper.pk)
        else:
            fk = next(f for f in ref.model._meta.local_fields if f.attname == ref.field)
            new = getattr(plan.keeper, fk.target_field.attname)
        base = {"model": ref.model._meta.label_lower, "field": ref.field, "kind": ref.kind}
        for pk, old in ref.drops:
            row = manager.filter(pk=pk).values(*(f.attname for f in ref.model._meta.local_fields))
            pk_name = ref.model._meta.pk.attname
            values = {k: _jsonable(v) for k, v in row.get().items() if k != pk_name}
            change = {**base, "pk": _jsonable(pk), "old": _jsonable(old), "new": None}
            changes.append({**change, "row": values})
        manager.filter(pk__in=[pk for pk, _ in ref.drops]).delete()
        for pk, old in ref.moves:
            change = {**base, "pk": _jsonable(pk), "old": _jsonable(old), "new": _jsonable(new)}
            if ref.content_type_field:
                ct_id = manager.filter(pk=pk).values_list(ref.content_type_field, flat=True).get()
                change |= {"ct_field": ref.content_type_field, "ct": ct_id}
            changes.append(change)
        manager.filter(pk__in=[pk for pk, _ in ref.moves]).update(**{ref.field: new})
    return changes


def _member_fields(plan: MergePlan) -> dict[Any, list[str]]:
    pk_field = plan.keeper._meta.pk
    fields: dict[Any, list[str]] = defaultdict(list)
    for m in plan.group.members.all():
        fields[pk_field.to_python(m.object_id)].append(m.field_name)
    return fields


def _files_to_delete(plan: MergePlan) -> list[tuple[str, str]]:
    """(field name, storage name) of the duplicates' image files."""
    fields = _member_fields(plan)
    return [
        (name, getattr(dup, name).name)
        for dup in plan.duplicates
        for name in fields[dup.pk]
        if getattr(dup, name, None)
    ]


def _delete_files(model: type[models.Model], files: list[tuple[str, str]]) -> None:
    """After commit: delete files no remaining row still uses (the keeper may share a name)."""
    for field_name, name in files:
        if model._base_manager.filter(**{field_name: name}).exists():
            continue
        storage = model._meta.get_field(field_name).storage
        try:
            storage.delete(name)
        except OSError:
            logger.exception("imagex_dedup: could not delete merged file %s", name)


def _delete_duplicates(plan: MergePlan) -> None:
    owners = rewriters.rewriters_for(type(plan.keeper)._meta.concrete_model)
    for dup in plan.duplicates:
        pk = dup.pk
        for rewriter in owners:
            rewriter.before_delete(dup)
        try:
            dup.delete()
            dup.pk = pk  # keep the instances "as they were" for signal receivers and the log
        except (ProtectedError, RestrictedError) as exc:
            blocking = sorted({describe(type(o), [o.pk]) for o in exc.args[1]})
            raise MergeConflict(
                f"{describe(type(dup), [dup.pk])} cannot be deleted: still referenced by "
                f"{', '.join(blocking)} ({exc.args[0]})"
            ) from exc


def _rows_for_undo(plan: MergePlan) -> list[models.Model]:
    """The duplicates' rows to serialize, parents first: a multi-table child serializes only its
    own fields (django-filer's ``Image``: the ``File`` row holds the rest), so undo needs both."""
    rows: list[models.Model] = []
    for dup in plan.duplicates:
        for parent in reversed(dup._meta.get_parent_list()):  # built, not queried: managers
            fields = parent._meta.concrete_fields  # may be polymorphic (filer's are)
            rows.append(parent(**{f.attname: getattr(dup, f.attname) for f in fields}))
        rows.append(dup)
    return rows


def _exact_rows(records: list[models.Model]) -> list[dict[str, Any]]:
    """Rows serialized for JSON without the JSON serializer's rounding of times to
    milliseconds: undo puts the rows back exactly."""
    rows = serializers.serialize("python", records)
    for row in rows:
        row["pk"] = _jsonable(row["pk"])
        row["fields"] = {name: _exact(value) for name, value in row["fields"].items()}
    return rows


def _exact(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)  # Decimal, UUID...


def _forget_fingerprints(plan: MergePlan) -> list[dict[str, Any]]:
    """Delete the duplicates' fingerprint records; return them as undo will restore them:
    the serialized row, its index keys and the memberships that pointed at it."""
    model = type(plan.keeper)
    records = list(
        ImageFingerprint.objects.filter(
            content_type_id__in=content_type_ids(model),
            object_id__in=[str(d.pk) for d in plan.duplicates],
        ).order_by("pk")
    )
    keys: dict[int, list[int]] = defaultdict(list)
    for fp_id, key in ImageFingerprintKey.objects.filter(fingerprint__in=records).values_list(
        "fingerprint_id", "key"
    ):
        keys[fp_id].append(key)
    members: dict[int, list[int]] = defaultdict(list)
    for fp_id, member_id in DuplicateGroupMember.objects.filter(
        fingerprint__in=records
    ).values_list("fingerprint_id", "pk"):
        members[fp_id].append(member_id)
    saved = [
        {"record": row, "keys": sorted(keys[row["pk"]]), "members": sorted(members[row["pk"]])}
        for row in _exact_rows(records)
    ]
    ImageFingerprint.objects.filter(pk__in=[r.pk for r in records]).delete()
    return saved


def _restore_fingerprints(saved: list[dict[str, Any]]) -> None:
    """Put back what :func:`_forget_fingerprints` removed. A record made for the same image
    since the merge (a re-check) gives way to the original; members that used it follow."""
    for item in saved:
        (restored,) = serializers.deserialize("python", [item["record"]])
        fp = restored.object
        newer = ImageFingerprint.objects.filter(
            content_type_id=fp.content_type_id, object_id=fp.object_id, field_name=fp.field_name
        )
        users_of_newer = DuplicateGroupMember.objects.filter(fingerprint__in=newer)
        members = [*item["members"], *users_of_newer.values_list("pk", flat=True)]
        newer.delete()
        restored.save()
        ImageFingerprintKey.objects.bulk_create(
            ImageFingerprintKey(fingerprint_id=fp.pk, key=key) for key in item["keys"]
        )
        DuplicateGroupMember.objects.filter(pk__in=members).update(fingerprint_id=fp.pk)


def _fresh_member(member: DuplicateGroupMember) -> DuplicateGroupMember:
    fresh = DuplicateGroupMember.objects.filter(pk=member.pk).first()
    if fresh is None:
        raise MergeConflict(f"Member {member.pk} was removed from its group")
    return fresh


def merge_group(
    group: DuplicateGroup, keeper: DuplicateGroupMember | None = None, *, user: Any = None
) -> MergeLog:
    """Merge ``group`` into ``keeper`` (default: :func:`~imagex_dedup.review.keeper.choose_keeper`).

    All or nothing: raises :class:`MergeConflict` and changes nothing when the merge is unsafe.
    """
    user = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            group = DuplicateGroup.objects.select_for_update().get(pk=group.pk)
            if keeper is not None:
                keeper = _fresh_member(keeper)
            plan = plan_merge(group, keeper, lock=True)
            if plan.conflicts:
                raise MergeConflict(plan.conflicts)
            serialized = _exact_rows(_rows_for_undo(plan))
            signals.pre_merge.send_robust(
                sender=DuplicateGroup,
                group=group,
                keeper=plan.keeper,
                duplicates=plan.duplicates,
                user=user,
            )
            changes = _apply(plan)
            # Rewriter entries go first so undo (which runs the records backwards) puts them
            # back last, once the core's rows point at the restored duplicates again.
            changes = rewriters.rewrite_all(plan.keeper, plan.duplicates) + changes
            files = _files_to_delete(plan) if plan.delete_duplicates else []
            files = files if dedup_settings.merge_delete_files else []
            now = timezone.now()
            group.status = DuplicateGroup.Status.MERGED  # before deleting: see handlers.py
            group.resolved_at, group.resolved_by = now, user
            group.save(update_fields=["status", "resolved_at", "resolved_by", "updated_at"])
            fingerprints = []
            if plan.delete_duplicates:
                _delete_duplicates(plan)
                fingerprints = _forget_fingerprints(plan)
            log = MergeLog.objects.create(
                group=group,
                keeper_content_type=ContentType.objects.get_for_model(plan.keeper),
                keeper_object_id=str(plan.keeper.pk),
                duplicates=serialized,
                changes=changes,
                deleted_duplicates=plan.delete_duplicates,
                fingerprints=fingerprints,
                deleted_files=[name for _, name in files],
                performed_by=user,
                created_at=now,
            )
            if files:
                transaction.on_commit(partial(_delete_files, type(plan.keeper), files))
            transaction.on_commit(
                partial(
                    signals.group_merged.send_robust,
                    sender=DuplicateGroup,
                    group=group,
                    keeper=plan.keeper,
                    duplicates=plan.duplicates,
                    merge_log=log,
                    user=user,
                )
            )
    except IntegrityError as exc:
        raise MergeConflict(f"The database refused the merge of group {group.pk}: {exc}") from exc
    return log


# --- undo ---------------------------------------------------------------------------------------


def _current(change: dict[str, Any]) -> tuple[type[models.Model], dict[str, Any] | None]:
    model = apps.get_model(change["model"])
    names = [change["field"], *([change["ct_field"]] if "ct_field" in change else [])]
    row = model._base_manager.filter(pk=change["pk"]).values(*names).first()
    return model, row


def _undo_problems(log: MergeLog, restored: list[Any]) -> list[str]:
    problems: list[str] = []
    for obj in restored:
        model = type(obj.object)
        exists = model._base_manager.filter(pk=obj.object.pk).exists()
        if log.deleted_duplicates and exists:
            problems.append(f"{describe(model, [obj.object.pk])} exists again")
        elif not log.deleted_duplicates and not exists:
            problems.append(f"{describe(model, [obj.object.pk])} was deleted since the merge")
    for change in log.changes:
        if rewriters.is_rewriter_entry(change):
            problems += rewriters.entry_undo_problems(change)
            continue
        model, row = _current(change)
        where = f"{model._meta.label} {change['pk']}.{change['field']}"
        if change["new"] is None:  # a dropped m2m link comes back unless it exists again
            if row is not None:
                problems.append(f"{where}: the link row exists again")
            problems += _missing_targets(model, change)
        elif row is None:
            problems.append(f"{where}: the row was deleted since the merge")
        elif _jsonable(row[change["field"]]) != change["new"] or (
            "ct" in change and row[change["ct_field"]] != change["ct"]
        ):
            problems.append(
                f"{where}: now {row[change['field']]!r}, no longer the keeper {change['new']!r}"
            )
    return problems


def _missing_targets(model: type[models.Model], change: dict[str, Any]) -> list[str]:
    """A dropped link can only come back if the rows it links still exist; its own field
    points at a duplicate that undo restores, so only the other fields are checked."""
    problems = []
    for f in model._meta.local_fields:
        value = change["row"].get(f.attname)
        if not isinstance(f, models.ForeignKey) or value is None or f.attname == change["field"]:
            continue
        if not f.related_model._base_manager.filter(**{f.target_field.attname: value}).exists():
            where = f"{model._meta.label} {change['pk']}"
            problems.append(f"{where}: {describe(f.related_model, [value])} was deleted")
    return problems


def _revert(change: dict[str, Any]) -> None:
    if rewriters.is_rewriter_entry(change):
        rewriters.undo_entry(change)
        return
    model = apps.get_model(change["model"])
    if change["new"] is None:
        model._base_manager.create(pk=change["pk"], **change["row"])
    else:
        model._base_manager.filter(pk=change["pk"]).update(**{change["field"]: change["old"]})


def undo_merge(log: MergeLog, *, user: Any = None) -> MergeLog:
    """Put back what ``log``'s merge did: restore deleted rows, move references back, re-open
    the group. Raises :class:`MergeConflict` (and changes nothing) when the data moved on in a
    way that conflicts with the merge's records, or the duplicates' files were deleted."""
    user = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            log = MergeLog.objects.select_for_update().get(pk=log.pk)
            if log.undone_at is not None:
                raise MergeConflict(f"Merge {log.pk} was already undone")
            if log.deleted_files:
                raise MergeConflict(
                    f"Merge {log.pk} deleted the duplicates' files (MERGE_DELETE_FILES); "
                    "restoring rows without their files is refused"
                )
            restored = list(serializers.deserialize("python", log.duplicates))
            problems = _undo_problems(log, restored)
            if problems:
                raise MergeConflict(problems)
            if log.deleted_duplicates:
                for obj in restored:
                    obj.save(save_m2m=False)  # links come back through the change records
            for change in reversed(log.changes):
                _revert(change)
            _restore_fingerprints(log.fingerprints)
            now = timezone.now()
            log.undone_at, log.undone_by = now, user
            log.save(update_fields=["undone_at", "undone_by"])
            group = log.group
            if group is not None:
                group.status = DuplicateGroup.Status.OPEN
                group.resolved_at = group.resolved_by = None
                group.save(update_fields=["status", "resolved_at", "resolved_by", "updated_at"])
            if log.deleted_duplicates and group is not None:
                _recheck_restored(group, restored, log.fingerprints)  # enqueued on commit
            transaction.on_commit(
                partial(
                    signals.merge_undone.send_robust,
                    sender=DuplicateGroup,
                    group=group,
                    merge_log=log,
                    user=user,
                )
            )
    except IntegrityError as exc:
        raise MergeConflict(f"The database refused to undo merge {log.pk}: {exc}") from exc
    return log


def _recheck_restored(
    group: DuplicateGroup, restored: list[Any], fingerprints: list[dict[str, Any]]
) -> None:
    """Restored duplicates whose fingerprint the merge log did not keep (logs written before
    it kept them) get one computed again."""
    kept = {item["record"]["fields"]["object_id"] for item in fingerprints}
    ids = {str(obj.object.pk) for obj in restored} - kept
    recheck_members(m for m in group.members.all() if m.object_id in ids)


def recheck_members(members: Iterable[DuplicateGroupMember]) -> int:
    """Enqueue ``tasks.check_object`` for each member (after commit); return how many."""
    from imagex_dedup.scheduling import enqueue  # imported when used

    count = 0
    for member in members:
        model = member.content_type.model_class()
        if model is None:
            continue
        opts = model._meta
        enqueue(
            "imagex_dedup.hook.tasks.check_object",
            opts.app_label,
            opts.model_name,
            member.object_id,
            member.field_name,
        )
        count += 1
    return count


# --- dismiss ------------------------------------------------------------------------------------


def dismiss_group(group: DuplicateGroup, *, user: Any = None) -> DuplicateGroup:
    """Record that the group's members are not duplicates (a ``DismissedPair`` per member pair,
    which detection respects from then on), mark the group dismissed, and send
    ``group_dismissed`` after commit."""
    from imagex_dedup.groups import dismiss_pairs

    user = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        group = DuplicateGroup.objects.select_for_update().get(pk=group.pk)
        if group.status != DuplicateGroup.Status.OPEN:
            raise MergeConflict(f"Group {group.pk} is {group.get_status_display()}, not open")
        now = timezone.now()  # pairs recorded from here on belong to this dismissal
        dismiss_pairs([m.ref for m in group.members.all()], user=user)
        group.status = DuplicateGroup.Status.DISMISSED
        group.resolved_at, group.resolved_by = now, user
        group.save(update_fields=["status", "resolved_at", "resolved_by", "updated_at"])
        transaction.on_commit(
            partial(
                signals.group_dismissed.send_robust, sender=DuplicateGroup, group=group, user=user
            )
        )
    return group


def undismiss_group(group: DuplicateGroup, *, user: Any = None) -> DuplicateGroup:
    """Take back a dismissal: forget the pairs it recorded (pairs dismissed earlier stay) and
    reopen the group."""
    with transaction.atomic():
        group = DuplicateGroup.objects.select_for_update().get(pk=group.pk)
        if group.status != DuplicateGroup.Status.DISMISSED:
            raise MergeConflict(f"Group {group.pk} is {group.get_status_display()}, not dismissed")
        refs = [m.ref for m in group.members.all()]
        DismissedPair.objects.filter(
            ref_a__in=refs, ref_b__in=refs, created_at__gte=group.resolved_at
        ).delete()
        group.status = DuplicateGroup.Status.OPEN
        group.resolved_at = group.resolved_by = None
        group.save(update_fields=["status", "resolved_at", "resolved_by", "updated_at"])
    return group


__all__ = [
    "MergeConflict",
    "MergePlan",
    "dismiss_group",
    "get_merge_handler",
    "merge_group",
    "plan_merge",
    "plan_merges",
    "recheck_members",
    "undismiss_group",
    "undo_merge",
]
