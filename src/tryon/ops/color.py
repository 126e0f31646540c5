"""Colour conversions and differences."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
LabColour = npt.NDArray[np.float32]
"""(3,) float32 CIELAB colour."""
LabColours = npt.NDArray[np.float32]
"""(N, 3) float32 CIELAB colours."""


def _srgb_to_linear(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# sRGB byte -> linear light, the same for the three channels (a LUT of (256, 1, 3)).
_SRGB_LINEAR = np.ascontiguousarray(
    np.repeat(_srgb_to_linear(np.arange(256) / 255.0)[:, None], 3, 1).reshape(256, 1, 3),
    dtype=np.float32,
)
# Linear sRGB -> XYZ relative to the D65 white point (each row divided by its white).
_RGB_TO_XYZ = (
    np.array(
        [
            [0.412453, 0.357580, 0.180423],
            [0.212671, 0.715160, 0.072169],
            [0.019334, 0.119193, 0.950227],
        ]
    )
    / np.array([0.950456, 1.0, 1.088754])[:, None]
).astype(np.float32)
# f(X), f(Y), f(Z) -> L*, a*, b* (an affine map).
_F_TO_LAB = np.array([[0, 116, 0, -16], [500, -500, 0, 0], [0, 200, -200, 0]], np.float32)
_EPSILON = 216 / 24389  # below it, f is linear
_KAPPA = 24389 / 27


def rgb_to_lab(rgb: npt.NDArray[np.uint8] | FloatArray) -> FloatArray:
    """Converts sRGB (uint8, or float in [0, 1]) of shape (..., 3) to CIELAB (D65).

    Returns float32 with L in [0, 100] and a, b roughly in [-128, 127], within 1e-3 of
    the exact formulas (OpenCV's own float conversion is off by up to 0.5, and about
    three times slower than this on bytes).
    """
    arr = np.asarray(rgb)
    shape = arr.shape
    if arr.size == 0:
        return np.zeros(shape, np.float32)
    if arr.dtype == np.uint8:
        linear = cv2.LUT(np.ascontiguousarray(arr).reshape(-1, 1, 3), _SRGB_LINEAR)
    else:
        linear = _srgb_to_linear(arr.astype(np.float64)).astype(np.float32).reshape(-1, 1, 3)
    xyz = cv2.transform(linear, _RGB_TO_XYZ)
    f = cv2.pow(xyz, 1 / 3)
    dark = xyz <= _EPSILON
    if dark.any():
        f[dark] = (_KAPPA * xyz[dark] + 16) / 116
    return np.asarray(cv2.transform(f, _F_TO_LAB).reshape(shape), np.float32)


def lab_to_rgb(lab: FloatArray) -> FloatArray:
    """Converts CIELAB (..., 3) back to sRGB float in [0, 1] (clipped)."""
    arr = np.asarray(lab, np.float32)
    rgb = cv2.cvtColor(arr.reshape(-1, 1, 3), cv2.COLOR_LAB2RGB).reshape(arr.shape)
    return np.clip(rgb, 0.0, 1.0)


def delta_e76(lab_a: npt.ArrayLike, lab_b: npt.ArrayLike) -> FloatArray:
    """CIE76 colour difference (Euclidean in CIELAB) along the last axis."""
    a = np.asarray(lab_a, np.float32)
    b = np.asarray(lab_b, np.float32)
    return np.asarray(np.sqrt(((a - b) ** 2).sum(-1)), np.float32)


# Linear light of each sRGB byte (the sRGB curve taken as a 2.2 power).
_LINEAR = (np.arange(256, dtype=np.float32) / 255.0) ** 2.2


def luminance(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """Relative luminance in [0, 1] of an sRGB uint8 image (linear light, Rec. 709)."""
    lin = _LINEAR[rgb]
    return np.asarray(lin @ np.array([0.2126, 0.7152, 0.0722], np.float32), np.float32)


def nearest_distance(
    lab: npt.NDArray[np.float32], colours: npt.NDArray[np.float32], lightness_weight: float = 1.0
) -> FloatArray:
    """CIELAB distance of each (N, 3) colour to the nearest of ``colours`` (K, 3).

    ``lightness_weight`` scales the L* difference: below 1 where shade (which changes L*
    far more than a* and b*) should count less than hue.
    """
    best = np.full(len(lab), np.inf, np.float32)
    for colour in colours:
        # Per channel: (N,) arrays are far faster than broadcasting a trailing axis of 3.
        d2 = (lightness_weight * (lab[:, 0] - colour[0])) ** 2
        d2 += (lab[:, 1] - colour[1]) ** 2
        d2 += (lab[:, 2] - colour[2]) ** 2
        np.minimum(best, d2, out=best)
    return np.asarray(np.sqrt(best), np.float32)


def nearest_centre(
    samples: npt.NDArray[np.float32], centres: npt.NDArray[np.float32]
) -> npt.NDArray[np.intp]:
    """Index of the nearest of ``centres`` (K, 3) to each (N, 3) colour (the first of
    equally near ones)."""
    labels = np.zeros(len(samples), np.intp)
    best = np.full(len(samples), np.inf, np.float32)
    for index, centre in enumerate(centres):
        d2 = (samples[:, 0] - centre[0]) ** 2
        d2 += (samples[:, 1] - centre[1]) ** 2
        d2 += (samples[:, 2] - centre[2]) ** 2
        closer = d2 < best
        labels[closer] = index
        np.minimum(best, d2, out=best)
    return labels


def colour_clusters(
    samples: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """K-means clusters of (N, 3) float32 colours, seeded so that runs repeat: the
    (k, 3) centres and each sample's (N,) label."""
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return np.asarray(centres, np.float32), np.asarray(labels, np.int32).ravel()
