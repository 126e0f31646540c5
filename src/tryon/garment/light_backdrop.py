"""Cutting out a light garment on a light backdrop (a white shirt on a white studio sweep).

Such a garment hardly differs from the backdrop in colour, and its soft drop shadow
differs more than the garment does, so a colour threshold either refuses it or cuts the
shadow. What a person sees instead is the garment's outline: a sharp step in lightness
where the fabric ends (its rim, hem and seams), while a drop shadow fades smoothly. The
cut therefore keeps

* sharp edges: the part of the lightness gradient at a fine scale that a coarse scale
  does not have (a step keeps about 60% of it; a soft shadow's ramp nearly none), with
  hysteresis so that a faint stretch of outline joined to a clear one counts, and
* colour evidence the shadow cannot have: a hue the backdrop lacks (cream, pastel) or
  a lightness above the backdrop's (a bright garment on a grey sweep),

and takes as garment what these enclose: the pixels that cannot be reached from the
photo's border without crossing them (gaps narrower than ``2 * gap + 1`` pixels closed).
Every threshold is a multiple of the noise measured on the photo's border, with a floor
below which a step is not visible to a person either.

GrabCut is not used: its colour models of a white garment and of a white backdrop with
a grey shadow overlap, so its data term cannot tell garment from shadow, and it costs
several times this cut. Structured edge detection (ximgproc) needs a trained model file
that is not shipped in any installable package.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.ops import masks as M
from tryon.types import Mask

FloatMap = npt.NDArray[np.float32]
_CANNY_UNIT = 1000.0  # L* per pixel to Canny's int16 gradients


@dataclass(frozen=True)
class LightCutConfig:
    """Thresholds of the light-on-light cut, at the working size (512 px long side).

    Attributes:
        fine_sigma: Gaussian scale (px) of the gradient that sees the garment's edge.
        coarse_sigma: Gaussian scale (px) of the gradient subtracted from it (a soft
            shadow's gradient is the same at both scales).
        noise_factor: weak-edge threshold, in medians of the border's edge response.
        min_weak_edge: floor of the weak-edge threshold (L* per pixel).
        min_strong_edge: floor of the strong-edge threshold (L* per pixel): an outline
            fainter than about 2 L* all along is refused.
        colour_factor: colour-evidence threshold, in medians of the border's deviation.
        min_colour: floor of the colour-evidence threshold (CIELAB units).
        gap: radius (px) by which edges are thickened to close gaps in the outline.
    """

    fine_sigma: float = 1.0
    coarse_sigma: float = 2.5
    noise_factor: float = 3.0
    min_weak_edge: float = 0.15
    min_strong_edge: float = 0.5
    colour_factor: float = 6.0
    min_colour: float = 2.0
    gap: float = 3.0


def cut_light_garment(
    lab: FloatMap, backdrop: FloatMap, border: int, cfg: LightCutConfig | None = None
) -> Mask:
    """The garment enclosed by its sharp outline and its backdrop-foreign colours.

    Args:
        lab: (h, w, 3) float32 CIELAB photo at the working size.
        backdrop: (h, w, 3) float32 CIELAB backdrop colour field fitted to the border.
        border: width (px) of the frame that shows only backdrop.
        cfg: thresholds; defaults to ``LightCutConfig()``.

    Returns:
        (h, w) bool mask of the largest enclosed region, holes filled; empty when no
        visible outline was found.
    """
    cfg = cfg or LightCutConfig()
    frame = _frame(lab.shape[:2], border)
    edges = sharp_edges(lab[..., 0], frame, cfg)
    colour = colour_evidence(lab, backdrop, frame, cfg)
    barrier = M.dilate(edges, cfg.gap) | colour
    inside = ~_reachable_from_border(~barrier)
    # The flood stops on the outer side of the thickened edges: step back onto the edge.
    inside = M.erode(inside, cfg.gap)
    if not inside.any():
        return inside
    return M.fill_holes(M.largest_component(inside))


def sharp_edges(lightness: FloatMap, frame: Mask, cfg: LightCutConfig) -> Mask:
    """Steps in lightness sharper than a soft shadow's fade, above the photo's noise.

    The lightness is band-passed (fine minus coarse Gaussian), which keeps most of a
    step and almost nothing of a ramp wider than the coarse scale; Canny's non-maximum
    suppression and hysteresis then give one-pixel edges on the step's ridge.

    Args:
        lightness: (h, w) float32 L* in [0, 100].
        frame: (h, w) bool pixels of the border, which show backdrop only.
        cfg: thresholds.

    Returns:
        (h, w) bool edge pixels, one pixel wide: weak edges joined to a strong one.
    """
    band = cv2.GaussianBlur(lightness, (0, 0), cfg.fine_sigma) - cv2.GaussianBlur(
        lightness, (0, 0), cfg.coarse_sigma
    )
    gx = cv2.Sobel(band, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    noise = float(np.median(cv2.magnitude(gx, gy)[frame]))
    weak = max(cfg.noise_factor * noise, cfg.min_weak_edge)
    strong = max(2 * weak, cfg.min_strong_edge)
    unit = _CANNY_UNIT
    dx = np.clip(gx * unit, -32767, 32767).astype(np.int16)
    dy = np.clip(gy * unit, -32767, 32767).astype(np.int16)
    return cv2.Canny(dx, dy, weak * unit, strong * unit, L2gradient=True) > 0


def colour_evidence(lab: FloatMap, backdrop: FloatMap, frame: Mask, cfg: LightCutConfig) -> Mask:
    """Pixels a shadow on the backdrop cannot explain: another hue, or lighter.

    Args:
        lab: (h, w, 3) float32 CIELAB photo.
        backdrop: (h, w, 3) float32 CIELAB backdrop field.
        frame: (h, w) bool border pixels.
        cfg: thresholds.

    Returns:
        (h, w) bool pixels clearly off the backdrop's hue or above its lightness.
    """
    diff = cv2.GaussianBlur(lab - backdrop, (0, 0), 1.0)
    chroma = np.hypot(diff[..., 1], diff[..., 2])
    lighter = diff[..., 0]
    chroma_noise = float(np.median(chroma[frame]))
    light_noise = float(np.median(np.abs(lighter[frame])))
    found = (chroma > max(cfg.colour_factor * chroma_noise, cfg.min_colour)) | (
        lighter > max(cfg.colour_factor * light_noise, cfg.min_colour)
    )
    return M.open_(found, 1.5)


def _frame(shape: tuple[int, ...], border: int) -> Mask:
    frame = np.zeros(shape[:2], bool)
    frame[:border], frame[-border:], frame[:, :border], frame[:, -border:] = True, True, True, True
    return frame


def _reachable_from_border(free: Mask) -> Mask:
    """Pixels of ``free`` 4-connected to the image border through ``free``."""
    _, labels = cv2.connectedComponents(free.astype(np.uint8), connectivity=4)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    ids = np.unique(edge[edge > 0])
    return np.isin(labels, ids)
