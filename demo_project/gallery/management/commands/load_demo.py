"""``manage.py load_demo``: the bundled sample photos, near-duplicates of them, and references.

Idempotent: objects are looked up by title/name, so running it again creates only what is
missing (for instance the duplicates a merge deleted, which resets the demo).
Saving a photo or an avatar schedules a dedup check like in any host project; ``--sync`` runs
those checks in this process (django-q2's sync mode), so the admin shows groups before a
``qcluster`` worker has started. Without it they wait in the ORM queue for the worker. The
django-q2 and per-check log lines of that run are left out unless ``-v 2`` asks for them.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandParser
from django.db import models
from django_q.conf import Conf
from django_q.models import OrmQ
from PIL import Image

from demo_project.gallery.models import Album, Author, Photo, Post
from imagex_dedup.models import AccessKey, DetectionService, DuplicateGroup
from tests.support.variants import make_variant

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_photos"
SERVICE_ID = "demo"
TRY_UPLOAD = Path("try_upload") / "heather-resized.jpg"
"""A resized copy of a sample photo, written under MEDIA_ROOT (no object holds it): uploading it
in the admin shows the upload check's warning."""

# Loggers that write a line or more per check run in this process.
CHATTY_LOGGERS = ("django-q", "imagex_dedup")


@contextmanager
def quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Only warnings and errors from the loggers ``names`` while the block runs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class Sample:
    """One image to load: a bundled file, or a named variant of it (``engine.variants``)."""

    title: str
    source: str
    variant: str | None = None

    def content(self) -> ContentFile:
        path = SAMPLE_DIR / self.source
        if self.variant is None:
            return ContentFile(path.read_bytes(), name=path.name)
        with Image.open(path) as original:
            image = make_variant(original, self.variant)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=92)
        return ContentFile(buffer.getvalue(), name=f"{path.stem}-{self.variant}.jpg")


PHOTOS = [
    Sample("Puppies", "app13-multiple.jpg"),
    Sample("Puppies (resized)", "app13-multiple.jpg", "resize"),
    Sample("Puppies (recompressed)", "app13-multiple.jpg", "jpeg_q30"),
    Sample("Mountain peak", "exif-72dpi-int.jpg"),
    Sample("Mountain peak (cropped)", "exif-72dpi-int.jpg", "crop_side"),
    Sample("Mountain peak (watermarked)", "exif-72dpi-int.jpg", "logo"),
    Sample("Frangipani", "flower.jpg"),
    Sample("Frangipani (mirrored)", "flower.jpg", "hflip"),
    Sample("Frangipani (resized, recompressed)", "flower.jpg", "resize_jpeg"),
    Sample("Heather", "flower2.jpg"),
    Sample("Heather (captioned)", "flower2.jpg", "text"),
    Sample("Test card", "test-card.png"),
]

AUTHORS = [
    Sample("Robin Knit", "iss634.webp"),
    Sample("R. Knit (old account)", "iss634.webp", "resize_jpeg"),
    Sample("Cabin Crew", "sugarshack.mpo"),
]

# name -> (cover title, photo titles)
ALBUMS = {
    "Dogs": (
        "Puppies (recompressed)",
        ["Puppies", "Puppies (resized)", "Puppies (recompressed)"],
    ),
    "Mountains": ("Mountain peak (watermarked)", ["Mountain peak", "Mountain peak (cropped)"]),
    "Flowers": ("Frangipani", ["Frangipani (mirrored)", "Heather", "Heather (captioned)"]),
}

# title -> (hero photo title, author name, body)
POSTS = {
    "A walk with the dogs": ("Puppies (resized)", "Robin Knit", "Three of them, one lead."),
    "Summit day": ("Mountain peak (cropped)", "Cabin Crew", "Snow all the way up."),
    "Spring is here": ("Heather (captioned)", "R. Knit (old account)", "The hills turn purple."),
    "Calibrating the screen": ("Test card", "Robin Knit", "Colours check out."),
}


class Command(BaseCommand):
    help = (
        "Load the demo gallery: sample photos, near-duplicates of them, albums, posts, authors "
        "and the detection service 'demo' with an access key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Run the duplicate checks in this process instead of leaving them to qcluster.",
        )

    def handle(self, *args: Any, sync: bool = False, **options: Any) -> None:
        # Q_CLUSTER is read at import, so sync mode is switched on the loaded Conf.
        previous, Conf.SYNC = Conf.SYNC, sync or Conf.SYNC
        try:
            with quiet(CHATTY_LOGGERS if options["verbosity"] < 2 else ()):
                photos = self._load(Photo, "title", "image", PHOTOS)
                authors = self._load(Author, "name", "avatar", AUTHORS)
        finally:
            Conf.SYNC = previous
        self._link(photos, authors)
        access_key = self._service()
        try_upload = self._try_upload_file()

        open_groups = DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN).count()
        self.stdout.write(
            f"Demo data: {Photo.objects.count()} photos, {Author.objects.count()} authors, "
            f"{Album.objects.count()} albums, {Post.objects.count()} posts, "
            f"{open_groups} open duplicate groups."
        )
        queued = OrmQ.objects.count()
        if queued:
            self.stdout.write(f"{queued} task(s) queued: start `python manage.py qcluster`.")
        self.stdout.write(f"Upload check: try uploading {try_upload} as a new photo in the admin.")
        self.stdout.write(
            f"Detection service '{SERVICE_ID}': AccessKeyId {access_key.access_key_id} "
            f"SecretAccessKey {access_key.secret_access_key}"
        )

    def _load(
        self, model: type[models.Model], key: str, field: str, samples: list[Sample]
    ) -> dict[str, Any]:
        """Create the samples that are missing, one save each (so each schedules its check)."""
        objects = {}
        for sample in samples:
            obj = model.objects.filter(**{key: sample.title}).first()
            if obj is None:
                obj = model(**{key: sample.title, field: sample.content()})
                obj.save()
                self.stdout.write(f"  + {model._meta.verbose_name} {sample.title!r}")
            objects[sample.title] = obj
        return objects

    def _link(self, photos: dict[str, Photo], authors: dict[str, Author]) -> None:
        for name, (cover, members) in ALBUMS.items():
            album, _ = Album.objects.update_or_create(name=name, defaults={"cover": photos[cover]})
            album.photos.set([photos[title] for title in members])
        for title, (hero, author, body) in POSTS.items():
            Post.objects.update_or_create(
                title=title,
                defaults={"hero": photos[hero], "author": authors[author], "body": body},
            )

    def _try_upload_file(self) -> Path:
        """Write a resized copy of "Heather" for trying the upload check (once)."""
        path = Path(settings.MEDIA_ROOT) / TRY_UPLOAD
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(SAMPLE_DIR / "flower2.jpg") as original:
                small = original.convert("RGB").resize((original.width // 2, original.height // 2))
            small.save(path, "JPEG", quality=80)
        return path

    def _service(self) -> AccessKey:
        """The service 'demo', which may fetch from this machine (the demo serves its photos)."""
        service, _ = DetectionService.objects.get_or_create(
            service_id=SERVICE_ID,
            defaults={
                "name": "Demo service",
                "allowed_url_hosts": ["127.0.0.1", "localhost"],
                "allow_private_urls": True,
                "callback_secret": secrets.token_hex(32),
            },
        )
        key = service.access_keys.filter(is_active=True).first()
        if key is None:
            key = AccessKey.objects.create(
                service=service,
                access_key_id="AKLTdemo" + secrets.token_hex(12),
                secret_access_key=secrets.token_urlsafe(30),
            )
        return key
