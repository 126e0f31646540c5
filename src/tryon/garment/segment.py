"""Garment masks from product photos (a garment on a plain backdrop).

The backdrop is modelled as a smooth colour field fitted to the photo's border (so a
vignette or a light gradient stays backdrop); a pixel belongs to the garment when its
CIELAB distance to that field passes a threshold chosen by Otsu's method. A photo
whose garment is not clearly separable by colour, a light garment on a light backdrop
(a white shirt on a white sweep), is cut along its visible outline instead
(``light_backdrop``); one without a visible outline is refused, never guessed.

A cut-out (a PNG whose backdrop is transparent) needs none of this: its alpha channel
is the mask (``cutout_mask``), whatever the garment's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.errors import GarmentNotFoundError
from tryon.garment.light_backdrop import cut_light_garment
from tryon.ops import masks as M
from tryon.ops.color import rgb_to_lab
from tryon.types import Image, Mask


@dataclass(frozen=True)
class SegmentConfig:
    """Thresholds of the product-photo segmentation.

    Attributes:
        border: width of the frame used to learn the backdrop, fraction of the short side.
        lightness_weight: weight of the L* difference (shadows on the backdrop are darker
            but have its hue, so lightness counts less than chroma).
        min_contrast: smallest accepted median distance between garment and backdrop.
        max_border_noise: largest accepted spread of backdrop colours (a cluttered
            border means there is no plain backdrop).
    """

    border: float = 0.03
    lightness_weight: float = 0.6
    min_contrast: float = 10.0
    max_border_noise: float = 12.0


def _backdrop_field(
    lab: npt.NDArray[np.float32], border: int
) -> tuple[npt.NDArray[np.float32], float]:
    """Fits a quadratic colour field to the border pixels; returns (field, residual spread)."""
    h, w = lab.shape[:2]
    frame = np.zeros((h, w), bool)
    frame[:border], frame[-border:], frame[:, :border], frame[:, -border:] = True, True, True, True
    ys, xs = np.nonzero(frame)
    u, v = xs / w - 0.5, ys / h - 0.5
    basis = np.stack([np.ones_like(u), u, v, u * u, v * v, u * v], 1)
    samples = lab[ys, xs]
    coef, *_ = np.linalg.lstsq(basis, samples, rcond=None)
    residual = np.linalg.norm(samples - basis @ coef, axis=1)
    # Robust refit: ignore border pixels that belong to something else (a garment edge).
    inliers = residual < max(3 * np.median(residual), 2.0)
    coef, *_ = np.linalg.lstsq(basis[inliers], samples[inliers], rcond=None)
    spread = float(
        np.percentile(np.linalg.norm(samples[inliers] - basis[inliers] @ coef, axis=1), 90)
    )
    gy, gx = np.mgrid[0:h, 0:w]
    gu, gv = gx / w - 0.5, gy / h - 0.5
    full = np.stack([np.ones_like(gu), gu, gv, gu * gu, gv * gv, gu * gv], -1) @ coef
    return full.astype(np.float32), spread


def segment_product(image: Image, cfg: SegmentConfig | None = None) -> Mask:
    """Separates the garment from a plain backdrop.

    Args:
        image: (H, W, 3) RGB uint8 product photo, garment roughly centred.
        cfg: thresholds; defaults to ``SegmentConfig()``.

    Returns:
        (H, W) bool garment mask: one component, holes filled.

    Raises:
        GarmentNotFoundError: a blank photo, no plain backdrop, a garment whose outline
            cannot be seen on the backdrop, or no garment-sized region.
    """
    cfg = cfg or SegmentConfig()
    h, w = image.shape[:2]
    _check_not_blank(image)
    scale = min(1.0, 512 / max(h, w))
    small = cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    lab = rgb_to_lab(small)
    border = max(2, round(cfg.border * min(small.shape[:2])))
    field, spread = _backdrop_field(lab, border)
    if spread > cfg.max_border_noise:
        raise GarmentNotFoundError(
            "the garment photo has no plain backdrop (its edges are busy); use a product "
            "photo on a plain light or coloured backdrop, or a photo of a person wearing it"
        )
    diff = (lab - field) * np.array([cfg.lightness_weight, 1.0, 1.0], np.float32)
    distance = np.linalg.norm(diff, axis=-1)
    distance = cv2.GaussianBlur(distance, (0, 0), 1.0)
    d8 = np.clip(distance * 4, 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(d8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = max(otsu / 4, 3 * spread, 4.0)
    mask = distance > threshold
    mask = M.open_(mask, 1.5)
    mask = M.largest_component(mask)
    area = mask.mean()
    contrast = float(np.median(distance[mask])) if mask.any() else 0.0
    if area < 0.03 or contrast < cfg.min_contrast:
        # Too close to the backdrop's colour to threshold: a light garment on a light
        # backdrop, cut along its outline when that can be seen.
        mask = cut_light_garment(lab, field, border)
        if mask.mean() < 0.03:
            raise GarmentNotFoundError(
                "no garment stands out from the backdrop of the garment photo (colour "
                f"contrast {contrast:.0f}, and no outline encloses a garment-sized region); "
                "a white garment on a white backdrop whose edges cast no shading cannot be "
                "cut out: photograph it on a contrasting backdrop, or send a cut-out PNG"
            )
    _check_frame(mask)
    mask = M.fill_holes(M.close(mask, 2))
    full = cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return full > 127


def cutout_mask(opaque: Mask) -> Mask:
    """The garment mask of a cut-out: its opaque pixels, one component, holes filled.

    Raises:
        GarmentNotFoundError: almost nothing is opaque, or everything up to the edges.
    """
    if not opaque.any():
        raise GarmentNotFoundError(
            "the garment photo is fully transparent: no pixel of it is opaque; export the "
            "garment with its pixels visible (or as a JPEG on a plain backdrop)"
        )
    h, w = opaque.shape
    radius = max(1.0, max(h, w) / 512)  # a speck of stray alpha is not the garment
    mask = M.largest_component(M.open_(opaque, radius))
    if mask.mean() < 0.03:
        raise GarmentNotFoundError(
            f"the garment photo is a cut-out, but only {mask.mean():.1%} of it is opaque; "
            "export the garment with its full outline"
        )
    _check_frame(mask)
    return M.fill_holes(mask)


def _check_not_blank(image: Image) -> None:
    """Refuses a photo of one flat colour, which is what a fully transparent PNG reads as."""
    first = image[0, 0]
    if (image == first).all():
        raise GarmentNotFoundError(
            "the garment photo is blank: every pixel has the same colour "
            f"{tuple(int(c) for c in first)} (a fully transparent PNG reads as plain "
            "white), so there is no garment in it; send a photo of the garment"
        )


def _check_frame(mask: Mask) -> None:
    area = float(mask.mean())
    if area > 0.9 or _border_contact(mask) > 0.5:
        raise GarmentNotFoundError(
            f"the garment fills the frame of the garment photo ({area:.0%} of it, touching "
            "the edges); use a photo that shows the whole garment with backdrop around it"
        )


def _border_contact(mask: Mask) -> float:
    """Fraction of the image border covered by the mask."""
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    return float(edge.mean())
