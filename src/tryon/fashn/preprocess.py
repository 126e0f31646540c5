"""FASHN VTON v1.5's preprocessing, as pure functions on arrays, and its inverse.

The reference prepares each photo (person and garment alike, independently) this way:

1. pre-resize: the long side fitted into 864 px with PIL's LANCZOS, never upsampled,
   sizes truncated with ``int()``; the pose raster is drawn at this size;
2. fit into the model canvas (W x H = 576 x 864 for the released model) with OpenCV:
   INTER_AREA when shrinking, INTER_LANCZOS4 when enlarging, no resampling at scale 1;
   pose rasters with INTER_NEAREST_EXACT; black padding split evenly (the odd pixel on
   the right / bottom);
3. normalise: ``x / 127.5 - 1``.

The inverse (not in the reference, which returns the fitted canvas) crops the person's
padding and scales the result back to the photo's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from tryon.types import Category, Image

PRE_RESIZE_SIDE = 864
"""The long side a photo is shrunk to before anything else (never enlarged)."""

CATEGORY_IDS: dict[Category, int] = {
    Category.UPPER: 1,  # the reference's "tops"
    Category.LOWER: 2,  # "bottoms"
    Category.OVERALL: 3,  # "one-pieces"
}
"""The model's class index of each category (0 is the null class of CFG)."""


@dataclass(frozen=True)
class Placement:
    """Where a photo lies in the model canvas.

    Attributes:
        photo_size: (height, width) of the photo as given.
        fitted_size: (height, width) of its picture inside the canvas.
        offset: (top, left) of that picture in the canvas.
        canvas_size: (height, width) of the canvas.
    """

    photo_size: tuple[int, int]
    fitted_size: tuple[int, int]
    offset: tuple[int, int]
    canvas_size: tuple[int, int]


@dataclass(frozen=True)
class Prepared:
    """One photo (and its pose raster) ready for the model.

    Attributes:
        image: (H, W, 3) float32 in [-1, 1], the canvas (padding -1).
        pose: (H, W) float32 in [-1, 1], the pose raster on the canvas (background -1).
        placement: where the photo lies in the canvas.
    """

    image: npt.NDArray[np.float32]
    pose: npt.NDArray[np.float32]
    placement: Placement


def pre_resize(image: Image, max_side: int = PRE_RESIZE_SIDE) -> Image:
    """Shrinks ``image`` so that its long side is at most ``max_side`` (PIL LANCZOS,
    ``int()``-truncated sizes); a smaller image is returned unchanged.

    Args:
        image: (H, W, 3) RGB uint8.
        max_side: the longest side allowed, pixels.

    Returns:
        (h, w, 3) RGB uint8 with max(h, w) <= max_side.
    """
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    resized = PILImage.fromarray(image).resize(size, PILImage.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8).copy()


def fitted_size(size: tuple[int, int], canvas: tuple[int, int]) -> tuple[int, int]:
    """The (height, width) of a ``size`` picture scaled to fit inside ``canvas``, aspect
    kept, sides truncated (at least 1)."""
    (h, w), (ch, cw) = size, canvas
    scale = min(cw / w, ch / h)
    return max(1, min(ch, int(h * scale))), max(1, min(cw, int(w * scale)))


def _resize(
    array: npt.NDArray[np.uint8], size: tuple[int, int], pose: bool
) -> npt.NDArray[np.uint8]:
    """``array`` at (height, width) ``size`` with the reference's interpolation."""
    h, w = array.shape[:2]
    if (h, w) == size:
        return array
    if pose:
        interpolation = cv2.INTER_NEAREST_EXACT
    elif size[0] * size[1] < h * w:
        interpolation = cv2.INTER_AREA
    else:
        interpolation = cv2.INTER_LANCZOS4
    return cv2.resize(array, (size[1], size[0]), interpolation=interpolation)


def fit_to_canvas(
    array: npt.NDArray[np.uint8], canvas: tuple[int, int], *, pose: bool = False
) -> tuple[npt.NDArray[np.uint8], Placement]:
    """Fits ``array`` inside a black canvas, centred (``//2`` on the left and top).

    Args:
        array: (h, w, 3) RGB uint8 photo, or (h, w) uint8 pose raster (``pose`` True).
        canvas: (height, width) of the model canvas.
        pose: resample as a pose raster (nearest) rather than as a photo.

    Returns:
        The (height, width[, 3]) uint8 canvas and where the picture lies in it.
    """
    photo = (int(array.shape[0]), int(array.shape[1]))
    size = fitted_size(photo, canvas)
    resized = _resize(array, size, pose)
    top, left = (canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2
    out = np.zeros((*canvas, *array.shape[2:]), np.uint8)
    out[top : top + size[0], left : left + size[1]] = resized
    placement = Placement(photo, size, (top, left), canvas)
    return out, placement


def normalise(array: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """uint8 pixels to the model's range: ``x / 127.5 - 1`` (0 -> -1, 255 -> 1)."""
    return (array.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).astype(np.float32)


def prepare(image: Image, pose_raster: npt.NDArray[np.uint8], canvas: tuple[int, int]) -> Prepared:
    """A pre-resized photo and the pose raster drawn at its size, on the model canvas.

    Args:
        image: (h, w, 3) RGB uint8, already through ``pre_resize``.
        pose_raster: (h, w) uint8 pose raster drawn at the same size.
        canvas: (height, width) of the model canvas.

    Raises:
        ValueError: the raster's size is not the image's.
    """
    if pose_raster.shape != image.shape[:2]:
        raise ValueError(
            f"the pose raster is {pose_raster.shape}, the photo {image.shape[:2]}: draw it "
            "at the photo's size"
        )
    fitted, placement = fit_to_canvas(image, canvas)
    pose, _ = fit_to_canvas(pose_raster, canvas, pose=True)
    return Prepared(normalise(fitted), normalise(pose), placement)


def restore(generated: Image, placement: Placement, photo_size: tuple[int, int]) -> Image:
    """The model's canvas output cropped to the person's picture and scaled to the photo.

    Args:
        generated: (H, W, 3) RGB uint8 model output on the canvas.
        placement: where the (pre-resized) person photo lay in the canvas.
        photo_size: (height, width) of the original photo.

    Returns:
        (height, width, 3) RGB uint8.
    """
    top, left = placement.offset
    h, w = placement.fitted_size
    crop = np.ascontiguousarray(generated[top : top + h, left : left + w])
    return _resize(crop, photo_size, pose=False)
