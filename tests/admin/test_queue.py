"""The review queue (one group at a time, best score first, each decision undoable) and the bulk
policy (dry run, then merge every qualifying group without a conflict)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from imagex_dedup.models import DismissedPair, DuplicateGroup, MergeLog
from imagex_dedup.review.policy import Policy, apply, preview
from tests.support.review import make_group, make_photo
from tests.testapp.models import Album, Photo, Profile, UUIDPhoto

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:imagex_dedup_duplicategroup_queue")
POLICY = reverse("admin:imagex_dedup_duplicategroup_policy")


@pytest.fixture
def groups(settings):
    """Three open groups scoring 0.99, 0.95 and 0.88; each duplicate is an album's cover."""
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "ENABLED": False}
    made = {}
    for name, score in [("mid", 0.95), ("high", 0.99), ("low", 0.88)]:
        keeper = make_photo(f"{name} original", width=400)
        dup = make_photo(f"{name} copy", width=200)
        Album.objects.create(name=f"{name} album", cover=dup).photos.add(keeper, dup)
        made[name] = make_group(keeper, dup, scores=(1.0, score))
    return made


def shown(response) -> DuplicateGroup | None:
    return response.context.get("group")


def decide(client, decision, group=None, **extra):
    data = {"decision": decision, **({"group": group.pk} if group else {}), **extra}
    response = client.post(QUEUE, data)
    assert response.status_code == 302
    return client.get(response["Location"])


def test_queue_walks_groups_best_score_first_and_filters(client, users, groups):
    client.force_login(users["merger"])
    response = client.get(QUEUE)
    assert shown(response) == groups["high"]
    assert response.context["remaining"] == 3
    assert "Keys: 1\N{EN DASH}9 keep that image" in response.content.decode()
    assert shown(client.get(QUEUE, {"score": "0.96"})) == groups["high"]
    assert client.get(QUEUE, {"score": "0.999"}).context["remaining"] == 0
    ct = ContentType.objects.get_for_model(Photo)
    assert client.get(QUEUE, {"model": ct.pk}).context["remaining"] == 3
    assert client.get(QUEUE, {"model": ct.pk + 999}).context["remaining"] == 0
    assert client.get(QUEUE, {"score": "nonsense"}).context["remaining"] == 3


def test_each_decision_then_undo_last(client, users, groups):
    client.force_login(users["superuser"])
    # Skip "high": "mid" comes next; the filter survives the redirect.
    response = decide(client, "skip", groups["high"], score="0.9")
    assert shown(response) == groups["mid"] and response.context["filters"].score == 0.9
    # Merge "mid" keeping its copy (a picked keeper).
    copy = groups["mid"].members.get(object_id=str(Photo.objects.get(title="mid copy").pk))
    response = decide(client, "merge", groups["mid"], keeper=copy.pk, score="0.9")
    assert "Merged" in next(str(m) for m in response.context["messages"])
    assert not Photo.objects.filter(title="mid original").exists()
    assert Album.objects.get(name="mid album").cover.title == "mid copy"
    assert response.context["remaining"] == 0  # "low" is below the filter, "high" skipped
    # Dismiss "low" (no filter now).
    response = decide(client, "reset")
    assert shown(response) == groups["high"]
    response = decide(client, "dismiss", groups["low"])
    assert DuplicateGroup.objects.get(pk=groups["low"].pk).status == "dismissed"
    assert DismissedPair.objects.count() == 1
    # Undo last, twice: the dismissal, then the merge.
    response = decide(client, "undo")
    assert DuplicateGroup.objects.get(pk=groups["low"].pk).status == "open"
    assert DismissedPair.objects.count() == 0
    response = decide(client, "undo")
    assert DuplicateGroup.objects.get(pk=groups["mid"].pk).status == "open"
    assert Album.objects.get(name="mid album").cover.title == "mid copy"
    assert Photo.objects.filter(title="mid original").exists()
    assert MergeLog.objects.get().undone_at is not None
    response = decide(client, "undo")
    assert "Nothing to undo." in [str(m) for m in response.context["messages"]]


def test_queue_decisions_need_their_permissions(client, users, groups):
    group = groups["high"]
    client.force_login(users["viewer"])
    assert client.get(QUEUE).status_code == 200  # viewing is allowed
    for decision in ("merge", "dismiss"):
        assert client.post(QUEUE, {"decision": decision, "group": group.pk}).status_code == 403
    client.force_login(users["changer"])
    assert client.post(QUEUE, {"decision": "merge", "group": group.pk}).status_code == 403
    assert DuplicateGroup.objects.get(pk=group.pk).status == "open"
    client.force_login(users["staff"])
    assert client.get(QUEUE).status_code == 403
    client.logout()
    assert client.get(QUEUE).status_code == 302  # to the login page


def test_policy_preview_then_apply(client, users, groups, django_capture_on_commit_callbacks):
    # A conflict in "mid": both photos are somebody's avatar (one-to-one).
    Profile.objects.create(name="a", avatar=Photo.objects.get(title="mid original"))
    Profile.objects.create(name="b", avatar=Photo.objects.get(title="mid copy"))
    client.force_login(users["merger"])
    before = Photo.objects.count()
    response = client.get(POLICY, {"score": "0.9"})
    result = response.context["preview"]
    assert (result.groups, result.mergeable, len(result.refused)) == (2, 1, 1)
    assert (result.rows_deleted, result.references_moved, result.links_dropped) == (1, 1, 1)
    html = response.content.decode()
    assert "Merge 1 groups" in html and "one-to-one" in html
    assert Photo.objects.count() == before  # a dry run
    with django_capture_on_commit_callbacks(execute=True) as tasks:
        response = client.post(POLICY, {"score": "0.9", "apply": "yes"})
    assert response.status_code == 302 and len(tasks) >= 1  # merged by a queued task
    assert DuplicateGroup.objects.get(pk=groups["high"].pk).status == "merged"
    assert DuplicateGroup.objects.get(pk=groups["mid"].pk).status == "open"
    assert DuplicateGroup.objects.get(pk=groups["low"].pk).status == "open"
    assert MergeLog.objects.get().performed_by == users["merger"]
    assert client.get(POLICY, {"score": "2"}).context["error"]


@pytest.mark.parametrize("who", ["anonymous", "staff", "viewer", "changer"])
def test_policy_needs_the_merge_permission(client, users, groups, who):
    if users[who] is not None:
        client.force_login(users[who])
    response = client.post(POLICY, {"score": "0.5", "apply": "yes"})
    assert response.status_code in ((302,) if who == "anonymous" else (403,))
    assert not MergeLog.objects.exists()


def test_policy_skips_groups_that_stopped_qualifying(groups):
    policy = Policy(0.9)
    assert [g.pk for g in policy.groups()] == [groups["high"].pk, groups["mid"].pk]
    groups["high"].members.filter(is_primary=False).update(score=0.5)
    outcome = apply(policy.groups())
    assert len(outcome.merged) == 1 and outcome.refused == []
    assert preview(policy.groups()).groups == 0


def test_policy_counts_only_groups_of_the_chosen_model(groups):
    ct = ContentType.objects.get_for_model(UUIDPhoto)
    assert preview(Policy(0.5, ct.pk).groups()).groups == 0
    ct = ContentType.objects.get_for_model(Photo)
    assert preview(Policy(0.5, ct.pk).groups()).groups == 3
