"""Which member of a duplicate group survives a merge when nobody picked one.

The rule, in order: the largest resolution (width x height), then the largest file (bytes), then
the oldest object (lowest primary key). Sizes come from the members' ``ImageFingerprint`` rows;
a member without a fingerprint counts as 0 x 0 and 0 bytes. Members whose host object no longer
exists are never chosen.
"""

from __future__ import annotations

from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember


def pk_sort_key(object_id: str) -> tuple[int, int | str]:
    """Numeric ids compare as numbers (``"9" < "10"``), other ids (UUIDs, slugs) as text."""
    return (0, int(object_id)) if object_id.isdigit() else (1, object_id)


def keeper_sort_key(member: DuplicateGroupMember) -> tuple[int, int, tuple[int, int | str]]:
    fp = member.fingerprint
    pixels = (fp.width or 0) * (fp.height or 0) if fp else 0
    size = (fp.byte_size or 0) if fp else 0
    return (-pixels, -size, pk_sort_key(member.object_id))


def choose_keeper(group: DuplicateGroup) -> DuplicateGroupMember:
    """The member a merge keeps by default (see the module docstring for the rule).

    Raises ``DuplicateGroupMember.DoesNotExist`` when no member's host object exists.
    """
    members = [
        m
        for m in group.members.select_related("fingerprint", "content_type")
        if m.content_object is not None
    ]
    if not members:
        raise DuplicateGroupMember.DoesNotExist(f"No member of group {group.pk} exists any more.")
    return min(members, key=keeper_sort_key)
