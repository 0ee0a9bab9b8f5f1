"""Real photos the benchmarks build their labelled sets from (no download at run time).

The repository's shared photos (``../shared/data/photos`` next to the repo root, else the copies
in ``tests/data/photos``) plus scikit-image's bundled photos and textures, including the
motorcycle stereo pair and the brick/grass/gravel textures as hard negatives.
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
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".mpo", ".gif", ".bmp", ".tif", ".tiff"}


def photo_files() -> list[Path]:
    """Image files of the first photo directory that exists, sorted by name."""
    for directory in PHOTO_DIRS:
        if directory.is_dir():
            return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return []


def originals() -> dict[str, Image.Image]:
    """Distinct originals by name, as RGB images (first frame of animated files)."""
    import skimage.data

    photos: dict[str, Image.Image] = {}
    for path in photo_files():
        with Image.open(path) as image:
            photos[path.name] = image.convert("RGB")
    for name in SKIMAGE_NAMES:
        photos[name] = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    left, right, _ = skimage.data.stereo_motorcycle()
    photos["stereo_motorcycle_left"] = Image.fromarray(left)
    photos["stereo_motorcycle_right"] = Image.fromarray(right)
    return photos
