"""The demo's public page (photos, open duplicate groups) and a receiver for service callbacks."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from demo_project.gallery.management.commands.load_demo import SERVICE_ID
from demo_project.gallery.models import Album, Author, Photo, Post
from imagex_dedup import callback_signing
from imagex_dedup.models import AccessKey, DetectionService, DuplicateGroup, DuplicateGroupMember

logger = logging.getLogger(__name__)


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


def service_page(request: HttpRequest) -> HttpResponse:
    """How to call the detection service: a browser cannot (requests must be signed), so the
    front page links here rather than to the endpoint's error answer."""
    key = AccessKey.objects.filter(service__service_id=SERVICE_ID, is_active=True).first()
    photos = Photo.objects.filter(title__in=["Frangipani", "Frangipani (mirrored)"])
    context = {
        "endpoint": request.build_absolute_uri(reverse("imagex_dedup:service")),
        "host": request.get_host(),
        "port": urlsplit(f"//{request.get_host()}").port or 80,
        "service_id": SERVICE_ID,
        "access_key_id": key.access_key_id if key else None,
        "photo_urls": [request.build_absolute_uri(photo.image.url) for photo in photos],
    }
    return render(request, "gallery/service.html", context)


@csrf_exempt  # authenticated by the HMAC signature instead
@require_POST
def service_callback(request: HttpRequest) -> HttpResponse:
    """Receives the service's async results, the way a client of the service would.

    ``manage.py try_service --async`` hands this URL as ``Callback``; the body is accepted only
    with a valid ``X-Imagex-Dedup-Signature`` made with the service's ``callback_secret``.
    """
    service = DetectionService.objects.get(service_id=SERVICE_ID)
    try:
        callback_signing.verify(
            service.callback_secret, request.body, request.headers.get(callback_signing.HEADER, "")
        )
    except ValueError as error:
        return HttpResponseForbidden(str(error))
    payload = json.loads(request.body)
    logger.info("demo: callback for task %s, Status %s", payload.get("TaskId"), payload["Status"])
    return HttpResponse(status=204)
