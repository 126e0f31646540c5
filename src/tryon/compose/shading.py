"""Shading: the photo's light and folds, measured on the old garment and put on the new one.

The old garment's own colours are divided out (pixels are grouped into a few colour
clusters and each is normalised by its own median brightness) and the result smoothed,
so print and texture do not carry."""

from __future__ import annotations

import cv2
import numpy as np

from tryon.body.frame import chin_y, head_size
from tryon.compose.config import ComposeConfig
from tryon.ops import masks as M
from tryon.ops.color import colour_clusters, luminance, nearest_centre, rgb_to_lab
from tryon.ops.resize import downscale
from tryon.types import BodyAnalysis, FloatImage, Image, Mask


def estimate_shading(
    person: Image, region: Mask, shoulder_width: float, cfg: ComposeConfig
) -> FloatImage:
    """Relative shading (1 = average) of the photo inside ``region``, 1 elsewhere.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        region: where the old garment was (the shading is measured and applied there).
        shoulder_width: pixels, sets the smoothing scale.
    """
    h, w = region.shape
    shading = np.ones((h, w), np.float32)
    if region.sum() < 50:
        return shading
    box = M.bounding_box(region)
    assert box is not None  # the region has at least 50 pixels
    crop, sub = person[box], region[box]
    small, factor = downscale(crop, cfg.shading_side)
    size = (small.shape[1], small.shape[0])
    small_region = cv2.resize(sub.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(
        bool
    )
    if small_region.sum() < 20:
        return shading
    lum = luminance(small) + 1e-3
    lab = rgb_to_lab(small)
    samples = lab[small_region].astype(np.float32)
    k = int(min(cfg.clusters, len(samples)))
    # The clusters are found on at most 2,000 of the pixels; every pixel then joins the
    # nearest one (the same result in a fraction of the time).
    fit = samples[:: max(1, len(samples) // 2000)]
    centres = colour_clusters(fit, k)[0]
    labels = nearest_centre(samples, centres)
    relative = np.ones_like(lum)
    values = lum[small_region]
    rel = np.empty_like(values)
    for c in range(k):
        sel = labels == c
        if sel.any():
            rel[sel] = values[sel] / np.median(values[sel])
    relative[small_region] = rel
    sigma = max(0.8, cfg.shading_blur * shoulder_width * factor * 16)
    # Normalised blur: only region pixels contribute, so the background does not leak in.
    weight = cv2.GaussianBlur(small_region.astype(np.float32), (0, 0), sigma)
    smooth = cv2.GaussianBlur(relative * small_region, (0, 0), sigma) / np.maximum(weight, 1e-3)
    smooth = np.clip(smooth, *cfg.shading_range) ** cfg.shading_strength
    full = cv2.resize(smooth.astype(np.float32), sub.shape[::-1], interpolation=cv2.INTER_LINEAR)
    shading[box][sub] = full[sub]
    return shading


def shading_gain(shading: FloatImage) -> FloatImage:
    """The shading as a factor on sRGB values.

    With the sRGB curve taken as a 2.2 power, (c^2.2 * s)^(1/2.2) = c * s^(1/2.2): the
    shading is encoded once per pixel instead of decoding and encoding every channel.
    """
    return np.asarray(cv2.pow(shading.astype(np.float32), 1 / 2.2).reshape(shading.shape))


def apply_gain(rgb: Image, gain: FloatImage) -> FloatImage:
    """Colours times ``shading_gain``: float RGB in [0, 255]."""
    lit = cv2.multiply(rgb.astype(np.float32), cv2.merge([gain, gain, gain]))
    return np.minimum(lit, 255.0, out=lit)


def apply_shading(rgb: Image, shading: FloatImage) -> FloatImage:
    """Multiplies colours by the shading in linear light; returns float RGB in [0, 255]."""
    return apply_gain(rgb, shading_gain(shading))


def shade_under_chin(shading: FloatImage, body: BodyAnalysis, neck: Mask) -> None:
    """Darkens ``shading`` on painted neck skin just under the chin, where the jaw
    shades it (in place)."""
    box = M.bounding_box(neck)
    if box is None:
        return
    inside = neck[box]
    rows = np.nonzero(inside)[0] + box[0].start
    chin = chin_y(body.keypoints, body.face_mask)
    depth = 0.5 * head_size(body.keypoints)
    dark = 0.65 + 0.35 * np.clip((rows - chin) / depth, 0.0, 1.0).astype(np.float32)
    shading[box][inside] *= dark
