"""Skin colour: the face's, and which pixels look like it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tryon.ops.color import rgb_to_lab
from tryon.types import BodyKeypoints, Image, Mask


def skin_like(
    image: Image, skin_lab: npt.NDArray[np.float32], where: Mask, chroma: float, lightness: float
) -> Mask:
    """Pixels of ``where`` whose CIELAB colour is within ``chroma`` (a*b* distance) and
    ``lightness`` (L* difference) of the skin colour ``skin_lab``."""
    out = np.zeros(where.shape, bool)
    if not where.any():
        return out
    out[where] = near_skin(rgb_to_lab(image[where]), skin_lab, chroma, lightness)
    return out


def near_skin(
    lab: npt.NDArray[np.float32], skin_lab: npt.NDArray[np.float32], chroma: float, lightness: float
) -> npt.NDArray[np.bool_]:
    """``skin_like``'s test on (N, 3) CIELAB colours."""
    near_hue = (lab[:, 1] - skin_lab[1]) ** 2 + (lab[:, 2] - skin_lab[2]) ** 2 < chroma**2
    return np.asarray(near_hue & (np.abs(lab[:, 0] - skin_lab[0]) < lightness))


def skin_colour(image: Image, face: Mask, kp: BodyKeypoints) -> npt.NDArray[np.float32]:
    """Median CIELAB of the cheeks and forehead (beards and mouths excluded)."""
    rows = np.flatnonzero(face.any(1))
    if len(rows) < 4:
        return np.array([65.0, 15.0, 18.0], np.float32)
    top, bottom = rows[0], rows[-1]
    upper = face.copy()
    upper[int(top + 0.62 * (bottom - top)) :] = False
    lab = rgb_to_lab(image[upper])
    return np.median(lab, axis=0).astype(np.float32)
