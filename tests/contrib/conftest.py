"""Fixtures for the media-library integrations, with real Wagtail and django-filer.

These tests need ``tests.settings_wagtail`` (or ``tests.settings_wagtail_pg``); under the main
settings the folder is skipped, so the main legs stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember

collect_ignore_glob = [] if "imagex_dedup.contrib.wagtail" in settings.INSTALLED_APPS else ["*"]


@pytest.fixture(autouse=True)
def clean_registry(clean_registry: None) -> Iterator[None]:
    """The root fixture resets the registry to the settings' models; the integrations
    register their image models in ``ready()``, so do that again."""
    from imagex_dedup.contrib.filer.apps import watch_image_model as watch_filer
    from imagex_dedup.contrib.wagtail.apps import watch_image_model as watch_wagtail

    watch_wagtail()
    watch_filer()
    yield


def index(*objects: models.Model, field: str = "file") -> None:
    """Run the real check on each object, as the task queued on save would."""
    for obj in objects:
        opts = obj._meta
        check_object(opts.app_label, opts.model_name, str(obj.pk), field)


def detect(*objects: models.Model, field: str = "file") -> DuplicateGroup:
    """:func:`index` the objects and return the open group they ended up in together."""
    index(*objects, field=field)
    ct = ContentType.objects.get_for_model(objects[0])
    member = DuplicateGroupMember.objects.get(
        content_type=ct,
        object_id=str(objects[0].pk),
        group__status=DuplicateGroup.Status.OPEN,
    )
    ids = set(member.group.members.values_list("object_id", flat=True))
    assert ids == {str(o.pk) for o in objects}, ids
    return member.group


def member_of(group: DuplicateGroup, obj: models.Model) -> DuplicateGroupMember:
    return group.members.get(object_id=str(obj.pk))
