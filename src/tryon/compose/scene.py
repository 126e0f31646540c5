"""The scene: what the composite needs from the person photo alone, before any garment
(the old garment, the shading, the backdrop continued over it, the neck and arm skin)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body.clothing import (
    OldGarment,
    find_old_garment,
    looks_like_skin,
    skin_pixels,
)
from tryon.body.frame import draw_neck
from tryon.body.hands import HANDS
from tryon.compose.arms import BARE_ARM_WIDTH, arm_reach, hand_colour, skin_grain_strength
from tryon.compose.config import ComposeConfig
from tryon.compose.shading import estimate_shading, shade_under_chin, shading_gain
from tryon.ops import masks as M
from tryon.ops.color import lab_to_rgb
from tryon.ops.inpaint import fine_detail, reflect_texture, trend_fill
from tryon.types import BodyAnalysis, Category, FloatImage, Image, Joint, Mask


@dataclass(frozen=True)
class Scene:
    """What the composite needs from the person photo alone, before any garment.

    It depends on the photo, its body analysis and the category, never on the new
    garment, so it can be worked out while the garment is warped.

    Attributes:
        old_garment: the garment being replaced and the one next to it.
        shading: (H, W) float32, the photo's relative shading (1 outside the old
            garment), darker under the chin on painted neck skin.
        backdrop: (H, W, 3) the photo with the old garment replaced by the scenery
            around it continued inwards: what a gap the new garment leaves shows.
        backdrop_region: (H, W) bool, where ``backdrop`` was filled in (the old
            garment grown by two pixels).
        bare_neck: (H, W) bool, neck skin the photo shows inside the old garment's
            opening (kept, never painted over); empty for trousers.
        covered_neck: (H, W) bool, the neck the old garment covered (a high collar):
            painted as skin, darker under the chin, where the new garment leaves it.
        neck_zone: (H, W) bool, the neck's shape, across which painted neck skin is
            rounded; empty for trousers.
        arm_skin: (H, W) bool, pixels of the old garment along the arms that look like
            skin (tested once here; which of them count depends on the new sleeves).
        paint: (3, 3) uint8 RGB, the skin colour painted on the neck, the right arm
            and the left arm: each arm takes its own hand's colour where the hand shows
            enough skin (light on a hand and on a face differ), else the face's.
        skin_grain: the fine light variation of the person's visible skin, given to
            painted skin (``skin_grain_strength``); 0 for trousers (no skin painted).
        gain: (H, W) float32, ``shading`` as a factor on sRGB values.
        box: the agnostic mask's bounding box (None when it is empty).
        weight: float32 over ``box``, the most the garment may cover each pixel: 0
            outside the agnostic mask, rising to 1 over the seam inside its edge.
    """

    old_garment: OldGarment
    shading: FloatImage
    backdrop: Image
    backdrop_region: Mask
    bare_neck: Mask
    covered_neck: Mask
    neck_zone: Mask
    arm_skin: Mask
    paint: Image
    skin_grain: float
    gain: FloatImage
    box: tuple[slice, slice] | None
    weight: FloatImage


def continue_scenery(person: Image, region: Mask, person_area: Mask) -> Image:
    """The photo with ``region`` filled from the scenery around it, continued inwards
    (never from the person: a face or trousers smeared into a gap would show as a
    halo).

    The fill is smooth where the scenery is (a studio backdrop's glow carries on across
    the region, with no plateau the old garment's shape) and takes the scenery's fine
    texture (gravel, leaves, a wall's grain) where it has one; see ``_scenery_fill``.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        region: (H, W) bool, the pixels to fill.
        person_area: (H, W) bool, the person, never filled from.

    Returns:
        (H, W, 3) RGB uint8, equal to ``person`` outside ``region``.
    """
    out = person.copy()
    if not region.any():
        return out
    scenery = ~person_area & ~region
    # The fill continues what surrounds the region: work on its box, grown so that
    # there is something around it to continue.
    h, w = region.shape
    rows, cols = M.bounding_box(region)  # type: ignore[misc]
    pad = max(rows.stop - rows.start, cols.stop - cols.start) // 4 + 8
    box = (
        slice(max(0, rows.start - pad), min(h, rows.stop + pad)),
        slice(max(0, cols.start - pad), min(w, cols.stop + pad)),
    )
    known = scenery[box] if scenery[box].any() else ~region[box]
    if known.any():
        filled = _scenery_fill(person[box], known, region[box], h / 1024)
        M.paste(out[box], filled, region[box])
    return out


# In pixels of a 1024-pixel-high photo. Next to the person the scenery is tinted by the
# old garment's soft edge (light from a pale one) for about this far: never filled from.
_RIM = 8
# The texture carried into a gap: detail finer than this (gravel, leaves, grain) ...
_DETAIL_SIGMA = 2.5
# ... reflected across the gap's edge, folded back every this many pixels.
_FOLD = 24
# Scenery whose fine detail is this faint (RMS grey levels) is plain: not reflected.
_PLAIN = 1.5


def _scenery_fill(image: Image, known: Mask, region: Mask, unit: float) -> Image:
    """A smooth fill continuing the scenery's gradients (``trend_fill`` at half
    resolution: it is smooth anyway, and this costs a quarter) plus its fine texture
    reflected into ``region`` (``reflect_texture``), both from the known pixels away from
    the person's rim.

    Args:
        image: (h, w, 3) RGB uint8, a box of the photo.
        known: (h, w) bool, its scenery; not empty.
        region: (h, w) bool, the pixels wanted (others are meant to be discarded).
        unit: the photo's height / 1024.

    Returns:
        (h, w, 3) RGB uint8, meaningful on ``region``.
    """
    # Known pixels at least the rim's width from any unknown one (the region, the person).
    depth = cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3)
    source = depth > max(1.0, _RIM * unit)
    if not source.any():
        source = known
    base = _half_res_trend(image, source)
    period = max(4, round(_FOLD * unit))
    sigma = _DETAIL_SIGMA * unit
    # The texture is only taken from within a fold of the region's edge: its box grown
    # by that (and the blur's reach) is enough.
    near = M.bounding_box(region, pad=int(period + 3 * sigma + _RIM * unit) + 2)
    # A plain backdrop's detail is sensor noise: nothing a viewer would miss.
    if near is not None and source[near].any() and _texture(image[near], source[near]) > _PLAIN:
        detail = fine_detail(image[near], source[near], sigma)
        base[near] += reflect_texture(detail, source[near], region[near], period)
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)


def _texture(image: Image, known: Mask) -> float:
    """How much fine detail the known scenery has: the RMS, in grey levels, of its
    brightness minus a 2-pixel blur of it, on every other pixel (a cheap look before
    the full-colour ``fine_detail``)."""
    grey = cv2.cvtColor(image[::2, ::2], cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = known[::2, ::2].astype(np.float32)
    weight = cv2.GaussianBlur(inside, (0, 0), 1.0)
    local = cv2.GaussianBlur(grey * inside, (0, 0), 1.0) / np.maximum(weight, 1e-3)
    solid = inside > 0
    solid &= weight > 0.9
    if not solid.any():
        return 0.0
    return float(np.sqrt(np.mean((grey - local)[solid] ** 2)))


def _half_res_trend(image: Image, known: Mask) -> FloatImage:
    """``trend_fill`` at half resolution, upsampled to (h, w, 3) float32."""
    h, w = known.shape
    if min(h, w) < 8:
        return trend_fill(image, known)
    half = (w // 2, h // 2)
    small = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    # A small pixel is known only when all four of its pixels are.
    small_known = cv2.resize(known.astype(np.float32), half, interpolation=cv2.INTER_AREA) > 0.99
    if not small_known.any():
        return trend_fill(image, known)
    filled = trend_fill(small, small_known)
    return np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def prepare_scene(
    person: Image,
    body: BodyAnalysis,
    agnostic: Mask,
    category: Category,
    *,
    cfg: ComposeConfig | None = None,
) -> Scene:
    """Finds the old garment, measures the photo's shading on it and continues the
    scenery over it.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        agnostic: (H, W) bool, the pixels that may change.
        category: the category tried on.
    """
    cfg = cfg or ComposeConfig()
    kp = body.keypoints
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    old_garment = find_old_garment(person, body, agnostic, category)
    shading = estimate_shading(person, old_garment.mask, sw, cfg)
    region = M.dilate(old_garment.mask, 2)
    backdrop = continue_scenery(person, region, old_garment.person_area)
    bare_neck = covered_neck = neck_zone = arm_skin = np.zeros_like(old_garment.mask)
    if category is not Category.LOWER:
        on_arms = arm_reach(body, BARE_ARM_WIDTH) & old_garment.mask
        arm_skin = looks_like_skin(person, body.skin_lab, on_arms, old_garment.colours)
        neck_zone = _neck_zone(body)
        neck = neck_zone & old_garment.mask
        bare_neck = skin_pixels(person, body.skin_lab, neck, old_garment.colours, by_part=True)
        covered_neck = neck & ~bare_neck
        shade_under_chin(shading, body, covered_neck)
    face_rgb = np.round(lab_to_rgb(body.skin_lab[None, None, :])[0, 0] * 255.0).astype(np.uint8)
    paint = np.stack([face_rgb, *(hand_colour(person, body, hand, face_rgb) for hand in HANDS)])
    grain = skin_grain_strength(person, body) if category is not Category.LOWER else 0.0
    box = M.bounding_box(agnostic)
    weight = np.zeros((0, 0), np.float32)
    if box is not None:
        seam = M.inner_ramp(agnostic[box], cfg.seam * agnostic.shape[0] / 1024)
        weight = seam * agnostic[box]
    return Scene(
        old_garment,
        shading,
        backdrop,
        region,
        bare_neck,
        covered_neck,
        neck_zone,
        arm_skin,
        paint,
        grain,
        shading_gain(shading),
        box,
        weight,
    )


def _neck_zone(body: BodyAnalysis) -> Mask:
    return draw_neck(body.keypoints, body.face_mask, body.person_mask.shape)
