"""Resizing photos down for analysis."""

from __future__ import annotations

import cv2

from tryon.types import Image


def downscale(image: Image, side: int) -> tuple[Image, float]:
    """The image with its long side at most ``side``, and the scale factor applied."""
    h, w = image.shape[:2]
    factor = min(1.0, side / max(h, w))
    if factor == 1.0:
        return image, 1.0
    # Halve (exact 2x2 means) while that stays at or above the target, then bilinear for
    # the last step of less than 2x: cv2's area resampling is an order of magnitude
    # slower at ratios that are not whole numbers.
    while max(image.shape[:2]) >= 2 * side:
        half = (max(1, image.shape[1] // 2), max(1, image.shape[0] // 2))
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if (image.shape[1], image.shape[0]) == size:
        return image, factor
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), factor
