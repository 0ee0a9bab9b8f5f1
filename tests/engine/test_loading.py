"""load_image on real images made in code from the bundled photos, and on hostile input."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import pickle
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFile, ImageStat

from imagex_dedup.engine.cli import expand_inputs
from imagex_dedup.engine.errors import ImageLoadError
from imagex_dedup.engine.loading import LoadLimits, image_extensions, load_image
from tests.engine.conftest import PHOTOS, encode, photo


def load_error(source, **kwargs) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as caught:
        load_image(source, **kwargs)
    return caught.value


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header announcing ``width`` x ``height`` pixels, followed by a tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# --- sources -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [
        ("flower.jpg", "JPEG", (480, 360)),
        ("flower2.jpg", "JPEG", (300, 225)),
        ("app13-multiple.jpg", "JPEG", (256, 160)),
        ("exif-72dpi-int.jpg", "JPEG", (500, 450)),
        ("iss634.webp", "WEBP", (245, 245)),
        ("test-card.png", "PNG", (640, 480)),
        ("radial_gradients.png", "PNG", (512, 512)),
        ("sugarshack.mpo", "MPO", (640, 480)),
    ],
)
def test_loads_the_bundled_photos(name, fmt, size) -> None:
    loaded = load_image(PHOTOS / name)
    assert (loaded.format, (loaded.width, loaded.height)) == (fmt, size)
    assert loaded.image.mode in {"RGB", "L"}
    loaded.image.getpixel((0, 0))  # fully decoded, usable after the source is gone


def test_path_bytes_and_file_object_agree(jpeg_bytes) -> None:
    path = PHOTOS / "flower.jpg"
    results = [
        load_image(path),
        load_image(str(path)),
        load_image(jpeg_bytes),
        load_image(io.BytesIO(jpeg_bytes)),
    ]
    with open(path, "rb") as stream:
        results.append(load_image(stream))
    assert {r.content_hash for r in results} == {hashlib.sha256(jpeg_bytes).hexdigest()}
    assert {r.byte_size for r in results} == {len(jpeg_bytes)}
    assert len({r.image.tobytes() for r in results}) == 1


def test_missing_and_unreadable_paths(tmp_path) -> None:
    assert load_error(tmp_path / "nope.jpg").code == "not_found"
    assert load_error(tmp_path).code == "not_found"
    assert load_error("https://example.com/a.jpg").code == "not_found"  # a str is a path


def test_reads_at_most_one_byte_over_the_limit(jpeg_bytes) -> None:
    class CountingStream(io.BytesIO):
        consumed = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.consumed += len(data)
            return data

    stream = CountingStream(jpeg_bytes * 10)
    error = load_error(stream, limits=LoadLimits(max_bytes=1000))
    assert error.code == "too_large"
    assert stream.consumed == 1001
    assert load_error(jpeg_bytes, limits=LoadLimits(max_bytes=1000)).code == "too_large"
    assert load_image(jpeg_bytes, limits=LoadLimits(max_bytes=len(jpeg_bytes)))


# --- hostile and broken input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text\n" * 20,
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"<!DOCTYPE html><html><body><img src=x></body></html>",
        b'{"Urls": []}',
    ],
    ids=["empty", "text", "svg", "html", "json"],
)
def test_non_images(data) -> None:
    assert load_error(data).code == "not_an_image"


def test_truncated_jpeg_is_corrupt_and_pillow_stays_strict(jpeg_bytes) -> None:
    error = load_error(jpeg_bytes[: len(jpeg_bytes) // 2])
    assert error.code == "corrupt"
    assert "truncated" in str(error)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("cut", [3, 20, 300])
def test_a_damaged_header_is_corrupt(jpeg_bytes, cut) -> None:
    assert load_error(jpeg_bytes[:cut]).code == "corrupt"


def test_a_png_with_broken_pixel_data_is_corrupt() -> None:
    data = bytearray(encode(photo(), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 64] = b"\x00" * 64
    assert load_error(bytes(data)).code == "corrupt"


def test_decompression_bomb_header_is_refused_before_decoding() -> None:
    error = load_error(png_claiming(100_000, 100_000))
    assert error.code == "too_many_pixels"


def test_pixel_limit_is_checked_against_the_header() -> None:
    error = load_error(png_claiming(8_000, 8_000))  # 64 Mpx: over ours, under Pillow's warning
    assert error.code == "too_many_pixels"
    assert "8000x8000" in str(error)
    assert load_error(PHOTOS / "flower.jpg", limits=LoadLimits(max_pixels=1000)).code == (
        "too_many_pixels"
    )


def test_formats_outside_the_allow_list_are_unsupported() -> None:
    ppm = encode(photo(), "PPM")
    assert "PPM" in str(load_error(ppm))
    assert load_error(ppm).code == "unsupported_format"
    png = encode(photo(), "PNG")
    assert load_error(png, limits=LoadLimits(formats=frozenset({"JPEG"}))).code == (
        "unsupported_format"
    )


def test_mpo_counts_as_jpeg() -> None:
    loaded = load_image(PHOTOS / "sugarshack.mpo", limits=LoadLimits(formats=frozenset({"JPEG"})))
    assert loaded.format == "MPO"


def _heif(image: Image.Image, **options: object) -> bytes:
    """HEIC bytes made in code (pillow-heif's encoder, registered for the test only)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    return encode(image, "HEIF", quality=90, **options)


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_avif_and_heif_are_read_by_default_within_the_limits(fmt: str) -> None:
    data = _heif(photo()) if fmt == "HEIF" else encode(photo(), "AVIF", quality=90)
    loaded = load_image(data, draft_size=None)
    assert (loaded.format, loaded.image.size, loaded.image.mode) == (fmt, (480, 360), "RGB")
    assert mean_difference(loaded.image, photo()) < 6
    assert load_error(data, limits=LoadLimits(max_pixels=1000)).code == "too_many_pixels"
    assert load_error(data, limits=LoadLimits(max_bytes=len(data) - 1)).code == "too_large"
    without = LoadLimits(formats=frozenset({"JPEG", "PNG"}))
    assert load_error(data, limits=without).code in {"unsupported_format", "not_an_image"}


def test_heif_orientation_is_applied_once() -> None:
    upright = photo()
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    loaded = load_image(_heif(stored, exif=exif.tobytes()), draft_size=None)
    assert loaded.image.size == upright.size == (loaded.width, loaded.height)
    assert mean_difference(loaded.image, upright) < 8


def test_heic_files_are_found_in_directories(tmp_path) -> None:
    (tmp_path / "phone.heic").write_bytes(_heif(photo()))
    (tmp_path / "notes.txt").write_text("not an image")
    found = expand_inputs([str(tmp_path)], argparse.ArgumentParser())
    assert [Path(item.location).name for item in found] == ["phone.heic"]
    assert image_extensions() >= {".heic", ".heif", ".avif", ".jpg"}


# --- decoding ----------------------------------------------------------------------------------


def test_exif_orientation_is_applied() -> None:
    upright = photo()  # 480 x 360
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    loaded = load_image(encode(stored, "JPEG", exif=exif, quality=95), draft_size=None)
    assert (loaded.width, loaded.height) == stored.size[::-1] == upright.size
    assert loaded.image.size == upright.size
    assert mean_difference(loaded.image, upright) < 6


def test_jpeg_is_decoded_at_the_needed_scale() -> None:
    big = photo().resize((2000, 1500))
    data = encode(big, "JPEG", quality=90)
    reduced = load_image(data)
    assert (reduced.width, reduced.height) == (2000, 1500)
    assert reduced.image.size == (500, 375)  # 1/4 scale: the smallest one >= 256 x 256
    assert load_image(data, draft_size=(64, 64)).image.size == (250, 188)
    assert load_image(data, draft_size=None).image.size == (2000, 1500)


def test_cmyk_jpeg_becomes_rgb() -> None:
    original = photo()
    loaded = load_image(encode(original.convert("CMYK"), "JPEG", quality=95), draft_size=None)
    assert (loaded.format, loaded.image.mode) == ("JPEG", "RGB")
    assert mean_difference(loaded.image, original) < 8


def test_palette_transparency_goes_over_white() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (10, 0, 20, 10))
    loaded = load_image(encode(image, "PNG", transparency=1))
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((2, 2)) == (255, 0, 0)
    assert loaded.image.getpixel((15, 5)) == (255, 255, 255)


def test_alpha_goes_over_white() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    image.putpixel((0, 0), (0, 0, 255, 255))
    loaded = load_image(encode(image, "PNG"))
    assert loaded.image.getpixel((0, 0)) == (0, 0, 255)
    assert loaded.image.getpixel((5, 5)) == (255, 255, 255)
    grey = load_image(encode(Image.new("LA", (4, 4), (0, 0)), "PNG"))
    assert (grey.image.mode, grey.image.getpixel((1, 1))) == ("L", 255)


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (4, 4), 32768)
    loaded = load_image(encode(image, "PNG"))
    assert loaded.image.mode == "L"
    assert 125 <= loaded.image.getpixel((0, 0)) <= 130


@pytest.mark.parametrize("fmt", ["WEBP", "GIF"])
def test_animations_give_their_first_frame(fmt) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue", "green")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    pixel = load_image(data).image.getpixel((16, 16))
    assert pixel[0] > 200 and pixel[2] < 50


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_image_load_error(data) -> None:
    with contextlib.suppress(ImageLoadError):
        load_image(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["flower.jpg", "test-card.png", "iss634.webp"]),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=12),
    st.one_of(st.none(), st.floats(0.01, 1)),
)
def test_mutated_images_only_ever_raise_image_load_error(name, mutations, keep) -> None:
    data = bytearray((PHOTOS / name).read_bytes())
    for position, value in mutations:
        data[int(position * len(data))] = value
    if keep is not None:
        del data[int(keep * len(data)) :]
    try:
        loaded = load_image(bytes(data))
    except ImageLoadError:
        return
    assert loaded.image.mode in {"RGB", "L"}


def test_load_errors_survive_pickling() -> None:
    error = ImageLoadError("corrupt", "bad data")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, str(copy)) == (ImageLoadError, "corrupt", "bad data")
