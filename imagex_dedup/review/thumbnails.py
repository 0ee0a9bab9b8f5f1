"""Small previews of group members for review pages, made by the app and cached in storage.

Pages never embed the host's full files: they point ``<img>`` tags at :func:`thumbnail_view`,
which checks the viewer's permission (host media may be private), makes the thumbnail on first
request and serves the cached copy afterwards. A thumbnail is stored in the default storage under
a name derived from the source name, the size and the source's content hash (from the member's
``ImageFingerprint``; the stored file size when there is none), so a replaced file gets a new
thumbnail and nothing needs invalidating.
"""

from __future__ import annotations

import hashlib
import io

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET
from PIL import Image, ImageOps

from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import DuplicateGroupMember
from imagex_dedup.review import perms
from imagex_dedup.review.history import removed_objects

PREFIX = "imagex_dedup/thumbs"
SIZES = {"thumb": "THUMBNAIL_SIZE", "preview": "PREVIEW_SIZE"}


def thumbnail_name(source_name: str, size: int, content_hash: str) -> str:
    key = hashlib.sha256(f"{source_name}\0{size}\0{content_hash}".encode()).hexdigest()
    return f"{PREFIX}/{key[:2]}/{key}.jpg"


def render_thumbnail(field_file: FieldFile, size: int) -> bytes:
    """JPEG bytes of ``field_file`` fitted into ``size`` x ``size``.

    ``draft`` lets JPEG decoding scale down while reading, so big photos stay cheap.
    """
    with field_file.storage.open(field_file.name, "rb") as fh, Image.open(fh) as im:
        if im.width * im.height > dedup_settings.max_image_pixels:
            raise ValueError(f"{field_file.name} has too many pixels for a thumbnail")
        im.draft("RGB", (size, size))
        image = ImageOps.exif_transpose(im).convert("RGB")
    image.thumbnail((size, size))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85, optimize=True)
    return buf.getvalue()


def get_thumbnail(field_file: FieldFile, size: int, content_hash: str = "") -> str:
    """The storage name of ``field_file``'s thumbnail, made now if it is not cached yet."""
    key = content_hash or str(field_file.storage.size(field_file.name))
    name = thumbnail_name(field_file.name, size, key)
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(render_thumbnail(field_file, size)))
        if saved != name:  # another request made it meanwhile: keep one copy
            default_storage.delete(saved)
    return name


def member_file(member: DuplicateGroupMember) -> FieldFile | None:
    """The member's image file, or None when the object or its file is gone. A duplicate a
    merge deleted still shows its file while the file exists (merges keep files by default)."""
    obj = member.content_object
    if obj is not None:
        file = getattr(obj, member.field_name, None)
        return file if isinstance(file, FieldFile) and file.name else None
    removed = removed_objects(member.group).get(member.object_id)
    file = getattr(removed, member.field_name, None) if removed is not None else None
    if isinstance(file, FieldFile) and file.name and file.storage.exists(file.name):
        return file
    return None


def thumbnail_url(member: DuplicateGroupMember, kind: str = "thumb") -> str:
    url = reverse("imagex_dedup:thumbnail", args=[member.pk])
    return url if kind == "thumb" else f"{url}?size={kind}"


def thumbnail_response(member: DuplicateGroupMember, kind: str) -> FileResponse:
    """The thumbnail (``kind`` "thumb") or preview of a member as a JPEG response; 404 when the
    size is unknown or the picture cannot be made."""
    setting = SIZES.get(kind)
    file = member_file(member)
    if setting is None or file is None:
        raise Http404("No such thumbnail")
    content_hash = member.fingerprint.content_hash if member.fingerprint else ""
    return file_thumbnail_response(file, int(getattr(dedup_settings, setting)), content_hash)


def file_thumbnail_response(file: FieldFile, size: int, content_hash: str) -> FileResponse:
    """The cached thumbnail of ``file`` as a private response (404 when it cannot be read)."""
    try:
        name = get_thumbnail(file, size, content_hash)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise Http404("The image cannot be read") from exc
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


def visible_member(user: object, member_id: int) -> DuplicateGroupMember:
    """A member of a group ``user`` may review (404 otherwise: its existence is not revealed)."""
    return get_object_or_404(
        DuplicateGroupMember.objects.select_related("fingerprint", "group"),
        pk=member_id,
        group__in=perms.visible_groups(user),
    )


@require_GET
def thumbnail_view(request: HttpRequest, member_id: int) -> FileResponse:
    """Serve a member's thumbnail (``?size=preview`` for the large one) to reviewers only, with
    the admin's login session (the REST API has its own: ``api/members/<id>/image/``)."""
    if not perms.can_view(request.user):
        raise PermissionDenied
    member = visible_member(request.user, member_id)
    return thumbnail_response(member, request.GET.get("size", "thumb"))
