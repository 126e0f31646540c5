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
from tryon.compose.arms import BARE_ARM_WIDTH, arm_reach, hand_colour
from tryon.compose.config import ComposeConfig
from tryon.compose.shading import estimate_shading, shade_under_chin, shading_gain
from tryon.ops import masks as M
from tryon.ops.color import lab_to_rgb
from tryon.ops.fill import push_pull_fill
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
    gain: FloatImage
    box: tuple[slice, slice] | None
    weight: FloatImage


def continue_scenery(person: Image, region: Mask, person_area: Mask) -> Image:
    """The photo with ``region`` filled from the scenery around it, continued inwards
    (never from the person: a face or trousers smeared into a gap would show as a
    halo)."""
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
        M.paste(out[box], _smooth_fill(person[box], known), region[box])
    return out


def _smooth_fill(image: Image, known: Mask) -> Image:
    """``push_pull_fill`` at half resolution, upsampled: the fill is smooth anyway, and
    this costs a quarter. Only meant for the unknown pixels (known ones are blurred)."""
    h, w = known.shape
    if min(h, w) < 8:
        return push_pull_fill(image, known)
    half = (w // 2, h // 2)
    small = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    # A small pixel is known only when all four of its pixels are.
    small_known = cv2.resize(known.astype(np.float32), half, interpolation=cv2.INTER_AREA) > 0.99
    if not small_known.any():
        return push_pull_fill(image, known)
    filled = push_pull_fill(small, small_known)
    return np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


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
        shading_gain(shading),
        box,
        weight,
    )


def _neck_zone(body: BodyAnalysis) -> Mask:
    return draw_neck(body.keypoints, body.face_mask, body.person_mask.shape)
