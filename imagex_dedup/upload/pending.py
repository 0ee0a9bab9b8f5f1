"""Uploads kept while a form is shown again with a duplicate warning, so the editor need not
choose the file again.

The file goes to the default storage (shared by every web server) under
``imagex_dedup/pending/<random>/``; the form carries a signed token naming it, bound to one user
and valid for a day, so nobody can point a form at another user's upload or at any other stored
file. The kept copy is deleted once the form is saved, and a one-off django-q2 schedule deletes it
after a day when the form is abandoned.
"""

from __future__ import annotations

import logging
import mimetypes
import secrets
from datetime import timedelta
from pathlib import PurePath
from typing import IO

from django.core import signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PREFIX = "imagex_dedup/pending"
MAX_AGE = timedelta(days=1)
SALT = "imagex_dedup.upload.pending"
DISCARD_TASK = "imagex_dedup.upload.pending.discard"


def _salt(owner: str) -> str:
    return f"{SALT}:{owner}"


def keep(upload: UploadedFile, owner: str) -> str:
    """Store a copy of ``upload`` and return the token that restores it for ``owner`` (a user
    id, or ``""`` for anonymous forms)."""
    original = PurePath(upload.name or "upload").name
    stored = default_storage.save(f"{PREFIX}/{secrets.token_hex(16)}/{original}", upload)
    upload.seek(0)
    _discard_later(stored)
    content_type = getattr(upload, "content_type", None) or mimetypes.guess_type(original)[0]
    return signing.dumps(
        {"stored": stored, "name": original, "type": content_type or ""}, salt=_salt(owner)
    )


def restore(token: str, owner: str) -> UploadedFile | None:
    """The upload a token names, opened from storage; ``None`` for a token that is forged,
    expired, someone else's, or whose file is gone."""
    try:
        kept = signing.loads(token, salt=_salt(owner), max_age=MAX_AGE)
        stored, name, content_type = kept["stored"], kept["name"], kept["type"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    if not str(stored).startswith(f"{PREFIX}/"):
        return None
    try:
        stream: IO[bytes] = default_storage.open(stored, "rb")
        size = default_storage.size(stored)
    except OSError:
        return None
    restored = UploadedFile(stream, name=name, content_type=content_type or None, size=size)
    restored.imagex_dedup_kept_as = stored  # type: ignore[attr-defined]
    return restored


def discard(stored: str) -> None:
    """Delete a kept upload (never anything outside the pending folder)."""
    if str(stored).startswith(f"{PREFIX}/"):
        default_storage.delete(stored)


def _discard_later(stored: str) -> None:
    from django_q.models import Schedule

    try:
        with transaction.atomic():  # a savepoint: a failure here must not break the request's
            Schedule.objects.create(
                name=f"imagex_dedup discard {stored}"[:100],
                func=DISCARD_TASK,
                args=repr((stored,)),
                schedule_type=Schedule.ONCE,
                repeats=-1,  # deleted once it has run
                next_run=timezone.now() + MAX_AGE,
            )
    except Exception:
        logger.exception("imagex_dedup: could not schedule the removal of %s", stored)
