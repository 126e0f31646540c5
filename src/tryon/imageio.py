"""Reading and writing images: the one place that turns files and bytes into arrays."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from tryon.errors import ImageSizeError, InvalidImageError
from tryon.types import Image, Mask

MIN_SIDE = 64
MAX_PIXELS = 50_000_000
"""Largest accepted image: 50 megapixels, above any phone camera; larger inputs are
refused before they are decoded, so a decompression bomb costs nothing."""

ImageSource = str | Path | bytes | bytearray | memoryview | np.ndarray

ORIENTATION_TAG = 0x0112
ROTATING_ORIENTATIONS = (5, 6, 7, 8)
"""EXIF orientations that turn the photo a quarter (its width becomes its height)."""
DECODE_ERRORS = (
    PILImage.DecompressionBombError,
    PILImage.DecompressionBombWarning,
    OSError,
    SyntaxError,
    ValueError,
)
"""What Pillow raises on bytes it cannot decode (too many pixels, truncated, corrupt)."""


def load_image(source: ImageSource, role: str = "image") -> Image:
    """Reads a photo as an upright RGB uint8 (H, W, 3) array.

    Args:
        source: a path, the encoded bytes of a JPEG / PNG / WebP / ..., or an array
            (H, W, 3) RGB or (H, W) grey uint8.
        role: what the image is ("person photo", "garment photo"), used in error messages.

    EXIF orientation is applied; grey, palette, CMYK and 16-bit images are converted to
    RGB; transparent pixels are put on white (a product photo's cut-out stays a cut-out).

    Raises:
        InvalidImageError: not an image, truncated, or an unsupported array.
        ImageSizeError: smaller than 64 pixels on a side or larger than 50 megapixels.
    """
    return load_cutout(source, role)[0]


def load_cutout(source: ImageSource, role: str = "image") -> tuple[Image, Mask | None]:
    """Like ``load_image``, with the photo's opaque pixels when it is a cut-out.

    Returns:
        The RGB image (transparent pixels on white) and, when the photo has an alpha
        channel with both clear and opaque pixels, the (H, W) mask of the opaque ones
        (alpha of at least half); else None.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, role)
    data, name = read_bytes(source, role)
    upright = ImageOps.exif_transpose(_decode(data, name, role))
    return _to_rgb(upright), _opaque(upright)


def read_bytes(source: str | Path | bytes | bytearray | memoryview, role: str) -> tuple[bytes, str]:
    """The encoded bytes of a photo given as a path or as bytes, and how to name them
    in a message ("the uploaded bytes" or the file's name).

    Raises:
        InvalidImageError: no such file, or no bytes.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InvalidImageError(f"{role}: no such file {str(path)!r}; check the path")
        data, name = path.read_bytes(), path.name
    else:
        data, name = bytes(source), "the uploaded bytes"
    if not data:
        raise InvalidImageError(f"{role}: {name} is empty; send a JPEG, PNG or WebP photo")
    return data, name


def upright_shape(data: bytes, role: str = "image", name: str = "the photo") -> tuple[int, int]:
    """The (height, width) of an encoded photo once upright (EXIF orientation applied),
    from its header alone (nothing is decoded).

    Raises:
        InvalidImageError: not an image.
        ImageSizeError: smaller than 64 pixels on a side or larger than 50 megapixels.
    """
    pil = _decode(data, name, role, load=False)
    width, height = pil.size
    if pil.getexif().get(ORIENTATION_TAG, 1) in ROTATING_ORIENTATIONS:
        width, height = height, width
    return height, width


def load_reduced(
    data: bytes, shape: tuple[int, int], role: str = "image", name: str = "the photo"
) -> Image:
    """Decodes an encoded photo reduced where its format allows, to no less than
    ``shape`` (height, width, upright), as an RGB uint8 (h, w, 3) array; the caller
    resamples it to ``shape`` (``tryon.ops.working_size.reduce_image``).

    A JPEG is decoded at 1/2, 1/4 or 1/8 of its size in the decoder (the smallest of
    these still at least ``shape``), so its full-size pixels are never held; other
    formats are decoded at full size. Otherwise as ``load_image``.

    Raises:
        InvalidImageError, ImageSizeError: as ``load_image``.
    """
    pil = _decode(data, name, role, load=False)
    swapped = pil.getexif().get(ORIENTATION_TAG, 1) in ROTATING_ORIENTATIONS
    stored = (shape[0], shape[1]) if swapped else (shape[1], shape[0])
    if pil.format in ("JPEG", "MPO"):
        pil.draft(None, stored)
    _load(pil, name, role)
    return _to_rgb(ImageOps.exif_transpose(pil))


def _decode(data: bytes, name: str, role: str, load: bool = True) -> PILImage.Image:
    """Opens (and with ``load``, decodes) encoded bytes, its size checked first."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            pil = PILImage.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise InvalidImageError(
                f"{role}: {name} is not an image this tool can read; send a JPEG, PNG or WebP photo"
            ) from None
        except DECODE_ERRORS as exc:
            raise _decode_error(exc, name, role) from None
        _check_size(pil.size, role)
    if load:
        _load(pil, name, role)
    return pil


def _load(pil: PILImage.Image, name: str, role: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            pil.load()
    except DECODE_ERRORS as exc:
        raise _decode_error(exc, name, role) from None


def _decode_error(exc: Exception, name: str, role: str) -> ImageSizeError | InvalidImageError:
    if isinstance(exc, PILImage.DecompressionBombError | PILImage.DecompressionBombWarning):
        return ImageSizeError(
            f"{role}: {name} has more than {MAX_PIXELS // 1_000_000} megapixels (the limit); "
            "downscale it first"
        )
    return InvalidImageError(
        f"{role}: {name} could not be decoded ({exc}); the file may be truncated or "
        "corrupt, so export it again"
    )


def _check_size(size: tuple[int, int], role: str) -> None:
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise ImageSizeError(
            f"{role} is {w}x{h} pixels; at least {MIN_SIDE} pixels on each side are needed "
            "(a full-body photo of 768x1024 or more works best)"
        )
    if w * h > MAX_PIXELS:
        raise ImageSizeError(
            f"{role} is {w}x{h} pixels ({w * h / 1e6:.0f} megapixels); the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels, so downscale it first"
        )


def _to_rgb(pil: PILImage.Image) -> Image:
    if pil.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(pil, np.float64)
        top = arr.max() or 1.0
        pil = PILImage.fromarray((arr / top * 255).astype(np.uint8))
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = pil.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        pil = PILImage.alpha_composite(white, rgba)
    # An RGB image is read as it is: converting it to RGB would copy it first (a 45-
    # megapixel photo is 180 MB in Pillow's four bytes a pixel).
    rgb = pil if pil.mode == "RGB" else pil.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, np.uint8))


def _opaque(pil: PILImage.Image) -> Mask | None:
    """The pixels at least half opaque, when some are clear (all clear: an empty mask,
    so that a fully transparent photo is told as such, not as a white one)."""
    if not (pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info)):
        return None
    opaque = np.asarray(pil.convert("RGBA"))[..., 3] >= 128
    return opaque if opaque.mean() < 1 else None


def _from_array(arr: np.ndarray, role: str) -> tuple[Image, Mask | None]:
    if arr.dtype != np.uint8:
        raise InvalidImageError(f"{role}: arrays must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InvalidImageError(
            f"{role}: arrays must be (H, W, 3) RGB or (H, W) grey, got shape {arr.shape}"
        )
    _check_size((arr.shape[1], arr.shape[0]), role)
    if arr.shape[2] == 4:
        pil = PILImage.fromarray(arr, "RGBA")
        return _to_rgb(pil), _opaque(pil)
    return np.ascontiguousarray(arr), None


def save_image(image: Image, path: str | Path, quality: int = 95) -> None:
    """Writes an RGB uint8 image; the format follows the suffix (PNG, JPEG, WebP)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pil = PILImage.fromarray(np.asarray(image))
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        pil.save(path, quality=quality)
    elif suffix == ".webp":
        pil.save(path, quality=quality, method=4)
    else:
        pil.save(path)
