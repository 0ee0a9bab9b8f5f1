"""Upload-check fixtures: a small library of real photos with real fingerprints in the index,
and a decompression bomb."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.support.records import store_fingerprint
from tests.support.review import make_photo
from tests.testapp.models import Photo


def library_photo(title: str, source: str, width: int = 480) -> Photo:
    photo = make_photo(title, source, width=width)
    store_fingerprint(photo, "image")
    return photo


@pytest.fixture
def library(db) -> dict[str, Photo]:
    """Two photos in the index: a frangipani (flower.jpg) and a test card."""
    return {
        "flower": library_photo("Frangipani", "flower.jpg"),
        "card": library_photo("Test card", "test-card.png"),
    }


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * 16) * 16)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks
