"""What a member's file says about itself: EXIF capture data, orientation tag, JPEG quality.

Read from the file's header only (Pillow opens lazily, no pixels are decoded), and cached in the
default cache under the file's content hash, so a review page or a keeper choice reads each file
once. These facts feed the keeper rule (:mod:`imagex_dedup.review.keeper`) and the review page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from PIL import ExifTags, Image

from imagex_dedup.models import DuplicateGroupMember
from imagex_dedup.review.thumbnails import member_file

CACHE_PREFIX = "imagex_dedup:picture:v2:"
CACHE_SECONDS = 7 * 24 * 3600
LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "TIFF", "PPM", "TGA"})
MIRRORING_ORIENTATIONS = frozenset({2, 4, 5, 7})
"""EXIF orientation values that display the stored pixels mirrored."""

# The IJG (libjpeg) luminance table at quality 50, which encoders scale for other qualities.
_IJG_LUMINANCE_SUM = sum(
    (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
)  # fmt: skip


@dataclass(frozen=True)
class PictureFacts:
    """``taken``/``camera``: EXIF capture date and make/model ("" when absent); ``orientation``:
    the EXIF orientation tag (1 when absent); ``quality``: estimated JPEG quality 1-100, 100 for
    lossless formats, ``None`` when unknown (other lossy formats, unreadable files)."""

    taken: str = ""
    camera: str = ""
    orientation: int = 1
    quality: int | None = None

    @property
    def has_capture_data(self) -> bool:
        return bool(self.taken or self.camera)

    @property
    def mirrored_by_tag(self) -> bool:
        return self.orientation in MIRRORING_ORIENTATIONS


UNKNOWN = PictureFacts()


def jpeg_quality(quantization: dict[int, list[int]]) -> int | None:
    """The IJG quality (1-100) whose scaled luminance table is closest to table 0."""
    table = quantization.get(0)
    if not table:
        return None
    scale = 100.0 * sum(table) / _IJG_LUMINANCE_SUM  # IJG: scale = 5000/q (q<50), 200-2q
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return max(1, min(100, round(quality)))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ").strip() if value else ""


def _exif_date(value: str) -> str:
    """EXIF writes "2003:12:14 12:01:44"; show "2003-12-14 12:01:44"."""
    date, _, time = value.partition(" ")
    return f"{date.replace(':', '-')} {time}".strip() if date.count(":") == 2 else value


def read_facts(image: Image.Image) -> PictureFacts:
    """The facts of an opened (not necessarily decoded) image."""
    exif = image.getexif()
    capture = exif.get_ifd(ExifTags.IFD.Exif)
    taken = _exif_date(
        _text(capture.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime))
    )
    make, model = _text(exif.get(ExifTags.Base.Make)), _text(exif.get(ExifTags.Base.Model))
    camera = model if make and model.startswith(make) else f"{make} {model}".strip()
    orientation = exif.get(ExifTags.Base.Orientation, 1)
    if image.format in {"JPEG", "MPO"}:
        quality = jpeg_quality(getattr(image, "quantization", None) or {})
    else:
        quality = 100 if image.format in LOSSLESS_FORMATS else None
    return PictureFacts(
        taken=taken,
        camera=camera,
        orientation=orientation if isinstance(orientation, int) else 1,
        quality=quality,
    )


def member_facts(member: DuplicateGroupMember) -> PictureFacts:
    """The facts of a member's file (``UNKNOWN`` when the object or file is gone or unreadable)."""
    return members_facts([member])[member.pk]


def members_facts(members: Sequence[DuplicateGroupMember]) -> dict[int, PictureFacts]:
    """Member pk -> facts, read from the cache in one round trip; files only for the misses."""
    files = {m.pk: (m, file) for m in members if (file := member_file(m)) is not None}
    keys = {pk: _cache_key(m, file) for pk, (m, file) in files.items()}
    cached = cache.get_many(set(keys.values()))
    result = dict.fromkeys((m.pk for m in members), UNKNOWN)
    for pk, (_member, file) in files.items():
        if keys[pk] in cached:
            result[pk] = PictureFacts(**cached[keys[pk]])
            continue
        try:
            with file.storage.open(file.name, "rb") as fh, Image.open(fh) as image:
                result[pk] = read_facts(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            continue
        cache.set(keys[pk], asdict(result[pk]), CACHE_SECONDS)
    return result


def _cache_key(member: DuplicateGroupMember, file: FieldFile) -> str:
    fp = member.fingerprint
    return f"{CACHE_PREFIX}{fp.content_hash if fp and fp.content_hash else file.name}"
