"""Everything a merge and its undo may change about groups, as plain values to compare."""

from __future__ import annotations

from imagex_dedup.models import DuplicateGroupMember, ImageFingerprint, ImageFingerprintKey


def member_details() -> list:
    """Every field of every member and of every fingerprint record (with its index keys)."""
    members = sorted(tuple(row.items()) for row in DuplicateGroupMember.objects.values())
    records = sorted(
        tuple((k, bytes(v) if isinstance(v, memoryview) else v) for k, v in row.items())
        for row in ImageFingerprint.objects.values()
    )
    keys = sorted(ImageFingerprintKey.objects.values_list("fingerprint_id", "key"))
    return [members, records, keys]
