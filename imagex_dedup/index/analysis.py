"""Analysis: load and fingerprint one host image file, with the site's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from django.core.files.storage import FileSystemStorage
from django.db import models

from imagex_dedup import engine
from imagex_dedup.conf import dedup_settings

Source = str | bytes | BinaryIO


@dataclass(frozen=True)
class Analysis:
    """What the index stores about one image file, or why it could not be read."""

    fingerprint: bytes | None = None
    width: int | None = None
    height: int | None = None
    format: str = ""
    byte_size: int | None = None
    content_hash: str = ""
    error: str = ""


def analyse(source: Source, limits: engine.LoadLimits) -> Analysis:
    """Load and fingerprint one image; a module-level function so process pools can run it."""
    try:
        loaded = engine.load_image(source, limits=limits)
    except engine.ImageLoadError as error:
        return Analysis(error=f"{error.code}: {error}")
    return Analysis(
        fingerprint=engine.fingerprint_image(loaded.image).to_bytes(),
        width=loaded.width,
        height=loaded.height,
        format=loaded.format,
        byte_size=loaded.byte_size,
        content_hash=loaded.content_hash,
    )


def analyse_field_file(field_file: models.fields.files.FieldFile) -> Analysis:
    """Stream the file from its storage (no local path assumed) and analyse it."""
    try:
        with field_file.storage.open(field_file.name, "rb") as stream:
            return analyse(stream, dedup_settings.load_limits())
    except OSError as error:
        return Analysis(error=f"not_found: {error}")


def portable_source(field_file: models.fields.files.FieldFile) -> str | bytes:
    """What a worker process can load the file from: its path when the storage keeps local
    files (``FileSystemStorage``), else its bytes, read up to one byte over the size limit so
    the engine refuses an oversized file. Raises ``OSError`` when the file cannot be opened.

    ``Storage.path()`` alone proves nothing: ``InMemoryStorage`` returns paths that are not
    its files.
    """
    if isinstance(field_file.storage, FileSystemStorage):
        return field_file.storage.path(field_file.name)
    with field_file.storage.open(field_file.name, "rb") as stream:
        return stream.read(dedup_settings.max_image_bytes + 1)
