"""Real photos the benchmarks build their labelled sets from (no download at run time).

The repository's shared photos (``../shared/data/photos`` next to the repo root, else the copies
in ``tests/data/photos``) plus scikit-image's bundled photos and textures. Hard negatives, each
a distinct original: the brick/grass/gravel textures; two views of one scene from shifted cameras
(scikit-image's motorcycle stereo pair, and the two frames of the 3-D camera's MPO file, about
16 % apart); two overlapping crops of one photo, a quarter of its width apart, which stand in
for a burst shot with the camera moved (the photo itself is not an original then). Some
originals are shown dark and low in contrast (:data:`DARK_NAMES`), as night or under-exposed
shots are, because overlays weigh most on such pictures.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PHOTO_DIRS = (ROOT.parent / "shared" / "data" / "photos", ROOT / "tests" / "data" / "photos")
SKIMAGE_NAMES = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "moon",
    "coins",
    "clock",
    "horse",
    "page",
    "text",
    "colorwheel",
    "cell",
    "microaneurysms",
    "brick",
    "grass",
    "gravel",
)
DARK_NAMES = ("astronaut", "chelsea", "rocket", "coins")
"""Originals replaced by a dark, low-contrast rendering (luminance squeezed into about 10-60)."""
SHIFTED_NAME = "coffee"
"""The original replaced by two crops of it a quarter of its width apart (a moved camera)."""
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".mpo", ".gif", ".bmp", ".tif", ".tiff"}


def photo_files() -> list[Path]:
    """Image files of the first photo directory that exists, sorted by name."""
    for directory in PHOTO_DIRS:
        if directory.is_dir():
            return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return []


def _dark(image: Image.Image) -> Image.Image:
    """A dark, flat rendering: every channel mapped linearly from 0-255 to 10-60."""
    return image.point(lambda value: 10 + value * 50 // 255)


def _shifted_pair(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Two crops of 75 % of the width, one from the left edge and one from the right."""
    w, h = image.size
    return image.crop((0, 0, w * 3 // 4, h)), image.crop((w // 4, 0, w, h))


def originals() -> dict[str, Image.Image]:
    """Distinct originals by name, as RGB images (every frame of a multi-picture file)."""
    import skimage.data

    photos: dict[str, Image.Image] = {}
    for path in photo_files():
        with Image.open(path) as image:
            photos[path.name] = image.convert("RGB")
            for frame in range(1, getattr(image, "n_frames", 1) if image.format == "MPO" else 1):
                image.seek(frame)
                photos[f"{path.name}#{frame}"] = image.convert("RGB")
    for name in SKIMAGE_NAMES:
        picture = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        if name == SHIFTED_NAME:
            photos[f"{name}_left"], photos[f"{name}_right"] = _shifted_pair(picture)
        elif name in DARK_NAMES:
            photos[f"dark_{name}"] = _dark(picture)
        else:
            photos[name] = picture
    left, right, _ = skimage.data.stereo_motorcycle()
    photos["stereo_motorcycle_left"] = Image.fromarray(left)
    photos["stereo_motorcycle_right"] = Image.fromarray(right)
    return photos
