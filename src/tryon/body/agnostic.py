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
from tryon.ops.geometry import polyline_length, unit
from tryon.types import BodyAnalysis, Category, Joint, Mask


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
    kp, shape = body.keypoints, body.person_mask.shape
    out = np.zeros(shape, bool)
    for ankle, heel, toe in ((28, 30, 32), (27, 29, 31)):
        pts = kp.mediapipe[[ankle, heel, toe]]
        # The foot starts a little below the ankle joint: trouser hems cover the ankle.
        shifted = pts + np.array([0.0, 1.5 * r], np.float32)
        out |= M.draw_stroke(shape, np.vstack([shifted[1:], shifted[:1]]), 5 * r)
        out |= M.draw_stroke(shape, [shifted[1], shifted[2]], 6 * r)
    return out


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
    body: BodyAnalysis, category: Category, cfg: AgnosticConfig | None = None
) -> Mask:
    """The pixels a try-on of ``category`` may change.

    Args:
        body: analysis of the person photo.
        category: which garment is replaced.
        cfg: margins; defaults to ``AgnosticConfig()``.

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
    return M.largest_component(mask)
