"""Large photos: the engines work on a copy of bounded size, and the change is put back.

A person photo over ``WORKING_PIXELS`` is analysed and dressed on a reduced copy (the
working copy). ``restore`` then scales the try-on's changed region (inside the agnostic
mask's box) back up and blends it into the full-size photo, inside the upscaled mask
only: every pixel outside that mask is the input's, bit for bit, and the pixels inside
it that the engine kept (hands, hair in front) keep their full resolution too.

Coordinates between the two sizes follow OpenCV's resize convention: a full-size pixel
``X`` (its centre) lies at ``(X + 0.5) * w / W - 0.5`` in a working copy ``w`` pixels
wide, and a keypoint at ``x`` on the working copy at ``(x + 0.5) * W / w - 0.5`` on the
full-size photo.

Memory: nothing here makes a float copy of a full-size image; the upscaling and the
blend run over strips of ``STRIP_ROWS`` rows of the changed region's box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from tryon.types import BodyAnalysis, BodyKeypoints, Box, Image, Mask, TryOnResult

WORKING_PIXELS = 2048 * 1536
"""Most pixels the engines work on (3.1 megapixels: 1536 x 2048 in portrait, the top of
the size range the warp engine is tuned for). A larger photo is reduced to this area,
its aspect ratio kept; a photo of this size or less is used as it is."""

STRIP_ROWS = 128
"""Full-size rows upscaled and blended at a time (a 45-megapixel photo's strip of its
full width holds under 4 MB per float channel)."""

Shape = tuple[int, int]


def working_shape(shape: Shape, max_pixels: int = WORKING_PIXELS) -> Shape:
    """The (height, width) the engines work at for a photo of ``shape`` (height, width).

    The photo's own shape when it has at most ``max_pixels`` pixels; else the largest
    shape of the same aspect ratio (each side rounded down) within ``max_pixels``.

    Raises:
        ValueError: a side or ``max_pixels`` under 1.
    """
    height, width = shape
    if min(height, width) < 1 or max_pixels < 1:
        raise ValueError(f"shape {shape} and max_pixels {max_pixels} must be positive")
    if height * width <= max_pixels:
        return height, width
    scale = math.sqrt(max_pixels / (height * width))
    return max(1, math.floor(height * scale)), max(1, math.floor(width * scale))


def reduce_image(image: Image, shape: Shape) -> Image:
    """``image`` (H, W, 3) or (H, W) uint8 resized down to ``shape`` (height, width).

    Halves by exact 2 x 2 means while that stays at or above ``shape``, then area
    resampling for the last step (under 2x).

    Raises:
        ValueError: ``shape`` is larger than the image on a side.
    """
    height, width = shape
    if height > image.shape[0] or width > image.shape[1]:
        raise ValueError(f"cannot reduce a {image.shape[:2]} image to the larger {shape}")
    while image.shape[0] >= 2 * height and image.shape[1] >= 2 * width:
        half = (image.shape[1] // 2, image.shape[0] // 2)
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def restore(result: TryOnResult, person: Image) -> TryOnResult:
    """A try-on made on a working copy, put back into the full-size ``person`` photo.

    Args:
        result: the engine's try-on of the working copy (``result.person``, shape
            (h, w, 3)).
        person: the full-size photo, (H, W, 3) RGB uint8, of which ``result.person`` is
            the reduced copy. Not modified.

    Returns:
        The result at full size: ``image`` the photo with the changed region blended in,
        ``agnostic_mask`` the upscaled mask (every pixel of ``image`` outside it is
        ``person``'s), ``person`` the full-size photo, ``body`` scaled to it (keypoints
        and masks). ``details`` (the engine's own intermediates) stay at the working
        size, which ``working_view`` brings the rest of the result back to.
    """
    image, agnostic_mask = paste_change(person, result.image, result.person, result.agnostic_mask)
    return replace(
        result,
        image=image,
        agnostic_mask=agnostic_mask,
        person=person,
        body=scale_body(result.body, (person.shape[0], person.shape[1])),
    )


def paste_change(
    person: Image, image: Image, working_person: Image, mask: Mask
) -> tuple[Image, Mask]:
    """Blends a working-size try-on's change into a copy of the full-size photo.

    Args:
        person: (H, W, 3) RGB uint8, the full-size photo.
        image: (h, w, 3) RGB uint8, the try-on of the working copy.
        working_person: (h, w, 3) RGB uint8, the working copy itself.
        mask: (h, w) bool, the pixels the try-on was allowed to change.

    Returns:
        The (H, W, 3) photo with the change, and the (H, W) bool upscaled mask (bilinear,
        at one half). Pixels outside that mask are ``person``'s; inside it, the
        upscaled try-on (bicubic) where the engine changed the working copy, faded over
        half a working pixel into ``person``'s own pixels where it did not.

    Raises:
        ValueError: the working arrays do not share one shape.
    """
    if image.shape != working_person.shape or image.shape[:2] != mask.shape:
        raise ValueError(
            f"try-on {image.shape}, working copy {working_person.shape} and mask "
            f"{mask.shape} must have one size"
        )
    out = person.copy()
    full_mask = np.zeros(person.shape[:2], bool)
    changed = np.any(image != working_person, axis=2).view(np.uint8)
    # Closed so that a pixel the try-on happened to leave equal inside its change does
    # not let a dot of the old photo through.
    changed = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    changed_f = (changed.astype(bool) & mask).astype(np.float32)
    mask_f = mask.astype(np.float32)
    for rows, cols, map_x, map_y in _strips(mask, (person.shape[0], person.shape[1])):
        inside = _remap(mask_f, map_x, map_y, cv2.INTER_LINEAR) > 0.5
        full_mask[rows, cols] = inside
        alpha = np.clip(_remap(changed_f, map_x, map_y, cv2.INTER_LINEAR) * 2 - 1, 0, 1)
        alpha *= inside
        upscaled = _remap(image, map_x, map_y, cv2.INTER_CUBIC).astype(np.float32)
        part = out[rows, cols]
        step = np.rint((upscaled - part) * alpha[..., None])  # exactly 0 where alpha is 0
        out[rows, cols] = (part + step).astype(np.uint8)
    return out, full_mask


def upscale_mask(mask: Mask, shape: Shape) -> Mask:
    """``mask`` (h, w) bool at ``shape`` (H, W): bilinear, at one half (smooth edges,
    not a staircase of nearest-neighbour blocks)."""
    full = np.zeros(shape, bool)
    mask_f = mask.astype(np.float32)
    for rows, cols, map_x, map_y in _strips(mask, shape):
        full[rows, cols] = _remap(mask_f, map_x, map_y, cv2.INTER_LINEAR) > 0.5
    return full


def scale_body(body: BodyAnalysis, shape: Shape) -> BodyAnalysis:
    """The body analysis of a working copy, on the photo of ``shape`` (H, W): keypoints
    moved, masks upscaled (``upscale_mask``); colours and counts unchanged."""
    return _resized_body(body, shape, upscale_mask)


def working_view(result: TryOnResult, shape: Shape) -> TryOnResult:
    """A full-size result brought to the working size ``shape`` (h, w) of its
    ``details``, so its pictures can be drawn together (the "show steps" view).

    ``image`` and ``person`` are reduced by area, masks by area at one half, keypoints
    moved; a result already of that size is returned as it is.
    """
    if result.image.shape[:2] == shape:
        return result
    return replace(
        result,
        image=reduce_image(result.image, shape),
        person=reduce_image(result.person, shape),
        agnostic_mask=reduce_mask(result.agnostic_mask, shape),
        body=_resized_body(result.body, shape, reduce_mask),
    )


def _resized_body(
    body: BodyAnalysis, shape: Shape, resize: Callable[[Mask, Shape], Mask]
) -> BodyAnalysis:
    points = body.keypoints
    h, w = points.image_size
    factor = np.array([shape[1] / w, shape[0] / h], np.float32)
    moved = ((points.mediapipe + 0.5) * factor - 0.5).astype(np.float32)
    return replace(
        body,
        keypoints=BodyKeypoints(moved, points.visibility, (shape[0], shape[1])),
        person_mask=resize(body.person_mask, shape),
        face_mask=resize(body.face_mask, shape),
        head_mask=resize(body.head_mask, shape),
        hands_mask=resize(body.hands_mask, shape),
    )


def reduce_mask(mask: Mask, shape: Shape) -> Mask:
    """``mask`` (H, W) bool reduced to ``shape`` (h, w): by area, at one half."""
    grey = np.where(mask, np.uint8(255), np.uint8(0))
    return reduce_image(grey, shape) >= 128


def _strips(mask: Mask, shape: Shape) -> Iterator[tuple[slice, slice, np.ndarray, np.ndarray]]:
    """The full-size box that a working-size ``mask`` (h, w) can reach once upscaled to
    ``shape`` (H, W), in strips of ``STRIP_ROWS`` rows: each strip's rows and columns
    and its (rows, cols) float32 source coordinates x and y on the mask's grid."""
    box = _box(mask)
    if box is None:
        return
    y0, y1, x0, x1 = box
    h, w = mask.shape
    full_y0, full_y1 = _reach(y0, y1, h, shape[0])
    full_x0, full_x1 = _reach(x0, x1, w, shape[1])
    xs = _source(full_x0, full_x1, w, shape[1])
    for top in range(full_y0, full_y1, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, full_y1)
        ys = _source(top, bottom, h, shape[0])
        map_x = np.repeat(xs[None, :], bottom - top, axis=0)
        map_y = np.repeat(ys[:, None], full_x1 - full_x0, axis=1)
        yield slice(top, bottom), slice(full_x0, full_x1), map_x, map_y


def _box(mask: Mask) -> Box | None:
    """(y0, y1, x0, x1), the half-open bounding box of ``mask``; None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _reach(start: int, stop: int, small: int, full: int) -> tuple[int, int]:
    """The full-size pixels [a, b) whose source coordinate lies within one working
    pixel of the working pixels [start, stop): all that interpolation can reach."""
    ratio = full / small
    first = math.floor((start - 0.5) * ratio - 0.5)
    last = math.ceil((stop + 0.5) * ratio - 0.5)
    return max(0, first), min(full, last + 1)


def _source(start: int, stop: int, small: int, full: int) -> npt.NDArray[np.float32]:
    """Source coordinates on a ``small`` grid of the full-size pixels [start, stop)."""
    return ((np.arange(start, stop, dtype=np.float64) + 0.5) * (small / full) - 0.5).astype(
        np.float32
    )


def _remap(source: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, how: int) -> np.ndarray:
    return cv2.remap(source, map_x, map_y, how, borderMode=cv2.BORDER_REPLICATE)
