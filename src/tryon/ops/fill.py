"""Filling unknown pixels from their surroundings."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from tryon.types import FloatImage, Image, Mask


def push_pull_fill(image: Image, known: Mask) -> Image:
    """Fills the pixels outside ``known`` with a smooth continuation of the known ones.

    Pull-push (Gortler et al., 1996): average the known pixels down an image pyramid,
    then fill each level's gaps from the coarser level on the way back up. Unknown
    pixels take the colours around them, blended over the width of the gap; known
    pixels are returned unchanged. Linear in the number of pixels.

    Args:
        image: (H, W, 3) RGB uint8.
        known: (H, W) bool, the pixels to keep and fill from; must not be empty.

    Returns:
        (H, W, 3) RGB uint8, equal to ``image`` on ``known``.

    Raises:
        ValueError: ``known`` is empty or its shape differs from the image's.
    """
    check_known(image, known)
    mask = known.astype(np.uint8)
    masked = cv2.bitwise_and(image, image, mask=mask).astype(np.float32)
    # Every level is a convex combination of known colours, so already within [0, 255].
    full = (_pull_push(masked, mask) + 0.5).astype(np.uint8)
    out = image.copy()
    cv2.copyTo(full, 1 - mask, out)
    return out


def check_known(image: npt.NDArray[np.generic], known: Mask) -> None:
    """Refuses a fill's known pixels that are none, or not the image's shape.

    Raises:
        ValueError: ``known`` is empty or its shape differs from the image's.
    """
    if known.shape != image.shape[:2]:
        raise ValueError(f"known has shape {known.shape}, the image {image.shape[:2]}")
    if not known.any():
        raise ValueError("no known pixel to fill from")


def push_pull_fill_float(values: FloatImage, known: Mask) -> FloatImage:
    """``push_pull_fill`` for float values of any sign (a residual, a detail layer).

    Args:
        values: (H, W, C) float32.
        known: (H, W) bool, the values to keep and fill from; must not be empty.

    Returns:
        (H, W, C) float32, equal to ``values`` on ``known``.

    Raises:
        ValueError: ``known`` is empty or its shape differs from the values'.
    """
    if known.shape != values.shape[:2]:
        raise ValueError(f"known has shape {known.shape}, the values {values.shape[:2]}")
    if not known.any():
        raise ValueError("no known pixel to fill from")
    mask = known.astype(np.uint8)
    masked = np.ascontiguousarray(values, np.float32) * known[..., None]
    out = np.array(values, np.float32, copy=True)
    cv2.copyTo(_pull_push(masked, mask), 1 - mask, out)
    return out


def _pull_push(
    masked: npt.NDArray[np.float32], mask: npt.NDArray[np.uint8]
) -> npt.NDArray[np.float32]:
    """The pull-push pyramid over ``masked`` (values, zero where ``mask`` is 0): the
    (H, W, C) smooth continuation, meaningful where ``mask`` is 0."""
    # Level 0 is binary (known or not), so its fill is the values where known and the
    # upsampled level 1 elsewhere; the pyramid proper starts at level 1. Weights are kept
    # per channel: same-shape arithmetic is several times faster than broadcasting a
    # trailing axis of 3.
    colour = _halve(masked)
    weight = _halve(mask.astype(np.float32))
    weight = np.repeat(weight[..., None], masked.shape[2], axis=2)
    pyramid: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = []
    while True:
        pyramid.append((colour, weight))
        h, w = weight.shape[:2]
        if h == 1 and w == 1:
            break
        colour, weight = _halve(colour), _halve(weight)
    colour, weight = pyramid[-1]
    filled = colour / np.maximum(weight, 1e-6)
    for colour, weight in reversed(pyramid[:-1]):
        # Where a block is partly known, its known mean and the coarser fill mix by the
        # known fraction (weight * colour / weight is just colour).
        h, w = weight.shape[:2]
        filled = colour + (1 - weight) * _double(filled, (h, w))
    return _double(filled, (masked.shape[0], masked.shape[1]))


def _double(array: npt.NDArray[np.float32], shape: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Bilinear upsampling of a level to the next finer level's (h, w)."""
    h, w = shape
    # A padded odd side: the finer level is one pixel narrower than twice this one.
    up = cv2.resize(array, (array.shape[1] * 2, array.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
    return np.asarray(up[:h, :w].reshape(h, w, -1), np.float32)


def _halve(array: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """2x2 block means; an odd side is padded with zeros (zero weight: no information)."""
    h, w = array.shape[:2]
    if h % 2 or w % 2:
        array = cv2.copyMakeBorder(array, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT, value=0)
    size = ((w + 1) // 2, (h + 1) // 2)
    return np.asarray(cv2.resize(array, size, interpolation=cv2.INTER_AREA), np.float32)


def extrude_fill(image: Image, source: Mask, upward: bool) -> tuple[Image, Mask]:
    """Continues the ``source`` pixels along their columns, up or down.

    Each pixel d rows from the nearest source pixel below it (``upward``) or above it
    takes the source pixel d rows beyond that one, mirrored across the source's edge
    (the nearest one where the mirror leaves the source), so stripes, seams and the
    fabric's folds carry on (trousers continued up under a shorter top keep their
    texture; a copied edge row would streak, a smooth fill would be flat).

    Args:
        image: (H, W, 3) RGB uint8.
        source: (H, W) bool, the pixels to continue.
        upward: continue towards the top of the image (else towards the bottom).

    Returns:
        The filled image, and the (H, W) bool mask of pixels that had a source pixel
        to take (elsewhere the image is unchanged).
    """
    h, w = source.shape
    rows = np.arange(h)[:, None]
    if upward:
        # Nearest source row at or below each pixel: a running minimum from the bottom.
        marked = np.where(source, rows, h)
        nearest = np.minimum.accumulate(marked[::-1], axis=0)[::-1]
        found = nearest < h
    else:
        marked = np.where(source, rows, -1)
        nearest = np.maximum.accumulate(marked, axis=0)
        found = nearest >= 0
    cols = np.broadcast_to(np.arange(w)[None, :], (h, w))
    mirrored = 2 * nearest - rows
    inside = found & (mirrored >= 0) & (mirrored < h)
    taken = np.where(inside, mirrored, nearest).clip(0, h - 1)
    keep = source[taken, cols]
    taken = np.where(keep, taken, nearest)
    out = image.copy()
    out[found] = image[taken[found], cols[found]]
    return out, found
