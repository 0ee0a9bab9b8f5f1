"""Perceptual fingerprint: signs of low-frequency DCT coefficients of several windows.

Pipeline (bench/README.md has the measurements behind each choice):

1. decode at reduced size (JPEG DCT scaling via ``load_image(draft_size=...)``), composite any
   alpha on white, reduce to at most :data:`WORK_SIZE` pixels on the long side;
2. trim uniform borders (solid frames added around a photo);
3. resize the luminance of the whole trimmed picture to 64x64, take the 2-D DCT-II and keep the
   signs of the 16x16 lowest frequencies: the 256-bit *full hash* (PDQ-like, sign instead of
   median threshold);
4. the same for :data:`WINDOWS` sub-windows (a centred one and side-anchored ones that cut 4 % or
   8 % off one side), but only the 10x10 lowest frequencies: 100-bit *window hashes*. A picture
   cropped on one side by 2-10 % lines up with one of the original's side windows within 2 %,
   which the full hash alone does not survive.

Layout (:data:`FINGERPRINT_BYTES` = 150 bytes): version byte, full hash (32 bytes), then each
window hash in 13 bytes (4 padding bits). Bits are row-major over (vertical, horizontal)
frequency and the DC bit is always 0.

Because bits are *signs* of DCT coefficients, the hashes of the eight dihedral transforms
(flips, 90-degree rotations) follow from the stored bits alone: a horizontal flip negates the
coefficients with an odd horizontal frequency, a transpose swaps the two frequency axes
(see :mod:`.scoring`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image

from imagex_dedup.engine.errors import ImageLoadError
from imagex_dedup.engine.loading import LoadLimits, load_image

FINGERPRINT_VERSION = 1

FULL_SIDE = 16
"""Frequencies per axis in the full hash."""
WINDOW_SIDE = 10
"""Frequencies per axis in each window hash."""
DCT_SIZE = 64
"""Every window is resized to ``DCT_SIZE x DCT_SIZE`` luminance samples before the DCT."""
WINDOWS: tuple[tuple[float, float, float, float], ...] = (  # (top, bottom, left, right)
    (0.05, 0.05, 0.05, 0.05),
    *((0.0, 0.0, cut, 0.0) for cut in (0.04, 0.08)),
    *((0.0, 0.0, 0.0, cut) for cut in (0.04, 0.08)),
    *((cut, 0.0, 0.0, 0.0) for cut in (0.04, 0.08)),
    *((0.0, cut, 0.0, 0.0) for cut in (0.04, 0.08)),
)
"""Sub-windows as fractions cut from (top, bottom, left, right) of the trimmed picture."""
WORK_SIZE = 256
"""Longest side the picture is reduced to before trimming; also the decode draft size."""

FULL_BYTES = FULL_SIDE * FULL_SIDE // 8
WINDOW_BYTES = -(-WINDOW_SIDE * WINDOW_SIDE // 8)
FINGERPRINT_BYTES = 1 + FULL_BYTES + len(WINDOWS) * WINDOW_BYTES

_POOL_MIN = 4
"""Fewest sources worth a process pool in :func:`fingerprint_many`."""
_TRIM_MAX = 0.25
"""Never trim more than this fraction of a side (a plain picture stays whole)."""
_TRIM_TOLERANCE = 10.0
"""Max per-channel deviation (0-255) from the edge colour for a line to count as border."""


def _dct_matrix(n: int, keep: int) -> np.ndarray:
    """Rows 0..keep-1 of the orthonormal DCT-II matrix of size ``n``."""
    k = np.arange(keep)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * k * (2 * x + 1) / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(DCT_SIZE, FULL_SIDE)


@dataclass(frozen=True)
class Fingerprint:
    """An immutable, compact (``FINGERPRINT_BYTES`` bytes) perceptual fingerprint."""

    data: bytes

    def to_bytes(self) -> bytes:
        return self.data

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Fingerprint:
        """Validate and wrap stored bytes; raise ``ValueError`` if they are not a fingerprint."""
        return cls(bytes(fingerprint_rows([data])[0]))

    def full_hash(self) -> np.ndarray:
        """The 256-bit full hash as 32 uint8 (packed, big-endian bit order)."""
        return np.frombuffer(self.data, np.uint8, FULL_BYTES, 1)

    def window_hashes(self) -> np.ndarray:
        """The window hashes as a ``(len(WINDOWS), WINDOW_BYTES)`` uint8 array."""
        offset = 1 + FULL_BYTES
        return np.frombuffer(self.data, np.uint8, len(WINDOWS) * WINDOW_BYTES, offset).reshape(
            len(WINDOWS), WINDOW_BYTES
        )


_PADDING_MASK = (1 << (WINDOW_BYTES * 8 - WINDOW_SIDE * WINDOW_SIDE)) - 1


def _raw(value: Fingerprint | bytes | bytearray | memoryview) -> bytes:
    if isinstance(value, Fingerprint):
        return value.data
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"fingerprint must be bytes, not {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != FINGERPRINT_BYTES:
        raise ValueError(f"fingerprint must be {FINGERPRINT_BYTES} bytes, got {len(raw)}")
    return raw


def fingerprint_rows(values: Sequence[Fingerprint | bytes | bytearray | memoryview]) -> np.ndarray:
    """Validate many fingerprints at once: a ``(n, FINGERPRINT_BYTES)`` uint8 matrix.

    Raises ``ValueError`` if any value is not a fingerprint (wrong type or length, another
    version, DC or padding bits set), checking the fields of all rows in one vectorised pass.
    """
    rows = np.frombuffer(b"".join(_raw(v) for v in values), np.uint8).reshape(-1, FINGERPRINT_BYTES)
    if np.any(rows[:, 0] != FINGERPRINT_VERSION):
        bad = rows[rows[:, 0] != FINGERPRINT_VERSION][0, 0]
        raise ValueError(f"unsupported fingerprint version {bad}")
    windows = rows[:, 1 + FULL_BYTES :].reshape(-1, len(WINDOWS), WINDOW_BYTES)
    if np.any(rows[:, 1] & 0x80) or np.any(windows[:, :, 0] & 0x80):
        raise ValueError("corrupt fingerprint: DC bit set")
    if np.any(windows[:, :, -1] & _PADDING_MASK):
        raise ValueError("corrupt fingerprint: padding bits set")
    return rows


def _flatten_alpha(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _border_depth(lines: np.ndarray, limit: int) -> int:
    """How many leading lines (axis 0 of ``lines``, shape (n, length, 3)) are uniform border."""
    edge = np.median(lines[0], axis=0)
    if np.abs(lines[0] - edge).max() > _TRIM_TOLERANCE:
        return 0  # the usual case: no frame, nothing more to look at
    deviation = np.abs(lines[:limit] - edge).max(axis=(1, 2))
    outside = np.flatnonzero(deviation > _TRIM_TOLERANCE)
    return int(outside[0]) if outside.size else 0


def trim_borders(pixels: np.ndarray) -> np.ndarray:
    """Remove solid-colour frames: leading/trailing rows and columns close to the edge colour.

    Each side is judged on its own and trimmed by at most ``_TRIM_MAX`` of the picture, so a
    plain picture (or one that is mostly sky) is left whole rather than trimmed to nothing.
    """
    h, w = pixels.shape[:2]
    limit_h, limit_w = int(h * _TRIM_MAX), int(w * _TRIM_MAX)
    if limit_h < 1 or limit_w < 1:
        return pixels
    top = _border_depth(pixels, limit_h)
    bottom = _border_depth(pixels[::-1], limit_h)
    left = _border_depth(pixels.transpose(1, 0, 2), limit_w)
    right = _border_depth(pixels.transpose(1, 0, 2)[::-1], limit_w)
    return pixels[top : h - bottom, left : w - right]


def _luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


Box = tuple[float, float, float, float]


def _window_box(size: tuple[int, int], cuts: Box) -> Box:
    """Pixel box (left, top, right, bottom) of a window given as cuts (top, bottom, left, right)."""
    w, h = size
    top, bottom, left, right = cuts
    return (w * left, h * top, w * (1 - right), h * (1 - bottom))


def _sign_bits(luma: Image.Image, box: Box, side: int) -> np.ndarray:
    """Signs of the ``side x side`` lowest DCT frequencies of ``box``, DC forced to 0, flat."""
    samples = np.asarray(luma.resize((DCT_SIZE, DCT_SIZE), Image.Resampling.BOX, box=box))
    dct = _DCT[:side]
    bits = dct @ samples.astype(np.float64) @ dct.T > 0
    bits[0, 0] = False
    return bits.ravel()


def fingerprint_image(image: Image.Image) -> Fingerprint:
    """Fingerprint an already decoded PIL image (any size, 8-bit modes).

    16-bit and float images should come through :func:`load_image`, which scales them to 8 bits;
    Pillow's own conversion would clip them.
    """
    rgb = _flatten_alpha(image)
    if max(rgb.size) > WORK_SIZE:
        rgb = rgb.copy()
        rgb.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
    luma = Image.fromarray(_luminance(trim_borders(np.asarray(rgb, dtype=np.float32))))
    full = _sign_bits(luma, (0, 0, *luma.size), FULL_SIDE)
    parts = [bytes([FINGERPRINT_VERSION]), np.packbits(full).tobytes()]
    parts.extend(
        np.packbits(_sign_bits(luma, _window_box(luma.size, cuts), WINDOW_SIDE)).tobytes()
        for cuts in WINDOWS
    )
    return Fingerprint(b"".join(parts))


Source = str | os.PathLike[str] | bytes | BinaryIO


def fingerprint(source: Source, *, limits: LoadLimits | None = None) -> Fingerprint:
    """Load ``source`` (path, bytes or binary file) safely and fingerprint it.

    Only about ``WORK_SIZE`` pixels per side are needed, so JPEGs are decoded with DCT scaling.
    Raises :class:`ImageLoadError` when the source cannot be loaded.
    """
    loaded = load_image(source, limits=limits, draft_size=(WORK_SIZE, WORK_SIZE))
    return fingerprint_image(loaded.image)


def _fingerprint_or_error(
    args: tuple[Source, LoadLimits | None],
) -> Fingerprint | ImageLoadError:
    source, limits = args
    try:
        return fingerprint(source, limits=limits)
    except ImageLoadError as error:
        return error


def fingerprint_many(
    sources: Sequence[Source], *, workers: int | None = None, limits: LoadLimits | None = None
) -> list[Fingerprint | ImageLoadError]:
    """Fingerprint many sources in a process pool; same order as ``sources``.

    ``workers`` defaults to the CPU count; 1, or fewer than :data:`_POOL_MIN` sources, runs
    in-process (a pool costs more than it saves there). Open file objects cannot cross process
    boundaries, so they are always read in the calling process. Load failures come back in place
    as :class:`ImageLoadError` values instead of aborting the batch.
    """
    results: list[Fingerprint | ImageLoadError | None] = [None] * len(sources)
    pooled = [i for i, s in enumerate(sources) if isinstance(s, str | bytes | os.PathLike)]
    workers = min(workers or os.cpu_count() or 1, len(pooled))
    if workers > 1 and len(pooled) >= _POOL_MIN:
        jobs = [(sources[i], limits) for i in pooled]
        chunksize = max(1, min(64, len(jobs) // (workers * 4)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, result in zip(
                pooled, pool.map(_fingerprint_or_error, jobs, chunksize=chunksize), strict=True
            ):
                results[i] = result
    for i, source in enumerate(sources):
        if results[i] is None:
            results[i] = _fingerprint_or_error((source, limits))
    return results  # type: ignore[return-value]  # every slot filled above
