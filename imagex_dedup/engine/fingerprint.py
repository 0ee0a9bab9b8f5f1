"""Perceptual fingerprint: signs of low-frequency DCT coefficients of several windows.

Pipeline (bench/README.md has the measurements behind each choice):

1. decode at reduced size (JPEG DCT scaling via ``load_image(draft_size=...)``), composite any
   alpha on white, reduce to at most :data:`WORK_SIZE` pixels on the long side;
2. trim uniform borders (solid frames added around a photo);
3. resize the luminance of the whole trimmed picture to 64x64, take the 2-D DCT-II and keep the
   signs of the 16x16 lowest frequencies: the 256-bit *full hash* (PDQ-like, sign instead of
   median threshold);
4. the same for :data:`WINDOWS` sub-windows (two centred ones that cut 5 % and 10 % off every
   side, and side-anchored ones that cut 4 % or 8 % off one side), but only the 10x10 lowest
   frequencies: 100-bit *window hashes*. A picture cropped on one side by 2-10 % lines up with
   one of the original's side windows within 2 %, which the full hash alone does not survive;
   the centred windows line up a centred crop and a picture padded by a quarter each way;
5. the same for :data:`MASKED` windows that each leave out an 18 % band along one side (a
   caption box, a logo or a banner near that side leaves them unchanged), and for the centred
   windows of the picture tilted by each of :data:`TILTS` (a tilt of 2-5 degrees is within 1.5
   degrees of one of them); compared window to window, not indexed;
6. the same for the *content window* (:mod:`.content`): the centred rectangle that holds the
   picture's sharp detail, found on the picture before trimming, then trimmed like the whole
   picture, when it is at least :data:`CONTENT_MIN_CUT` smaller on one axis than the trimmed
   picture (a photo pasted on a blurred, enlarged copy of itself; then it lines up with the
   original's whole picture); all bits 0 when there is none;
7. the mean luminance of each cell of a :data:`GRID_SIDE` x :data:`GRID_SIDE` grid over the
   64x64 samples of step 3, one byte each: the *grid*. Scoring compares grids by rank (so
   brightness, contrast and gamma do not matter) and ignores the worst cells (so an overlay or
   the corners of a tilt do not either), and tells low-detail pictures by it; see :mod:`.scoring`.

Layout (:data:`FINGERPRINT_BYTES` bytes): version byte, full hash (32 bytes), the
:data:`REGIONS` hashes of steps 4-6 (windows, masked windows, the tilted windows angle by
angle, then the content window) in 13 bytes each (4 padding bits), then the grid (row-major).
Hash bits are row-major over (vertical, horizontal) frequency and the DC bit is always 0.

Because bits are *signs* of DCT coefficients, the hashes of the eight dihedral transforms
(flips, 90-degree rotations) follow from the stored bits alone: a horizontal flip negates the
coefficients with an odd horizontal frequency, a transpose swaps the two frequency axes
(see :mod:`.scoring`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image

from imagex_dedup.engine.content import padding
from imagex_dedup.engine.errors import ImageLoadError
from imagex_dedup.engine.loading import LoadLimits, load_image

FINGERPRINT_VERSION = 3
"""Bumped whenever the bytes of a picture's fingerprint change (stored ones are then refreshed).
2: relative trim tolerance, 10 % centred window, masked and tilted windows, grid.
3: content window."""

FULL_SIDE = 16
"""Frequencies per axis in the full hash."""
WINDOW_SIDE = 10
"""Frequencies per axis in each window hash."""
DCT_SIZE = 64
"""Every window is resized to ``DCT_SIZE x DCT_SIZE`` luminance samples before the DCT."""
WINDOWS: tuple[tuple[float, float, float, float], ...] = (  # (top, bottom, left, right)
    (0.05, 0.05, 0.05, 0.05),
    (0.10, 0.10, 0.10, 0.10),
    *((0.0, 0.0, cut, 0.0) for cut in (0.04, 0.08)),
    *((0.0, 0.0, 0.0, cut) for cut in (0.04, 0.08)),
    *((cut, 0.0, 0.0, 0.0) for cut in (0.04, 0.08)),
    *((0.0, cut, 0.0, 0.0) for cut in (0.04, 0.08)),
)
"""Sub-windows as fractions cut from (top, bottom, left, right) of the trimmed picture: the
first :data:`CENTRED_WINDOWS` are centred, the others cut one side."""
CENTRED_WINDOWS = 2
MASKED: tuple[tuple[float, float, float, float], ...] = (
    (0.18, 0.0, 0.0, 0.0),
    (0.0, 0.18, 0.0, 0.0),
    (0.0, 0.0, 0.18, 0.0),
    (0.0, 0.0, 0.0, 0.18),
)
"""Windows that leave out one side's band, as (top, bottom, left, right) cuts: top, bottom,
left, right, in that order (:mod:`.scoring` maps them through flips and rotations)."""
TILTS = (3.5, -3.5)
"""Angles (degrees, anticlockwise) of the tilted pictures whose centred windows are hashed."""
CONTENT_MIN_CUT = 0.04
"""A content window must be this much smaller than the trimmed picture on one axis to count."""
GRID_SIDE = 8
"""Cells per axis of the grid of mean luminances."""
WORK_SIZE = 256
"""Longest side the picture is reduced to before trimming; also the decode draft size."""

FULL_BYTES = FULL_SIDE * FULL_SIDE // 8
WINDOW_BYTES = -(-WINDOW_SIDE * WINDOW_SIDE // 8)
GRID_BYTES = GRID_SIDE * GRID_SIDE
TILTED = len(TILTS) * CENTRED_WINDOWS
"""Tilted window hashes: the centred windows of each tilted picture."""
CONTENT = len(WINDOWS) + len(MASKED) + TILTED
"""Index of the content window among the region hashes (the last one)."""
REGIONS = CONTENT + 1
"""Hashes stored after the full hash: windows, masked windows, tilted centred windows, content
window."""
GRID_OFFSET = 1 + FULL_BYTES + REGIONS * WINDOW_BYTES
FINGERPRINT_BYTES = GRID_OFFSET + GRID_BYTES

_POOL_MIN = 4
"""Fewest sources worth a process pool in :func:`fingerprint_many`."""
_TRIM_MAX = 0.25
"""Never trim more than this fraction of a side (a plain picture stays whole)."""
_TRIM_TOLERANCE = 10.0
"""Max per-channel deviation (0-255) from the edge colour for a line to count as border..."""
_TRIM_RELATIVE = 0.2
"""...and at most this fraction of the picture's luminance standard deviation, at least
:data:`_TRIM_FLOOR`: in a dark or flat picture the soft edge of a blurred background or a night
sky differs from its frame colour by less than 10 levels, and would be trimmed part of the way."""
_TRIM_FLOOR = 3.0


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

    def region_hashes(self) -> np.ndarray:
        """Window, masked and tilted hashes as a ``(REGIONS, WINDOW_BYTES)`` uint8 array."""
        return np.frombuffer(self.data, np.uint8, REGIONS * WINDOW_BYTES, 1 + FULL_BYTES).reshape(
            REGIONS, WINDOW_BYTES
        )

    def window_hashes(self) -> np.ndarray:
        """The window hashes as a ``(len(WINDOWS), WINDOW_BYTES)`` uint8 array."""
        return self.region_hashes()[: len(WINDOWS)]

    def grid(self) -> np.ndarray:
        """Mean luminance (0-255) of each grid cell, ``(GRID_SIDE, GRID_SIDE)`` uint8."""
        return np.frombuffer(self.data, np.uint8, GRID_BYTES, GRID_OFFSET).reshape(
            GRID_SIDE, GRID_SIDE
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
    windows = rows[:, 1 + FULL_BYTES : GRID_OFFSET].reshape(-1, REGIONS, WINDOW_BYTES)
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


def _border_depth(lines: np.ndarray, limit: int, tolerance: float) -> int:
    """How many leading lines (axis 0 of ``lines``, shape (n, length, 3)) are uniform border."""
    edge = np.median(lines[0], axis=0)
    if np.abs(lines[0] - edge).max() > tolerance:
        return 0  # the usual case: no frame, nothing more to look at
    deviation = np.abs(lines[:limit] - edge).max(axis=(1, 2))
    outside = np.flatnonzero(deviation > tolerance)
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
    spread = float(_luminance(pixels).std())
    tolerance = min(_TRIM_TOLERANCE, max(_TRIM_FLOOR, _TRIM_RELATIVE * spread))
    top = _border_depth(pixels, limit_h, tolerance)
    bottom = _border_depth(pixels[::-1], limit_h, tolerance)
    left = _border_depth(pixels.transpose(1, 0, 2), limit_w, tolerance)
    right = _border_depth(pixels.transpose(1, 0, 2)[::-1], limit_w, tolerance)
    return pixels[top : h - bottom, left : w - right]


def _luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


Box = tuple[float, float, float, float]


def _window_box(size: tuple[int, int], cuts: Box) -> Box:
    """Pixel box (left, top, right, bottom) of a window given as cuts (top, bottom, left, right)."""
    w, h = size
    top, bottom, left, right = cuts
    return (w * left, h * top, w * (1 - right), h * (1 - bottom))


def _samples(luma: Image.Image, box: Box) -> np.ndarray:
    """``box`` of the luminance resized to ``DCT_SIZE x DCT_SIZE``, float64."""
    resized = luma.resize((DCT_SIZE, DCT_SIZE), Image.Resampling.BOX, box=box)
    return np.asarray(resized).astype(np.float64)


def _sign_bits(samples: np.ndarray, side: int) -> np.ndarray:
    """Signs of the ``side x side`` lowest DCT frequencies of ``samples``, DC forced to 0, flat."""
    dct = _DCT[:side]
    bits = dct @ samples @ dct.T > 0
    bits[0, 0] = False
    return bits.ravel()


def _content_bits(pixels: np.ndarray, trimmed: np.ndarray) -> np.ndarray:
    """Window hash bits of the content window of ``pixels`` (RGB before trimming), or all 0
    when it is not :data:`CONTENT_MIN_CUT` smaller than the ``trimmed`` picture on an axis."""
    none = np.zeros(WINDOW_SIDE * WINDOW_SIDE, bool)
    rows, columns = padding(_luminance(pixels))
    if not rows and not columns:
        return none  # the usual case: detail up to an edge on each axis
    h, w = pixels.shape[:2]
    content = trim_borders(pixels[rows : h - rows, columns : w - columns])
    (ch, cw), (th, tw) = content.shape[:2], trimmed.shape[:2]
    if ch > th * (1 - CONTENT_MIN_CUT) and cw > tw * (1 - CONTENT_MIN_CUT):
        return none
    luma = Image.fromarray(_luminance(content))
    return _sign_bits(_samples(luma, (0, 0, *luma.size)), WINDOW_SIDE)


def _grid(samples: np.ndarray) -> np.ndarray:
    """Mean of each of the ``GRID_SIDE x GRID_SIDE`` cells of ``samples``, rounded to uint8."""
    cell = DCT_SIZE // GRID_SIDE
    means = samples.reshape(GRID_SIDE, cell, GRID_SIDE, cell).mean(axis=(1, 3))
    return np.clip(np.rint(means), 0, 255).astype(np.uint8).ravel()


def fingerprint_image(image: Image.Image) -> Fingerprint:
    """Fingerprint an already decoded PIL image (any size, 8-bit modes).

    16-bit and float images should come through :func:`load_image`, which scales them to 8 bits;
    Pillow's own conversion would clip them.
    """
    rgb = _flatten_alpha(image)
    if max(rgb.size) > WORK_SIZE:
        rgb = rgb.copy()
        rgb.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
    pixels = np.asarray(rgb, dtype=np.float32)
    trimmed = trim_borders(pixels)
    luma = Image.fromarray(_luminance(trimmed))
    whole = _samples(luma, (0, 0, *luma.size))
    regions = [(luma, cuts) for cuts in (*WINDOWS, *MASKED)]
    for angle in TILTS:
        tilted = luma.rotate(angle, Image.Resampling.BILINEAR)
        regions.extend((tilted, cuts) for cuts in WINDOWS[:CENTRED_WINDOWS])
    parts = [bytes([FINGERPRINT_VERSION]), np.packbits(_sign_bits(whole, FULL_SIDE)).tobytes()]
    parts.extend(
        np.packbits(
            _sign_bits(_samples(picture, _window_box(picture.size, cuts)), WINDOW_SIDE)
        ).tobytes()
        for picture, cuts in regions
    )
    parts.append(np.packbits(_content_bits(pixels, trimmed)).tobytes())
    parts.append(_grid(whole).tobytes())
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
        # imported here: concurrent.futures (and the logging it loads) is start-up time that a
        # single image does not need
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, result in zip(
                pooled, pool.map(_fingerprint_or_error, jobs, chunksize=chunksize), strict=True
            ):
                results[i] = result
    for i, source in enumerate(sources):
        if results[i] is None:
            results[i] = _fingerprint_or_error((source, limits))
    return results  # type: ignore[return-value]  # every slot filled above
