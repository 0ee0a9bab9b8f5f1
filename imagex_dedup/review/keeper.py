"""Which member of a duplicate group survives a merge when nobody picked one.

The default rule (:func:`default_keeper_rule`) compares the members whose host object still
exists, criterion by criterion, and the first one that tells them apart decides:

1. **resolution**: most pixels (width x height, from the member's fingerprint record);
2. **orientation**: the orientation most of the group shares. Fingerprints compare in all eight
   flips and rotations, so each member's orientation relative to the others is known from the
   stored hashes; when one orientation holds a strict majority, copies in another one (a mirrored
   or rotated copy) lose. A file whose EXIF orientation tag displays it mirrored loses too. Two
   files that are only mirror images of each other give no majority: the pixels cannot say which
   one is the original, so the next criteria decide;
3. **capture data**: a file that still has EXIF capture data (date taken, camera) over one that
   lost it; editors and re-encoders usually drop it;
4. **least recompressed**: the higher JPEG quality estimated from the file's quantisation tables
   (lossless formats count as 100, other formats as unknown, after every known quality);
5. **oldest object**: the lowest primary key.

File size is not a criterion: re-encoding at a higher quality makes a worse copy larger.

A host replaces the rule with ``IMAGEX_DEDUP["KEEPER_RULE"]``, the dotted path of a callable
``rule(members) -> member`` that gets the existing members (``fingerprint`` and
``content_object`` loaded) and returns one of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.scoring import popcount, prepare
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, ImageFingerprint
from imagex_dedup.review.pictures import PictureFacts, members_facts

KeeperRule = Callable[[Sequence[DuplicateGroupMember]], DuplicateGroupMember]


def pk_sort_key(object_id: str) -> tuple[int, int | str]:
    """Numeric ids compare as numbers (``"9" < "10"``), other ids (UUIDs, slugs) as text."""
    return (0, int(object_id)) if object_id.isdigit() else (1, object_id)


def pixels(member: DuplicateGroupMember) -> int:
    fp = member.fingerprint
    return (fp.width or 0) * (fp.height or 0) if fp else 0


def _usable(fp: ImageFingerprint | None) -> bytes | None:
    if fp is None or not fp.fingerprint or fp.error:
        return None
    return bytes(fp.fingerprint)


def relative_orientations(members: Sequence[DuplicateGroupMember]) -> dict[int, int]:
    """Member pk -> dihedral orientation (0-7, 0 = as the first comparable member) of each
    member with a fingerprint; an orientation counts only when it fits strictly better than 0."""
    hashes = {m.pk: raw for m in members if (raw := _usable(m.fingerprint)) is not None}
    if len(hashes) < 2:
        return dict.fromkeys(hashes, 0)
    try:
        anchor = prepare([next(iter(hashes.values()))])
        others = prepare(list(hashes.values()), oriented=False)
    except ValueError:  # a fingerprint of another engine version
        return {}
    distances = popcount(anchor.full[0][None, :, :] ^ others.full)  # (n, 8 orientations)
    best = distances.argmin(axis=1)
    same = distances[np.arange(len(best)), best] == distances[:, 0]
    return {pk: 0 if keep else int(o) for pk, o, keep in zip(hashes, best, same, strict=True)}


def off_orientation(members: Sequence[DuplicateGroupMember]) -> set[int]:
    """Pks of members not in the orientation a strict majority of the group shares."""
    orientations = relative_orientations(members)
    counts = Counter(orientations.values()).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return set()
    majority = counts[0][0]
    return {pk for pk, o in orientations.items() if o != majority}


@dataclass(frozen=True)
class Criterion:
    name: str
    describe: str


CRITERIA = (
    Criterion("resolution", "higher resolution"),
    Criterion("orientation", "orientation shared by the group (not mirrored or rotated)"),
    Criterion("capture_data", "EXIF capture data present"),
    Criterion("quality", "least recompressed (higher JPEG quality)"),
    Criterion("age", "oldest object"),
)


def rank_keys(
    members: Sequence[DuplicateGroupMember], group_members: Sequence[DuplicateGroupMember]
) -> dict[int, tuple]:
    """Member pk -> sort key (smaller wins) following :data:`CRITERIA`.

    ``group_members`` (every member, also those whose object is gone) decide the orientation
    majority; files are only read for members tied on resolution with the best one.
    """
    best = max(pixels(m) for m in members)
    off = off_orientation(group_members)
    tied = [m for m in members if pixels(m) == best] if len(members) > 1 else []
    facts_of = members_facts(tied)
    keys = {}
    for m in members:
        facts = facts_of.get(m.pk, PictureFacts())
        keys[m.pk] = (
            -pixels(m),
            int(m.pk in off or facts.mirrored_by_tag),
            int(not facts.has_capture_data),
            -(facts.quality if facts.quality is not None else -1),
            pk_sort_key(m.object_id),
        )
    return keys


def default_keeper_rule(members: Sequence[DuplicateGroupMember]) -> DuplicateGroupMember:
    """The rule of the module docstring."""
    keys = rank_keys(members, members)
    return min(members, key=lambda m: keys[m.pk])


def keeper_reason(members: Sequence[DuplicateGroupMember], keeper: DuplicateGroupMember) -> str:
    """Why the default rule put ``keeper`` first: the criterion that beat the runner-up."""
    keys = rank_keys(members, members)
    others = sorted((m for m in members if m.pk != keeper.pk), key=lambda m: keys[m.pk])
    if not others or keeper.pk not in keys:
        return ""
    for criterion, mine, theirs in zip(CRITERIA, keys[keeper.pk], keys[others[0].pk], strict=True):
        if mine != theirs:
            return criterion.describe
    return ""


def get_keeper_rule() -> KeeperRule:
    """The configured ``KEEPER_RULE`` (default :func:`default_keeper_rule`)."""
    return dedup_settings.load("KEEPER_RULE")


def existing_members(group: DuplicateGroup) -> list[DuplicateGroupMember]:
    """The group's members whose host object still exists, with fingerprint and object loaded."""
    members = group.members.select_related("fingerprint", "content_type").prefetch_related(
        "content_object"
    )
    return [m for m in members if m.content_object is not None]


def choose_keeper(group: DuplicateGroup) -> DuplicateGroupMember:
    """The member a merge keeps by default (the configured ``KEEPER_RULE``).

    Raises ``DuplicateGroupMember.DoesNotExist`` when no member's host object exists, and
    ``ValueError`` when the rule returns something that is not one of the members.
    """
    return keeper_of(group, existing_members(group))


def keeper_of(
    group: DuplicateGroup, members: Sequence[DuplicateGroupMember]
) -> DuplicateGroupMember:
    """:func:`choose_keeper` for members already loaded (``fingerprint`` and ``content_object``)."""
    existing = [m for m in members if m.content_object is not None]
    if not existing:
        raise DuplicateGroupMember.DoesNotExist(f"No member of group {group.pk} exists any more.")
    keeper = get_keeper_rule()(existing)
    if keeper not in existing:
        raise ValueError(f"KEEPER_RULE returned {keeper!r}, not a member of group {group.pk}")
    return next(m for m in existing if m == keeper)
