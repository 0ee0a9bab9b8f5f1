"""The demo's public page: the photos, and the duplicate groups still waiting for review."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember

from .models import Album, Author, Photo, Post


def index(request: HttpRequest) -> HttpResponse:
    open_groups = DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN).prefetch_related(
        Prefetch(
            "members",
            queryset=DuplicateGroupMember.objects.prefetch_related("content_object"),
        )
    )
    groups = [
        {
            "group": group,
            # A member whose host object is gone (deleted outside a merge) has nothing to show.
            "members": [
                {"member": m, "file": getattr(m.content_object, m.field_name, None)}
                for m in group.members.all()
                if m.content_object is not None
            ],
        }
        for group in open_groups
    ]
    context = {
        "photos": Photo.objects.all(),
        "groups": groups,
        "counts": {
            "photos": Photo.objects.count(),
            "authors": Author.objects.count(),
            "albums": Album.objects.count(),
            "posts": Post.objects.count(),
        },
    }
    return render(request, "gallery/index.html", context)
