"""Agnostic masks from pose keypoints and a person mask (no human parser).

The recipe follows the keypoint-only construction in the design notes (masks.md, last
section): a torso polygon with thick edges, arm strokes, a neck patch, the person's own
pixels in the garment zone (so a loose old garment is covered whole), dilated into the
nearby background so a wider new garment fits; then the head, hands, feet and, for
tops, everything below the hem line are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.body.frame import ARMS, BodyFrame, arm_path, body_frame, chin_y, draw_arm, head_size
from tryon.ops import masks as M
from tryon.ops.color import rgb_to_lab
from tryon.ops.geometry import polyline_length, unit
from tryon.types import BodyAnalysis, Category, Image, Joint, Mask


@dataclass(frozen=True)
class AgnosticConfig:
    """Margins of the agnostic mask, in units of r = shoulder width / 16 + 1.

    Attributes:
        dilation: growth into the background around the garment zone.
        arm_width: width of the shoulder-elbow-wrist strokes.
        hem_below_hip: for tops, how far below the hip line the mask reaches, as a
            fraction of the torso length (neck to hip midpoint).
        waist_above_hip: for bottoms, how far above the hip line the mask starts.
    """

    dilation: float = 2.5
    arm_width: float = 11.0
    hem_below_hip: float = 0.12
    waist_above_hip: float = 0.3


def _upper_zone(body: BodyAnalysis, frame: BodyFrame, cfg: AgnosticConfig) -> Mask:
    kp, shape, r = body.keypoints, body.person_mask.shape, frame.r
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    rh, lh = kp.joint(Joint.R_HIP), kp.joint(Joint.L_HIP)
    # Hips rescaled to the shoulder width, so the torso polygon is not a wedge.
    hip_half = (lh - rh) / max(float(np.linalg.norm(lh - rh)), 1.0) * np.linalg.norm(ls - rs) / 2
    rh2, lh2 = frame.hip_mid - hip_half, frame.hip_mid + hip_half
    zone = M.draw_polygon(shape, [rs, ls, lh2, rh2])
    zone |= M.draw_stroke(shape, [rs, rh2], 6 * r) | M.draw_stroke(shape, [ls, lh2], 6 * r)
    zone |= M.draw_stroke(shape, [rh2, lh2], 12 * r)
    for side in (
        (Joint.R_SHOULDER, Joint.R_ELBOW, Joint.R_WRIST),
        (Joint.L_SHOULDER, Joint.L_ELBOW, Joint.L_WRIST),
    ):
        s, e, w = (kp.joint(j) for j in side)
        w_ext = e + 1.1 * (w - e)
        zone |= M.draw_stroke(shape, [s, e, w_ext], cfg.arm_width * r)
    # Neck: from the chin down to the shoulder line, as wide as the head.
    size = head_size(kp)
    chin = chin_y(kp, body.face_mask)
    nose_x = kp.joint(Joint.NOSE)[0]
    zone |= M.draw_polygon(
        shape,
        np.array([(nose_x - 0.55 * size, chin), (nose_x + 0.55 * size, chin), ls, rs], np.float32),
    )
    # The person's own pixels between the neck and the hem line: the old top, whole.
    top = frame.neck - frame.down * 0.25 * frame.torso_length
    zone |= body.person_mask & M.half_plane(shape, top, frame.down)
    return zone


def _lower_zone(body: BodyAnalysis, frame: BodyFrame, cfg: AgnosticConfig) -> Mask:
    kp, shape, r = body.keypoints, body.person_mask.shape, frame.r
    zone = np.zeros(shape, bool)
    rh, lh = kp.joint(Joint.R_HIP), kp.joint(Joint.L_HIP)
    waist = frame.hip_mid - frame.down * cfg.waist_above_hip * frame.torso_length
    half = unit(lh - rh) * max(float(np.linalg.norm(lh - rh)), 8 * r) * 0.8
    crotch = frame.hip_mid + frame.down * 0.15 * frame.torso_length
    zone |= M.draw_polygon(
        shape, [waist - half, waist + half, lh + half * 0.2, crotch, rh - half * 0.2]
    )
    for side in (
        (Joint.R_HIP, Joint.R_KNEE, Joint.R_ANKLE),
        (Joint.L_HIP, Joint.L_KNEE, Joint.L_ANKLE),
    ):
        hip, knee, ankle = (kp.joint(j) for j in side)
        zone |= M.draw_stroke(shape, [hip, knee, ankle], 12 * r)
    # The person's own pixels from the waist down, except the arms and hands.
    zone |= body.person_mask & M.half_plane(shape, waist, frame.down)
    return zone


def _feet_mask(body: BodyAnalysis, r: float) -> Mask:
    """Both shoes, from the sole up to about the heel's height.

    In a stride the nearer leg (its ankle lower in the photo) passes in front of the
    farther foot: that foot's zone stops at the nearer shin, which is trousers."""
    kp, shape = body.keypoints, body.person_mask.shape
    feet = []
    for heel, toe in ((30, 32), (29, 31)):
        # The shoe from its sole up: above it the old trousers' hem falls over the
        # shoe's collar and goes with them (the new hem reaches the heel's depth).
        shifted = kp.mediapipe[[heel, toe]] + np.array([0.0, 1.5 * r], np.float32)
        feet.append(M.draw_stroke(shape, shifted, 6 * r))
    right_ankle, left_ankle = kp.joint(Joint.R_ANKLE), kp.joint(Joint.L_ANKLE)
    down = body_frame(kp).down
    gap = float((right_ankle - left_ankle) @ down)
    if abs(gap) > 2 * r:
        near, far = (0, 1) if gap > 0 else (1, 0)
        knee = kp.joint((Joint.R_KNEE, Joint.L_KNEE)[near])
        ankle = (right_ankle, left_ankle)[near]
        feet[far] &= ~M.draw_stroke(shape, [knee, ankle], SHIN_WIDTH * r)
    return feet[0] | feet[1]


SHIN_WIDTH = 7.0
"""Width of a trouser leg over the shin, x r: what of a farther foot it hides."""


def _arms_mask(body: BodyAnalysis) -> Mask:
    """The arms from a third down the upper arm, in a sleeve a third wider than the arm."""
    kp, shape = body.keypoints, body.person_mask.shape
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    out = np.zeros(shape, bool)
    for joints in ARMS:
        path = arm_path(kp, joints)
        start = 0.35 * float(np.linalg.norm(path[1] - path[0]))
        out |= draw_arm(shape, path, start, polyline_length(path), 1.3 * sw)
    return out & body.person_mask


def agnostic_mask(
    body: BodyAnalysis,
    category: Category,
    cfg: AgnosticConfig | None = None,
    image: Image | None = None,
) -> Mask:
    """The pixels a try-on of ``category`` may change.

    Args:
        body: analysis of the person photo.
        category: which garment is replaced.
        cfg: margins; defaults to ``AgnosticConfig()``.
        image: the photo, (H, W, 3) RGB uint8. With it, what of the old trousers' hems
            lies over the shoes (the trousers' colour, inside the feet's zone) may
            change too; without it the feet's zone is kept whole.

    Returns:
        (H, W) bool mask. Never covers the head (face, hair), the hands, the feet; for
        tops nothing below the hem line but the sleeves, for bottoms nothing above the
        waist, nor the arms.
    """
    cfg = cfg or AgnosticConfig()
    frame = body_frame(body.keypoints)
    shape = body.person_mask.shape
    r = frame.r
    if category is Category.UPPER:
        zone = _upper_zone(body, frame, cfg)
    elif category is Category.LOWER:
        zone = _lower_zone(body, frame, cfg)
    else:
        zone = _upper_zone(body, frame, cfg) | _lower_zone(body, frame, cfg)
    # Margins into the background: a chamfer distance is precise enough.
    mask = M.dilate(zone, cfg.dilation * r, exact=False)
    mask &= M.dilate(body.person_mask, 2 * cfg.dilation * r, exact=False)
    keep = body.head_mask | body.hands_mask | _feet_mask(body, r)
    if category is Category.UPPER:
        hem = frame.hip_mid + frame.down * cfg.hem_below_hip * frame.torso_length
        # Below the hem line only the sleeves go on, down to the hands.
        keep |= M.half_plane(shape, hem, frame.down) & ~_arms_mask(body)
    if category is Category.LOWER:
        waist = frame.hip_mid - frame.down * cfg.waist_above_hip * frame.torso_length
        keep |= ~M.half_plane(shape, waist, frame.down) | _arms_mask(body)
    mask &= ~keep
    mask = M.fill_holes(mask) & ~keep
    mask = M.largest_component(mask)
    if image is not None and category is not Category.UPPER:
        mask |= _hems_over_shoes(image, body, mask, r)
    return mask


HEM_COLOUR_SPREAD = 1.5
"""By the ankle, a pixel is the old trousers' hem when its CIELAB distance to the
shin's median colour is within this many times the shin's own spread (at least 10)."""


def _hems_over_shoes(image: Image, body: BodyAnalysis, mask: Mask, r: float) -> Mask:
    """Pixels by each ankle, outside ``mask``, in the colour of the trousers on that
    shin and joined to the mask: the old hem lying over the shoe, which the feet's zone
    would otherwise keep (the old cuffs showing below the new trousers)."""
    kp, shape = body.keypoints, mask.shape
    out = np.zeros(shape, bool)
    for knee_joint, ankle_joint in ((Joint.R_KNEE, Joint.R_ANKLE), (Joint.L_KNEE, Joint.L_ANKLE)):
        knee, ankle = kp.joint(knee_joint), kp.joint(ankle_joint)
        down = unit(ankle - knee)
        shin = M.draw_stroke(shape, [knee + 0.5 * (ankle - knee), ankle - 2 * r * down], 3 * r)
        shin &= mask & body.person_mask
        around = M.draw_stroke(shape, [ankle - r * down, ankle + 4 * r * down], 7 * r)
        around &= body.person_mask & ~mask
        if np.count_nonzero(shin) < 30 or not around.any():
            continue
        lab = rgb_to_lab(image[shin])
        centre = np.median(lab, axis=0)
        spread = float(np.percentile(np.linalg.norm(lab - centre, axis=1), 90))
        near = np.linalg.norm(rgb_to_lab(image[around]) - centre, axis=1)
        hem = np.zeros(shape, bool)
        hem[around] = near < max(HEM_COLOUR_SPREAD * spread, 10.0)
        out |= M.components_touching(hem, M.dilate(mask, 2))
    return out
