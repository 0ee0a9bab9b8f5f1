"""Labelled near-duplicate variants of an image, made with Pillow only.

Benchmarks, tests and the demo use this to build ground truth from a handful of real photos:
every variant of a photo is a near-duplicate of it, variants of different photos are not.
Each transform draws its parameters from a :class:`random.Random` seeded from ``seed`` and the
transform's name, so the same ``(image, name, seed)`` always gives the same pixels.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from random import Random

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Transform = Callable[[Image.Image, Random], Image.Image]


@dataclass(frozen=True)
class Variant:
    """One generated near-duplicate: ``name`` is the transform, ``image`` an RGB image."""

    name: str
    image: Image.Image


def _reencode(image: Image.Image, fmt: str, **params: object) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    buffer.seek(0)
    decoded = Image.open(buffer)
    decoded.load()
    return decoded.convert("RGB")


def _resize(image: Image.Image, rng: Random) -> Image.Image:
    factor = rng.choice([0.25, 0.4, 0.5, 0.75, 1.5])
    size = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _jpeg(low: int, high: int) -> Transform:
    def transform(image: Image.Image, rng: Random) -> Image.Image:
        return _reencode(image, "JPEG", quality=rng.randint(low, high))

    return transform


def _png(image: Image.Image, rng: Random) -> Image.Image:
    return _reencode(image, "PNG", optimize=False)


def _webp(image: Image.Image, rng: Random) -> Image.Image:
    return _reencode(image, "WEBP", quality=rng.randint(50, 90))


def _crop_side(image: Image.Image, rng: Random) -> Image.Image:
    fraction = rng.uniform(0.02, 0.10)
    side = rng.choice(["left", "top", "right", "bottom"])
    w, h = image.size
    dx, dy = round(w * fraction), round(h * fraction)
    box = {
        "left": (dx, 0, w, h),
        "top": (0, dy, w, h),
        "right": (0, 0, w - dx, h),
        "bottom": (0, 0, w, h - dy),
    }[side]
    return image.crop(box)


def _crop_centre(image: Image.Image, rng: Random) -> Image.Image:
    fraction = rng.uniform(0.02, 0.10)
    w, h = image.size
    dx, dy = round(w * fraction / 2), round(h * fraction / 2)
    return image.crop((dx, dy, w - dx, h - dy))


def _border(image: Image.Image, rng: Random) -> Image.Image:
    fraction = rng.uniform(0.05, 0.15)
    colour = rng.choice([(255, 255, 255), (0, 0, 0), (128, 128, 128), (200, 30, 30)])
    pad = round(min(image.size) * fraction)
    return ImageOps.expand(image, border=pad, fill=colour)


def _brightness(image: Image.Image, rng: Random) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(rng.choice([0.7, 0.8, 1.2, 1.3]))


def _contrast(image: Image.Image, rng: Random) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(rng.choice([0.6, 0.8, 1.3, 1.5]))


def _gamma(image: Image.Image, rng: Random) -> Image.Image:
    gamma = rng.choice([0.6, 0.8, 1.25, 1.6])
    table = [round(255 * (i / 255) ** gamma) for i in range(256)] * 3
    return image.point(table)


def _blur(image: Image.Image, rng: Random) -> Image.Image:
    radius = rng.uniform(0.5, 1.5) * max(1.0, min(image.size) / 400)
    return image.filter(ImageFilter.GaussianBlur(radius))


def _noise(image: Image.Image, rng: Random) -> Image.Image:
    """Uniform per-channel noise of amplitude 15-35 (std 9-20), from the seeded generator."""
    amplitude = rng.uniform(15, 35)
    raw = Image.frombytes("RGB", image.size, rng.randbytes(image.width * image.height * 3))
    noise = raw.point(lambda v: round(128 + (v - 127.5) * amplitude / 127.5))
    # Centred on 128: adding it with offset -128 keeps the brightness.
    return ImageChops.add(image, noise, offset=-128)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _text(image: Image.Image, rng: Random) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    words = rng.choice(["SALE 50%", "Hello world", "© 2026 imagex", "Best price"])
    font = _font(round(h * rng.uniform(0.06, 0.10)))
    position = (round(w * rng.uniform(0.05, 0.3)), round(h * rng.uniform(0.05, 0.85)))
    draw.text(position, words, fill=rng.choice(["white", "black", "yellow"]), font=font)
    return out


def _logo(image: Image.Image, rng: Random) -> Image.Image:
    """A semi-opaque watermark box with a glyph in one corner (about 12% of the short side)."""
    out = image.convert("RGBA")
    w, h = out.size
    size = max(8, round(min(w, h) * rng.uniform(0.10, 0.15)))
    mark = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=(255, 255, 255, 170))
    draw.text((size // 5, size // 6), "ix", fill=(20, 20, 120, 230), font=_font(size // 2))
    out.alpha_composite(mark, _corner(out.size, (size, size), round(min(w, h) * 0.03), rng))
    return out.convert("RGB")


def _corner(
    size: tuple[int, int], box: tuple[int, int], margin: int, rng: Random
) -> tuple[int, int]:
    """Top-left position of a ``box`` (w, h) in a random corner, ``margin`` pixels in."""
    (w, h), (bw, bh) = size, box
    x = margin if rng.random() < 0.5 else w - bw - margin
    y = margin if rng.random() < 0.5 else h - bh - margin
    return x, y


def _caption(image: Image.Image, rng: Random) -> Image.Image:
    """A white box with a line of dark text in a corner, covering 3-5 % of the picture."""
    out = image.copy()
    w, h = out.size
    box_w = round(w * rng.uniform(0.30, 0.45))
    box_h = max(8, round(w * h * rng.uniform(0.03, 0.05) / box_w))
    x, y = _corner(out.size, (box_w, box_h), round(min(w, h) * rng.uniform(0.0, 0.04)), rng)
    draw = ImageDraw.Draw(out)
    draw.rectangle((x, y, x + box_w - 1, y + box_h - 1), fill=(255, 255, 255))
    words = rng.choice(["Sunset at the lake", "Photo: A. Smith", "New arrivals!", "Day 3"])
    font = _font(round(box_h * 0.55))
    draw.text((x + box_h // 4, y + box_h // 5), words, fill=(30, 30, 30), font=font)
    return out


def _banner(image: Image.Image, rng: Random) -> Image.Image:
    """A semi-opaque dark strip with white text along the top or bottom edge (6-10 % high)."""
    out = image.convert("RGBA")
    w, h = out.size
    strip_h = max(8, round(h * rng.uniform(0.06, 0.10)))
    strip = Image.new("RGBA", (w, strip_h), (0, 0, 0, rng.randint(120, 200)))
    draw = ImageDraw.Draw(strip)
    text = rng.choice(["www.example.com", "@photographer", "Breaking news", "Limited offer"])
    draw.text(
        (round(w * 0.05), strip_h // 5), text, fill=(255, 255, 255, 255), font=_font(strip_h // 2)
    )
    out.alpha_composite(strip, (0, 0 if rng.random() < 0.5 else h - strip_h))
    return out.convert("RGB")


def _padded(canvas: Callable[[int, int], tuple[int, int]]) -> Transform:
    """The picture centred on a blurred copy of itself enlarged to fill ``canvas(w, h)``."""

    def transform(image: Image.Image, rng: Random) -> Image.Image:
        w, h = image.size
        size = canvas(w, h)
        background = ImageOps.fit(image, size, Image.Resampling.BILINEAR)
        out = background.filter(ImageFilter.GaussianBlur(max(size) * rng.uniform(0.02, 0.05)))
        out.paste(image, ((size[0] - w) // 2, (size[1] - h) // 2))
        return out

    return transform


def _tilt_angle(rng: Random) -> float:
    return rng.uniform(2, 5) * rng.choice([-1, 1])


def _tilt_black(image: Image.Image, rng: Random) -> Image.Image:
    """Tilt by 2 to 5 degrees in the same frame: black corners."""
    return image.rotate(_tilt_angle(rng), resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))


def _tilt_mirror(image: Image.Image, rng: Random) -> Image.Image:
    """Tilt by 2 to 5 degrees in the same frame, corners filled with the mirrored picture."""
    w, h = image.size
    pad = round(max(w, h) * 0.1)
    mirrored = ImageOps.expand(image, border=pad)  # placeholder frame, filled by reflection
    mirrored.paste(ImageOps.mirror(image.crop((0, 0, pad, h))), (0, pad))
    mirrored.paste(ImageOps.mirror(image.crop((w - pad, 0, w, h))), (pad + w, pad))
    mirrored.paste(ImageOps.flip(mirrored.crop((0, pad, w + 2 * pad, 2 * pad))), (0, 0))
    mirrored.paste(ImageOps.flip(mirrored.crop((0, h, w + 2 * pad, h + pad))), (0, h + pad))
    rotated = mirrored.rotate(_tilt_angle(rng), resample=Image.Resampling.BICUBIC)
    return rotated.crop((pad, pad, pad + w, pad + h))


def _greyscale(image: Image.Image, rng: Random) -> Image.Image:
    return image.convert("L").convert("RGB")


def _rotate_small(image: Image.Image, rng: Random) -> Image.Image:
    """Tilt by 2 to 5 degrees and crop to the largest upright rectangle without empty corners."""
    angle = _tilt_angle(rng)
    rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False)
    w, h = image.size
    a = math.radians(abs(angle))
    # Inscribed axis-aligned rectangle of the same aspect ratio inside the rotated frame.
    scale = min(w, h) / (min(w, h) * math.cos(a) + max(w, h) * math.sin(a))
    cw, ch = w * scale, h * scale
    return rotated.crop(
        (round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2))
    )


def _transpose(method: Image.Transpose) -> Transform:
    def transform(image: Image.Image, rng: Random) -> Image.Image:
        return image.transpose(method)

    return transform


def _chain(*steps: Transform) -> Transform:
    def transform(image: Image.Image, rng: Random) -> Image.Image:
        for step in steps:
            image = step(image, rng)
        return image

    return transform


TRANSFORMS: dict[str, Transform] = {
    "resize": _resize,
    "jpeg_q30": _jpeg(30, 30),
    "jpeg_q50": _jpeg(45, 60),
    "jpeg_q90": _jpeg(85, 90),
    "png": _png,
    "webp": _webp,
    "crop_side": _crop_side,
    "crop_centre": _crop_centre,
    "border": _border,
    "brightness": _brightness,
    "contrast": _contrast,
    "gamma": _gamma,
    "blur": _blur,
    "noise": _noise,
    "text": _text,
    "logo": _logo,
    "greyscale": _greyscale,
    "hflip": _transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "vflip": _transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    "rot90": _transpose(Image.Transpose.ROTATE_90),
    "rot180": _transpose(Image.Transpose.ROTATE_180),
    "rot270": _transpose(Image.Transpose.ROTATE_270),
    "rotate_small": _rotate_small,
    "tilt_black": _tilt_black,
    "tilt_mirror": _tilt_mirror,
    "caption": _caption,
    "banner": _banner,
    "pad_blur": _padded(lambda w, h: (round(w * 1.25), round(h * 1.25))),
    "pad_square": _padded(lambda w, h: (round(max(w, h) * 1.25),) * 2),
    "resize_jpeg": _chain(_resize, _jpeg(40, 80)),
    "crop_jpeg": _chain(_crop_side, _jpeg(50, 80)),
    "border_text": _chain(_border, _text),
    "flip_bright_jpeg": _chain(
        _transpose(Image.Transpose.FLIP_LEFT_RIGHT), _brightness, _jpeg(50, 80)
    ),
    "grey_crop_logo": _chain(_greyscale, _crop_centre, _logo),
}
"""Every transform by name; combos (names with two or more parts) chain simple ones."""


def make_variant(image: Image.Image, name: str, *, seed: int = 0) -> Image.Image:
    """Apply transform ``name`` to ``image`` (converted to RGB); deterministic for a seed."""
    rng = Random(zlib.crc32(f"{name}:{seed}".encode()))
    return TRANSFORMS[name](image.convert("RGB"), rng)


def generate_variants(
    image: Image.Image, *, seed: int = 0, names: Iterable[str] | None = None
) -> list[Variant]:
    """All (or the named) transforms of ``image``, in :data:`TRANSFORMS` order unless named."""
    chosen = list(TRANSFORMS) if names is None else list(names)
    return [Variant(name, make_variant(image, name, seed=seed)) for name in chosen]
