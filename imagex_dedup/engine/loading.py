"""Safe image loading: bounded reads, format allow-list, decompression-bomb and corruption checks.

Every failure on untrusted input becomes an :class:`ImageLoadError` with a stable code; nothing
else escapes :func:`load_image`. Pillow's process-wide settings (``LOAD_TRUNCATED_IMAGES``,
``MAX_IMAGE_PIXELS``) are read, never changed: the pixel limit is enforced here, per call.

HEIC/HEIF (phone photos) are read through ``pillow-heif`` when it is installed, AVIF through
Pillow's own plugin (Pillow 11.3+ wheels): both under the same byte, pixel and format limits.
``pillow-heif`` costs about a tenth of a second to import, so it is registered only when a HEIF
file actually comes along (the ISO-BMFF ``ftyp`` box names a HEIF brand).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from imagex_dedup.engine.errors import ImageLoadError

DEFAULT_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO", "HEIF", "AVIF"})
"""Formats accepted by default; HEIF and AVIF only where their decoders are installed."""

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_HEIF_EXTENSIONS = {".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF"}

_TRANSPARENT_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})
_GREY_MODES = frozenset({"1", "L", "LA"})
_SNIFF_BYTES = 64


@dataclass(frozen=True)
class LoadLimits:
    """Resource limits for one image; the defaults suit photos from untrusted users."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 50_000_000
    formats: frozenset[str] = DEFAULT_FORMATS


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image plus facts about the original file.

    ``image`` is fully decoded, in mode ``RGB`` or ``L``, upright (EXIF orientation applied) and,
    for JPEG, possibly reduced by DCT scaling to no less than ``draft_size``. ``width`` and
    ``height`` are the full size of the original after orientation, whatever was decoded.
    """

    image: Image.Image
    width: int
    height: int
    format: str
    byte_size: int
    content_hash: str


def load_image(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    limits: LoadLimits | None = None,
    draft_size: tuple[int, int] | None = (256, 256),
) -> LoadedImage:
    """Load an image from a filesystem path, bytes or a binary file object.

    A ``str`` is always a path, never a URL (download URLs with :mod:`.fetch` first). Raises
    :class:`ImageLoadError` on any problem with the input.
    """
    limits = limits or LoadLimits()
    data = _read_source(source, limits.max_bytes)
    image = _open(data, limits)
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageLoadError(
            "too_many_pixels",
            f"image is {width}x{height} = {width * height} pixels, "
            f"more than the limit of {limits.max_pixels}",
        )
    image_format = image.format or "unknown"
    decoded, orientation = _decode(image, image_format, draft_size)
    if orientation in {5, 6, 7, 8}:  # these orientations turn the image by 90 degrees
        width, height = height, width
    return LoadedImage(
        image=decoded,
        width=width,
        height=height,
        format=image_format,
        byte_size=len(data),
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def _read_source(source: str | os.PathLike[str] | bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        data = _read_path(os.fspath(source), max_bytes)
    elif hasattr(source, "read"):
        data = _read_stream(source, max_bytes)
    else:
        raise TypeError(f"cannot load an image from {type(source).__name__}")
    if len(data) > max_bytes:
        raise ImageLoadError("too_large", f"image is larger than the limit of {max_bytes} bytes")
    if not data:
        raise ImageLoadError("not_an_image", "the input is empty")
    return data


def _read_path(path: str, max_bytes: int) -> bytes:
    try:
        # Refuse FIFOs, devices and directories: reading them could block or never end.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ImageLoadError("not_found", f"{path!r} is not a regular file")
        with open(path, "rb") as stream:
            return _read_stream(stream, max_bytes)
    except OSError as exc:
        raise ImageLoadError("not_found", f"cannot read {path!r}: {exc.strerror or exc}") from exc


def _read_stream(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes (one more reveals an oversized input)."""
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def image_extensions(formats: frozenset[str] = DEFAULT_FORMATS) -> set[str]:
    """File extensions (lower case, with the dot) of the image formats in ``formats``."""
    Image.init()
    known = {**Image.registered_extensions(), **_HEIF_EXTENSIONS}
    return {extension for extension, name in known.items() if name in formats}


def _register_heif(data: bytes, formats: frozenset[str]) -> bool:
    """Register ``pillow-heif`` if ``data`` is a HEIF file and HEIF is allowed; True if it is
    (now) registered. Without the package, HEIF files stay unidentified."""
    if "HEIF" not in formats or data[4:8] != b"ftyp" or data[8:12] not in _HEIF_BRANDS:
        return False
    if "HEIF" not in Image.OPEN:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            return False
        register_heif_opener()
    return True


def _open(data: bytes, limits: LoadLimits) -> Image.Image:
    """Identify the format and parse the header only (no pixel data is decoded yet)."""
    _register_heif(data, limits.formats)
    try:
        image = Image.open(io.BytesIO(data), formats=_opener_names(limits.formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own process-wide guard fired while parsing the header (the warning becomes
        # an exception when the host runs with warnings as errors).
        raise ImageLoadError("too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError:
        raise _classify_unidentified(data, limits.formats) from None
    except Exception as exc:  # a plugin choked on a hostile header
        raise ImageLoadError("corrupt", f"cannot parse the image header: {exc}") from exc
    if not _format_allowed(image.format, limits.formats):
        allowed = ", ".join(sorted(limits.formats))
        message = f"{image.format} images are not accepted (allowed: {allowed})"
        raise ImageLoadError("unsupported_format", message)
    return image


def _format_allowed(image_format: str | None, formats: frozenset[str]) -> bool:
    # An MPO (camera multi-picture file) is a JPEG with extra frames appended: any JPEG reader
    # decodes its first frame, so allowing JPEG allows MPO.
    return image_format in formats or (image_format == "MPO" and "JPEG" in formats)


def _opener_names(formats: frozenset[str]) -> list[str]:
    """Pillow plugin names to try; MPO files are opened by the JPEG plugin."""
    Image.init()
    names = {name for name in formats if name in Image.OPEN}
    if "MPO" in formats:
        names.add("JPEG")
    return sorted(names)


def _classify_unidentified(data: bytes, formats: frozenset[str]) -> ImageLoadError:
    """Tell a damaged allowed image from another image format from something else entirely."""
    prefix = data[:_SNIFF_BYTES]
    for name in _opener_names(formats):
        accept = Image.OPEN.get(name, (None, None))[1]
        if accept is not None and accept(prefix):
            return ImageLoadError("corrupt", f"the data starts like {name} but cannot be parsed")
    try:
        with Image.open(io.BytesIO(data)) as other:
            other_format = other.format
    except Exception:  # any failure means: not an image Pillow knows
        return ImageLoadError("not_an_image", "the data is not a recognised image")
    allowed = ", ".join(sorted(formats))
    message = f"{other_format} images are not accepted (allowed: {allowed})"
    return ImageLoadError("unsupported_format", message)


def _decode(
    image: Image.Image, image_format: str, draft_size: tuple[int, int] | None
) -> tuple[Image.Image, int]:
    """Decode the first frame (reduced where the codec allows) into upright RGB or L.

    Returns the image and the EXIF orientation that was applied.
    """
    try:
        if draft_size is not None and image_format in {"JPEG", "MPO"}:
            # Only the DCT scale needed for draft_size is decoded: much faster for big photos.
            image.draft("L" if image.mode == "L" else "RGB", draft_size)
        image.load()
        orientation = _orientation(image)
        if orientation in range(2, 9):
            image = ImageOps.exif_transpose(image)
        return _to_rgb_or_grey(image), orientation
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError("too_many_pixels", str(exc)) from exc
    except Exception as exc:
        # Pillow raises OSError for truncated data and a zoo of other exceptions (ValueError,
        # SyntaxError, struct.error, ...) for malformed data; all of them mean "corrupt" here.
        raise ImageLoadError(
            "corrupt", f"{image_format} data is damaged or truncated: {exc}"
        ) from exc


def _orientation(image: Image.Image) -> int:
    """EXIF orientation (1 = upright); malformed EXIF counts as upright rather than failing."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) else 1


def _to_rgb_or_grey(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB (colour) or L (greyscale); transparency goes over white."""
    mode = image.mode
    if mode in _TRANSPARENT_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(background, rgba)
        return flattened.convert("L" if mode in _GREY_MODES else "RGB")
    if mode in {"RGB", "L"}:
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I") or mode == "F":
        # 16/32-bit and float greyscale: Pillow's convert("L") clips, so scale 16-bit samples.
        wide = image if mode == "F" else image.convert("I")
        if wide.getextrema()[1] > 255:
            wide = wide.point(lambda value: value * (255 / 65535))
        return wide.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, ...
