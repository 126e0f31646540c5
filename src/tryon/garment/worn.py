"""Garments worn by a person in the garment photo (person-to-person try-on).

A top is cut by ``worn_cut.cut_worn_top``: the garment only (no skin, hair, hands, no
other garment), completed where hands or hair hide it, an open front closed. Trousers
and dresses are that person's clothing inside their agnostic region, minus skin, head,
hands and feet. The landmarks come from the body keypoints, placed exactly where the
warp will put the matching points on the target person, so the warp maps body to body.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tryon.body.agnostic import agnostic_mask
from tryon.body.clothing import find_old_garment, skin_pixels
from tryon.body.frame import BodyFrame, body_frame
from tryon.errors import GarmentNotFoundError
from tryon.garment.worn_cut import cut_worn_top, extend_below
from tryon.ops import masks as M
from tryon.ops.geometry import point_at_length, polyline_between, polyline_length, unit
from tryon.types import (
    BodyAnalysis,
    BodyKeypoints,
    Category,
    GarmentAnalysis,
    GarmentLandmarks,
    Image,
    Joint,
    LimbShape,
    Mask,
    Piece,
)
from tryon.warp.config import WarpConfig


def _extent_along(mask: Mask, path: npt.NDArray[np.float32], width: float) -> float:
    """How far along ``path`` the mask reaches, within ``width`` of it (arc length)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0
    pts = np.stack([xs, ys], 1).astype(np.float32)
    total = polyline_length(path)
    best = 0.0
    for d in np.linspace(0, total, 40):
        p, _ = point_at_length(path, float(d))
        if (np.linalg.norm(pts - p, axis=1) < width / 2).sum() > 0.1 * width * width / 4:
            best = float(d)
    return best


def _pixel(p: npt.NDArray[np.float32]) -> tuple[float, float]:
    return (float(p[0]), float(p[1]))


Parts = tuple[npt.NDArray[np.uint8], dict[Piece, LimbShape], dict[str, npt.NDArray[np.float32]]]
"""A worn garment's piece map, its limbs and its landmarks (by ``GarmentLandmarks`` name)."""


def worn_garment(image: Image, body: BodyAnalysis, category: Category) -> GarmentAnalysis:
    """Cuts the ``category`` garment out of a photo of a person wearing it.

    Raises:
        GarmentNotFoundError: the region holds no clothing (bare skin) or the body parts
            the category needs are not visible.
    """
    frame = body_frame(body.keypoints)
    if category is Category.UPPER:
        cut = cut_worn_top(image, body)
        hem = frame.hip_mid + frame.down * WarpConfig().hem_below_hip * frame.torso_length
        image, mask = extend_below(cut.image, _solid(cut.mask, category), float(hem[1]))
    else:
        mask = _cut_out(image, body, category, frame)
    if category is Category.LOWER:
        pieces, limbs, marks = _trouser_parts(mask, body.keypoints, frame, WarpConfig())
    else:
        pieces, limbs, marks = _top_parts(mask, body.keypoints, frame, WarpConfig())
    landmarks = GarmentLandmarks(**{k: _pixel(v) for k, v in marks.items()})
    return GarmentAnalysis(image, mask, pieces, category, landmarks, limbs, source="worn")


def _cut_out(image: Image, body: BodyAnalysis, category: Category, frame: BodyFrame) -> Mask:
    """The garment's pixels: the clothing in the category's agnostic region, without
    skin, head and hands, as one solid piece."""
    worn = find_old_garment(image, body, agnostic_mask(body, category), category)
    region = worn.mask & body.person_mask & ~(body.head_mask | body.hands_mask)
    region &= ~skin_pixels(image, body.skin_lab, region, worn.colours)
    return _solid(M.fill_holes(M.largest_component(M.open_(region, frame.r))), category)


def _solid(mask: Mask, category: Category) -> Mask:
    """``mask`` when it is large enough to be a garment.

    Raises:
        GarmentNotFoundError: it is not.
    """
    if mask.sum() < 0.02 * mask.size:
        raise GarmentNotFoundError(
            f"the person in the garment photo wears no {category.value} garment that could be "
            "cut out; use a photo where the garment is clearly visible, or a product photo"
        )
    return mask


def _trouser_parts(mask: Mask, kp: BodyKeypoints, frame: BodyFrame, cfg: WarpConfig) -> Parts:
    """Trousers: the legs split at the crotch, landmarks where the warp puts the body's."""
    down = frame.down
    pieces = np.where(mask, np.uint8(Piece.TORSO), np.uint8(Piece.NONE))
    limbs: dict[Piece, LimbShape] = {}
    rh, lh = kp.joint(Joint.R_HIP), kp.joint(Joint.L_HIP)
    hip_across = unit(lh - rh)
    waist = frame.hip_mid - down * cfg.waist_above_hip * frame.torso_length
    half = 0.8 * max(float(np.linalg.norm(lh - rh)), 4 * frame.r)
    crotch = frame.hip_mid + down * 0.15 * frame.torso_length
    right = M.half_plane(mask.shape, waist, -unit(hip_across)) & mask
    pieces[right] = Piece.LEG_R
    pieces[mask & ~right] = Piece.LEG_L
    marks = {
        "waist_r": waist - hip_across * half,
        "waist_l": waist + hip_across * half,
        "crotch": crotch,
    }
    for piece, side, knee, ankle in (
        (Piece.LEG_R, "r", Joint.R_KNEE, Joint.R_ANKLE),
        (Piece.LEG_L, "l", Joint.L_KNEE, Joint.L_ANKLE),
    ):
        root = (marks[f"waist_{side}"] + crotch) / 2 + down * 0.5 * float(
            np.linalg.norm(crotch - waist)
        )
        path = np.stack([root, kp.joint(knee), kp.joint(ankle)]).astype(np.float32)
        length = _extent_along(pieces == piece, path, 8 * frame.r)
        end, _ = point_at_length(path, length)
        limbs[piece] = LimbShape(
            polyline_between(path, 0.0, length), np.array([1.2 * half, 0.6 * half], np.float32)
        )
        marks[f"leg_hem_{side}"] = end
    return pieces, limbs, marks


def _top_parts(mask: Mask, kp: BodyKeypoints, frame: BodyFrame, cfg: WarpConfig) -> Parts:
    """Tops and dresses: the body and the sleeves along the arms, landmarks where the
    warp puts the body's."""
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    sw = float(np.linalg.norm(ls - rs))
    across, down = unit(ls - rs), frame.down
    pieces = np.where(mask, np.uint8(Piece.TORSO), np.uint8(Piece.NONE))
    limbs: dict[Piece, LimbShape] = {}
    up = -down
    t_rs = rs - across * cfg.shoulder_out * sw + up * cfg.shoulder_up * sw
    t_ls = ls + across * cfg.shoulder_out * sw + up * cfg.shoulder_up * sw
    hem = frame.hip_mid + down * cfg.hem_below_hip * frame.torso_length
    armpit_depth = 0.3 * frame.torso_length
    marks = {
        "neckline": (t_rs + t_ls) / 2 + up * 0.1 * sw,
        "shoulder_r": t_rs,
        "shoulder_l": t_ls,
        "armpit_r": t_rs + down * armpit_depth + across * 0.1 * sw,
        "armpit_l": t_ls + down * armpit_depth - across * 0.1 * sw,
        "hem_r": hem - across * 0.5 * sw,
        "hem_l": hem + across * 0.5 * sw,
    }
    torso = M.draw_polygon(
        mask.shape,
        [t_rs, t_ls, marks["armpit_l"], marks["hem_l"], marks["hem_r"], marks["armpit_r"]],
    )
    for piece, side, elbow, wrist in (
        (Piece.SLEEVE_R, "r", Joint.R_ELBOW, Joint.R_WRIST),
        (Piece.SLEEVE_L, "l", Joint.L_ELBOW, Joint.L_WRIST),
    ):
        root = (marks[f"shoulder_{side}"] + marks[f"armpit_{side}"]) / 2
        path = np.stack([root, kp.joint(elbow), kp.joint(wrist)]).astype(np.float32)
        sleeve = M.draw_stroke(mask.shape, path, 10 * frame.r) & mask & ~torso
        length = _extent_along(sleeve, path, 8 * frame.r)
        if length < 0.05 * sw:
            continue
        pieces[sleeve] = piece
        root_width = float(np.linalg.norm(marks[f"shoulder_{side}"] - marks[f"armpit_{side}"]))
        limbs[piece] = LimbShape(
            polyline_between(path, 0.0, length),
            np.array([root_width, 0.6 * root_width], np.float32),
        )
        marks[f"sleeve_end_{side}"], _ = point_at_length(path, length)
    return pieces, limbs, marks
