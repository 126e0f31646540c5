"""The arms below the new sleeves: where bare skin is kept, where it is painted, and in
which colour and light."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.frame import ARMS, arm_path, body_frame, draw_arm
from tryon.body.hands import hand_points
from tryon.body.skin import near_skin
from tryon.ops import masks as M
from tryon.ops.color import lab_to_rgb, rgb_to_lab
from tryon.ops.geometry import arc_position, arc_positions, polyline_between, polyline_length
from tryon.types import BodyAnalysis, Image, Joint, Mask, Piece, WarpedGarment


@dataclass(frozen=True)
class BareArms:
    """Where the arms are bare below the new garment's sleeves (for tops and dresses).

    It depends on the body and the warped garment only, never on the old garment, so
    it can be worked out beside the person side, right after the warp.

    Attributes:
        region: strokes wide enough to hold any old sleeve, clear of the new sleeves:
            where photo pixels that show skin are kept.
        limbs: the arms' own shape, tapering from shoulder to wrist: where skin is
            painted over what an old sleeve covered.
        right_limb: the right arm's part of ``limbs``.
        sleeves: the new garment's sleeves.
    """

    region: Mask
    limbs: Mask
    right_limb: Mask
    sleeves: Mask


BARE_ARM_WIDTH = 4.5
"""Width of the strokes along the arms where bare skin is looked for, x the body
frame's ``r``: wide enough to hold any old sleeve."""


def arm_reach(body: BodyAnalysis, width_factor: float) -> Mask:
    """Both arms from the shoulder to the heel of the hand, in strokes a little wider
    than ``find_bare_arms``' (which start further down): every pixel either may test."""
    kp, shape = body.keypoints, body.person_mask.shape
    r = body_frame(kp).r
    out = np.zeros(shape, bool)
    for joints in ARMS:
        out |= M.draw_stroke(shape, arm_path(kp, joints), width_factor * r + 4)
    return out


def find_bare_arms(body: BodyAnalysis, warped: WarpedGarment) -> BareArms:
    """Each arm from where the new sleeve ends (or a third down the upper arm for a
    sleeveless top) to the heel of the hand."""
    kp, shape = body.keypoints, body.person_mask.shape
    r = body_frame(kp).r
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    region = np.zeros(shape, bool)
    arm_limbs = []  # right, left
    sleeve_ends = (warped.landmarks.sleeve_end_r, warped.landmarks.sleeve_end_l)
    pieces = (Piece.SLEEVE_R, Piece.SLEEVE_L)
    for joints, sleeve_end, piece in zip(ARMS, sleeve_ends, pieces, strict=True):
        path = arm_path(kp, joints)
        total = polyline_length(path)
        start = paint_from = 0.3 * float(np.linalg.norm(path[1] - path[0]))
        if sleeve_end is not None:
            start = max(start, arc_position(path, sleeve_end) + r)
            paint_from = max(paint_from, min(start, _sleeve_middle(warped, piece, path, r)))
        bare = (
            M.draw_stroke(shape, polyline_between(path, start, total), BARE_ARM_WIDTH * r)
            if start < total
            else None
        )
        if bare is None or not bare.any():
            # Nothing of the arm below the sleeve is in the photo (a selfie's forearms
            # are out of the frame): no arm to paint under the sleeve either.
            arm_limbs.append(np.zeros(shape, bool))
            continue
        region |= bare
        arm_limbs.append(draw_arm(shape, path, paint_from, total, sw))
    sleeves = (warped.pieces == Piece.SLEEVE_R) | (warped.pieces == Piece.SLEEVE_L)
    right, left = arm_limbs
    return BareArms(region & ~M.dilate(sleeves, r), right | left, right, sleeves)


def _sleeve_middle(
    warped: WarpedGarment, piece: Piece, path: npt.NDArray[np.float32], r: float
) -> float:
    """Half way down the sleeve along the arm (arc length on ``path``): the bare arm's
    shape starts there, under the sleeve, so no gap opens below a slanting cuff (the
    sleeve, drawn over it, hides the rest)."""
    ys, xs = np.nonzero(warped.pieces == piece)
    if len(xs) < 10:
        return float("inf")
    along = arc_positions(path, np.stack([xs, ys], 1)[:: max(1, len(xs) // 4000)])
    return float(np.median(along)) + r


def hand_colour(person: Image, body: BodyAnalysis, hand: tuple[int, ...], fallback: Image) -> Image:
    """The colour to paint an arm in: its hand's skin (``hand``: its wrist's and
    fingers' MediaPipe points) with the face's hue, or ``fallback`` (the face's colour)
    when the photo shows too little of the hand.

    A forearm is lit like its hand, but hands are redder than the rest of the skin
    (and often in shade): the lightness is the mean of the hand's and the face's, the
    hue three quarters the face's."""
    found = hand_points(body.keypoints, hand)
    if found is None:
        return fallback
    centre = found.wrist + 0.5 * (found.knuckles - found.wrist)
    h, w = body.hands_mask.shape
    reach = 1.2 * found.length + 2
    x0, y0 = int(max(0, centre[0] - reach)), int(max(0, centre[1] - reach))
    x1, y1 = int(min(w, centre[0] + reach + 1)), int(min(h, centre[1] + reach + 1))
    if x1 <= x0 or y1 <= y0:
        return fallback
    pixels = person[y0:y1, x0:x1][body.hands_mask[y0:y1, x0:x1]]
    # Gloves and cuffs are not the skin to paint.
    pixels = pixels[near_skin(rgb_to_lab(pixels), body.skin_lab, chroma=20, lightness=40)]
    if len(pixels) < 40:
        return fallback
    hand_lab = np.median(rgb_to_lab(pixels), axis=0)
    face_lab = rgb_to_lab(np.asarray(fallback, np.uint8).reshape(1, 3))[0]
    mixed = np.array(
        [(hand_lab[0] + face_lab[0]) / 2, *(0.25 * hand_lab[1:] + 0.75 * face_lab[1:])],
        np.float32,
    )
    return np.round(lab_to_rgb(mixed[None, None, :])[0, 0] * 255.0).astype(np.uint8)


ROUNDNESS_DARKEST = 0.62
"""Light on a limb's silhouette edge relative to its middle (``limb_roundness``)."""


def limb_roundness(limbs: Mask, where: Mask) -> npt.NDArray[np.float32]:
    """Light across a limb seen side on, at the pixels of ``where`` (in their order):
    1 along its middle, falling like a lit cylinder's to ``ROUNDNESS_DARKEST`` at its
    edges. Flat skin paint reads as cardboard; a round limb does not."""
    box = M.bounding_box(where)
    assert box is not None
    rows, cols = box
    pad = (rows.stop - rows.start + cols.stop - cols.start) // 8 + 2
    h, w = where.shape
    window = (
        slice(max(0, rows.start - pad), min(h, rows.stop + pad)),
        slice(max(0, cols.start - pad), min(w, cols.stop + pad)),
    )
    # A zero border: a window the limbs fill has its edges at the window's, not nowhere.
    framed = cv2.copyMakeBorder(limbs[window].astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT)
    inside = cv2.distanceTransform(framed, cv2.DIST_L2, 3)[1:-1, 1:-1]
    # The limb's half width near each pixel: the largest distance to its edge around it.
    reach = max(3, int(np.ceil(float(inside.max()))) * 2 + 1)
    half = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach)))
    depth = np.clip(inside / np.maximum(half, 1.0), 0.0, 1.0)
    facing = np.sqrt(depth * (2.0 - depth))  # the cosine of a cylinder's normal to the eye
    light = ROUNDNESS_DARKEST + (1.0 - ROUNDNESS_DARKEST) * facing
    return np.asarray(light[where[window]], np.float32)


def skin_grain_strength(person: Image, body: BodyAnalysis) -> float:
    """How much the light of the person's visible skin varies from pixel to pixel
    (standard deviation of its fine detail relative to its local brightness, on the
    hands and face), between 1 % and 5 %: the grain to give painted skin."""
    skin = (body.hands_mask | body.face_mask) & body.person_mask
    box = M.bounding_box(skin)
    if box is None or np.count_nonzero(skin) < 200:
        return 0.02
    lum = cv2.cvtColor(person[box], cv2.COLOR_RGB2GRAY).astype(np.float32) + 1.0
    local = cv2.GaussianBlur(lum, (0, 0), 2.0)
    detail = lum / local - 1.0
    # Away from the skin's edges (and from eyes, brows and beard: the face's lower
    # middle is left out by keeping only the flattest half).
    inner = cv2.erode(skin[box].astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    values = np.abs(detail[inner])
    if len(values) < 100:
        return 0.02
    flat = np.sort(values)[: len(values) // 2]
    return float(np.clip(1.25 * np.sqrt(np.mean(flat**2)) * 2.0, 0.01, 0.05))
