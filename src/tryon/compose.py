"""Compose: put the warped garment into the photo, lit like the photo.

* Shading: the photo's light and folds inside the old garment, with the old garment's
  own colours divided out (pixels are grouped into a few colour clusters and each is
  normalised by its own median brightness), smoothed so print and texture do not carry.
* Occlusion: hands, head and hair are outside the agnostic mask, so they stay in front;
  bare forearms lying over the torso stay in front of a new top's body.
* Fill: old-garment pixels the new garment leaves uncovered become skin on the arms and
  neck and background elsewhere.
* Seams: the garment fades out over a few pixels inside the agnostic mask's edge, and
  every pixel outside the mask is copied from the input, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.agnostic import body_frame
from tryon.ops import masks as M
from tryon.ops.color import lab_to_rgb, luminance, rgb_to_lab
from tryon.types import BodyAnalysis, Category, Image, Joint, Mask, Piece, WarpedGarment

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ComposeConfig:
    """Parameters of the composite.

    Attributes:
        clusters: colour clusters used to divide the old garment's colours out.
        shading_range: clamp of the shading factor (darkest, brightest).
        shading_strength: exponent on the shading (1: as in the photo).
        shading_blur: smoothing of the shading, x shoulder width.
        seam: width of the fade at the mask edge, pixels at 1024 rows.
    """

    clusters: int = 4
    shading_range: tuple[float, float] = (0.45, 1.35)
    shading_strength: float = 0.9
    shading_blur: float = 0.006
    seam: float = 3.0


@dataclass(frozen=True)
class Composite:
    """The result of composing, with its intermediates."""

    image: Image
    shading: FloatImage
    fill_mask: Mask


def estimate_shading(person: Image, region: Mask, shoulder_width: float, cfg: ComposeConfig) -> FloatImage:
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
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop, sub = person[y0:y1, x0:x1], region[y0:y1, x0:x1]
    factor = min(1.0, 384 / max(crop.shape[:2]))
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_region = cv2.resize(sub.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    if small_region.sum() < 20:
        return shading
    lum = luminance(small) + 1e-3
    lab = rgb_to_lab(small)
    samples = lab[small_region].astype(np.float32)
    k = int(min(cfg.clusters, len(samples)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)
    _, labels, _ = cv2.kmeans(samples, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
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
    full = cv2.resize(smooth.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    shading[y0:y1, x0:x1] = np.where(sub, full, 1.0)
    return shading


def _apply_shading(rgb: Image, shading: FloatImage) -> FloatImage:
    """Multiplies colours by the shading in linear light; returns float RGB in [0, 255]."""
    linear = (rgb.astype(np.float32) / 255.0) ** 2.2
    lit = np.clip(linear * shading[..., None], 0, 1) ** (1 / 2.2)
    return lit * 255.0


def _arm_strokes(body: BodyAnalysis, width_factor: float) -> Mask:
    kp, shape = body.keypoints, body.person_mask.shape
    r = body_frame(kp).r
    out = np.zeros(shape, bool)
    for s, e, w in ((Joint.R_SHOULDER, Joint.R_ELBOW, Joint.R_WRIST), (Joint.L_SHOULDER, Joint.L_ELBOW, Joint.L_WRIST)):
        out |= M.draw_stroke(shape, [kp.joint(s), kp.joint(e), kp.joint(w)], width_factor * r)
    return out


def _skin_like(person: Image, body: BodyAnalysis, where: Mask) -> Mask:
    """Pixels of ``where`` whose colour is close to the face's skin."""
    out = np.zeros(where.shape, bool)
    if not where.any():
        return out
    lab = rgb_to_lab(person[where])
    chroma = np.linalg.norm(lab[:, 1:] - body.skin_lab[1:], axis=1)
    light = np.abs(lab[:, 0] - body.skin_lab[0])
    out[where] = (chroma < 12) & (light < 30)
    return out


def _fill(person: Image, body: BodyAnalysis, hole: Mask, skin_zone: Mask, shading: FloatImage) -> FloatImage:
    """Plausible content for ``hole``: shaded skin inside ``skin_zone``, else background
    continued inwards from the hole's surroundings."""
    out = person.astype(np.float32)
    if not hole.any():
        return out
    h, w = hole.shape
    factor = min(1.0, 256 / max(h, w))
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    small = cv2.resize(person, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(M.dilate(hole, 2 / factor).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    painted = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    background = cv2.resize(painted, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    skin_rgb = lab_to_rgb(body.skin_lab[None, None, :])[0, 0] * 255.0
    skin = _apply_shading(np.broadcast_to(skin_rgb.astype(np.uint8), (h, w, 3)), shading)
    content = np.where(skin_zone[..., None], skin, background)
    out[hole] = content[hole]
    return out


def compose(
    person: Image,
    body: BodyAnalysis,
    warped: WarpedGarment,
    agnostic: Mask,
    category: Category,
    cfg: ComposeConfig | None = None,
) -> Composite:
    """Composes the try-on image.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        warped: the garment in the photo's frame.
        agnostic: (H, W) bool, the pixels that may change.
        category: the category tried on.

    Returns:
        The composite; outside ``agnostic`` it equals ``person`` exactly.
    """
    cfg = cfg or ComposeConfig()
    h = person.shape[0]
    kp = body.keypoints
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    old = agnostic & body.person_mask
    shading = estimate_shading(person, old, sw, cfg)
    alpha = warped.alpha.copy()
    if category is not Category.LOWER:
        # Bare forearms over the body stay in front of the new top's body (not its sleeves).
        front = _skin_like(person, body, _arm_strokes(body, 6.0) & old) & (warped.pieces == Piece.TORSO)
        alpha[M.open_(front, 2)] = 0.0
    covered = alpha > 0.5
    hole = old & ~covered
    skin_zone = np.zeros_like(hole)
    if category is not Category.LOWER:
        skin_zone = (_arm_strokes(body, 5.0) | _neck_zone(body)) & body.person_mask
    base = _fill(person, body, hole, skin_zone & hole, shading)
    seam = cfg.seam * h / 1024
    fade = M.inner_ramp(agnostic, seam)
    a = (alpha * fade)[..., None]
    garment = _apply_shading(warped.image, shading)
    out = a * garment + (1 - a) * base
    image = np.where(agnostic[..., None], np.clip(np.round(out), 0, 255).astype(np.uint8), person)
    return Composite(image=image, shading=shading, fill_mask=hole)


def _neck_zone(body: BodyAnalysis) -> Mask:
    kp = body.keypoints
    frame = body_frame(kp)
    neck = frame.neck
    return M.draw_stroke(body.person_mask.shape, [neck - frame.down * 0.35 * frame.torso_length, neck], 4 * frame.r)
