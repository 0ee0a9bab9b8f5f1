"""Signals host projects can hook. Every signal is sent with ``send_robust`` by our code, so a
failing receiver is logged and never breaks detection or a merge.

``duplicates_found(sender=DuplicateGroup, group, created, members)``
    A group was created (``created=True``) or gained members. ``members`` are the new
    ``DuplicateGroupMember`` rows.
``pre_merge(sender=DuplicateGroup, group, keeper, duplicates, user)``
    Before a merge; raising here aborts nothing (robust send): use validation hooks for that.
``group_merged(sender=DuplicateGroup, group, keeper, duplicates, merge_log, user)``
    After a merge committed. ``duplicates`` are the host objects as they were (possibly deleted).
``merge_undone(sender=DuplicateGroup, group, merge_log, user)``
    After a merge was undone.
``group_dismissed(sender=DuplicateGroup, group, user)``
    A person said the group's members are not duplicates.
"""

from django.dispatch import Signal

duplicates_found = Signal()
pre_merge = Signal()
group_merged = Signal()
merge_undone = Signal()
group_dismissed = Signal()
