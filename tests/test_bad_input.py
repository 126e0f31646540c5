"""Bad input gets a clear error (type and message), never a crash or a silent result."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import FULL_BODY, GARMENTS, SELFIES
from tryon import (
    BodyNotVisibleError,
    Category,
    GarmentNotFoundError,
    ImageSizeError,
    InvalidImageError,
    NoPersonError,
    TryOn,
    TryOnError,
    UnknownEngineError,
)
from tryon.imageio import load_image
from tryon.ops.color import rgb_to_lab


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_not_an_image() -> None:
    with pytest.raises(InvalidImageError, match="not an image"):
        load_image(b"hello, I am a text file", role="person photo")


def test_truncated_file() -> None:
    data = FULL_BODY[0].read_bytes()
    with pytest.raises(InvalidImageError, match="truncated"):
        load_image(data[: len(data) // 3], role="person photo")


def test_missing_file() -> None:
    with pytest.raises(InvalidImageError, match="no such file"):
        load_image("does/not/exist.jpg")


def test_one_pixel() -> None:
    with pytest.raises(ImageSizeError, match="at least 64 pixels"):
        load_image(_png(Image.new("RGB", (1, 1))))


def test_huge_image_refused_before_decoding() -> None:
    # A 40,000 x 40,000 PNG compresses to a few hundred kB: a decompression bomb.
    bomb = _png(Image.new("L", (40_000, 40_000)))
    with pytest.raises(ImageSizeError, match="megapixels"):
        load_image(bomb)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16"])
def test_other_colour_modes_are_converted(mode: str) -> None:
    rgb = Image.open(GARMENTS[0]).convert("RGB").resize((128, 128))
    converted = rgb.convert(mode) if mode != "I;16" else rgb.convert("L").convert("I;16")
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    buf = io.BytesIO()
    converted.save(buf, format=fmt)
    out = load_image(buf.getvalue())
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8


def test_exif_orientation_is_applied() -> None:
    image = Image.open(FULL_BODY[0]).convert("RGB").resize((96, 128))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: stored landscape, shown portrait
    buf = io.BytesIO()
    image.transpose(Image.Transpose.ROTATE_90).save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).shape == (128, 96, 3)


def test_no_person(tryon: TryOn) -> None:
    empty = np.full((800, 600, 3), 200, np.uint8)
    with pytest.raises(NoPersonError, match="no person"):
        tryon.run(empty, GARMENTS[0], category="upper")


@pytest.mark.parametrize("photo", GARMENTS, ids=lambda p: p.name)
def test_a_garment_photo_is_not_a_person(tryon: TryOn, photo: Path) -> None:
    """The pose model finds a "person" in some flat-lay shirts; without a face it is
    refused, never dressed."""
    with pytest.raises(NoPersonError, match=r"no person|no face|head and shoulders"):
        tryon.run(photo, GARMENTS[0], category="upper")


def test_selfie_asked_for_trousers(tryon: TryOn) -> None:
    pants = next(g for g in GARMENTS if g.name.startswith("pants"))
    with pytest.raises(BodyNotVisibleError, match="hips and knees"):
        tryon.run(SELFIES[0], pants, category="lower")


def test_selfie_can_wear_a_top(tryon: TryOn) -> None:
    """A selfie shows no hips, yet a top is put on: the photo is kept outside the
    agnostic mask, and most of the mask now has the shirt's colour."""
    shirt = next(g for g in GARMENTS if g.name.startswith("shirts"))
    result = tryon.run(SELFIES[0], shirt, category="upper")
    original = load_image(SELFIES[0])
    assert result.image.shape == original.shape
    mask = result.agnostic_mask
    assert result.category is Category.UPPER
    assert np.array_equal(result.image[~mask], original[~mask])
    changed = mask & np.any(result.image != original, axis=-1)
    assert changed.sum() > 0.5 * mask.sum()
    # The changed pixels have the shirt's colour, which the photo had there nowhere.
    photo = tryon.analyze_garment(shirt)
    shirt_lab = np.median(rgb_to_lab(photo.image[photo.mask]), axis=0)
    now = np.linalg.norm(rgb_to_lab(result.image[changed]) - shirt_lab, axis=-1)
    before = np.linalg.norm(rgb_to_lab(original[changed]) - shirt_lab, axis=-1)
    assert np.median(now) < 10 and (now < 15).mean() > 0.8, np.median(now)
    assert np.median(before) > 20


def test_white_garment_on_white_backdrop(tryon: TryOn) -> None:
    plain = np.full((600, 600, 3), 246, np.uint8)
    plain[100:500, 150:450] = 250  # a white shirt on white: no usable contrast
    with pytest.raises(GarmentNotFoundError, match="white garment on a white backdrop"):
        tryon.analyze_garment(plain)


def test_garment_photo_without_plain_backdrop(tryon: TryOn) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    with pytest.raises(GarmentNotFoundError):
        tryon.analyze_garment(noise)


def test_trousers_asked_as_top(tryon: TryOn) -> None:
    pants = next(g for g in GARMENTS if g.name.startswith("pants"))
    with pytest.raises(GarmentNotFoundError, match="trousers"):
        tryon.analyze_garment(pants, category="upper")


def test_top_asked_as_overall_is_refused_not_worn_without_legs(tryon: TryOn) -> None:
    # Worn as overall a top would erase the trousers and end at the hips.
    top = next(g for g in GARMENTS if g.name.startswith("shirts"))
    with pytest.raises(GarmentNotFoundError, match="shows a top, which cannot be worn as overall"):
        tryon.run(FULL_BODY[0], top, category="overall")


def test_unknown_category_and_engine(tryon: TryOn) -> None:
    with pytest.raises(ValueError, match="unknown category") as refused:
        tryon.run(FULL_BODY[0], GARMENTS[0], category="hat")
    assert str(refused.value) == "unknown category 'hat': use one of upper, lower, overall or auto"
    with pytest.raises(ValueError, match="unknown category 'hat'"):
        tryon.analyze_garment(GARMENTS[0], category="hat")
    with pytest.raises(UnknownEngineError, match="available engines"):
        TryOn(engine="magic")


def test_every_error_is_a_tryon_error() -> None:
    for error in (
        InvalidImageError,
        ImageSizeError,
        NoPersonError,
        BodyNotVisibleError,
        GarmentNotFoundError,
    ):
        assert issubclass(error, TryOnError)
