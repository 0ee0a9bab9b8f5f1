"""Property test: any sequence of link / dismiss / remove operations keeps the group invariants."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagex_dedup import groups as results
from imagex_dedup.models import DismissedPair, DuplicateGroup, DuplicateGroupMember
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db

REFS = 7
refs = st.integers(min_value=1, max_value=REFS)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("link"), refs, st.lists(refs, min_size=1, max_size=4)),
        st.tuples(st.just("dismiss"), refs, st.just([])),
        st.tuples(st.just("remove"), refs, st.just([])),
    ),
    max_size=14,
)


def ref(n: int) -> str:
    return f"{ContentType.objects.get_for_model(Photo).pk}:{n}:image"


def open_groups() -> dict[int, set[str]]:
    groups: dict[int, set[str]] = {}
    for member in DuplicateGroupMember.objects.filter(group__status=DuplicateGroup.Status.OPEN):
        groups.setdefault(member.group_id, set()).add(member.ref)
    return groups


def dismiss_group_of(n: int) -> None:
    """What the review UI's "not duplicates" does: remember every pair, close the group."""
    for pk, members in open_groups().items():
        if ref(n) in members:
            results.dismiss_pairs(members)
            DuplicateGroup.objects.filter(pk=pk).update(status=DuplicateGroup.Status.DISMISSED)


def assert_invariants() -> None:
    groups = open_groups()
    dismissed = set(DismissedPair.objects.values_list("ref_a", "ref_b"))
    counts = Counter(ref for members in groups.values() for ref in members)
    assert all(count == 1 for count in counts.values()), f"ref in two open groups: {counts}"
    for pk, members in groups.items():
        assert len(members) >= 2, f"group {pk} has {members}"
        pairs = {DismissedPair.ordered(a, b) for a, b in combinations(members, 2)}
        assert not pairs & dismissed, f"group {pk} holds a dismissed pair"
        primaries = DuplicateGroupMember.objects.filter(group_id=pk, is_primary=True).count()
        assert primaries == 1, f"group {pk} has {primaries} primaries"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_group_invariants_hold_for_any_sequence(ops) -> None:
    with transaction.atomic():
        for op, subject, matches in ops:
            if op == "link":
                linked = [ref(subject), *(ref(m) for m in matches)]
                no_dismissals = not DismissedPair.objects.exists()
                before = open_groups()
                grouped = set().union(*before.values())
                loose = {r for r in linked if r not in grouped}
                results.join(linked, similarity=0.84, backend="local")
                after = open_groups()
                if no_dismissals and len(set(linked)) > 1:
                    # Fingerprint-less refs count as linked: the subject's group takes every
                    # loose ref, and groups that existed are never merged.
                    holding = [g for g in after.values() if ref(subject) in g]
                    assert len(holding) == 1 and loose <= holding[0]
                old_groups = [g for g in before.values() if g & set().union(*after.values())]
                assert all(sum(1 for g in old_groups if g <= h) <= 1 for h in after.values()), (
                    "two open groups merged"
                )
            elif op == "dismiss":
                dismiss_group_of(subject)
            else:
                results.remove_ref(ref(subject))
            assert_invariants()
        transaction.set_rollback(True)
