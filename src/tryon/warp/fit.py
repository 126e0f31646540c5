"""The fit: control points that move each garment piece onto the body.

The torso (or the trousers' seat) follows a frame spanned by the shoulders and hips;
each sleeve and trouser leg follows its limb (shoulder-elbow-wrist, hip-knee-ankle), so
it bends at the joint. Pieces share their seam points (shoulder, armpit, crotch), so
they meet. Every spline maps person pixels back to garment pixels; it is evaluated on
a coarse grid and upsampled (``dense_backward_map``), then the garment is resampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tryon.body.frame import body_frame
from tryon.errors import GarmentNotFoundError
from tryon.ops import masks as M
from tryon.ops.geometry import perpendicular, points_at_lengths, polyline_length, unit
from tryon.types import (
    BodyAnalysis,
    Category,
    GarmentAnalysis,
    Joint,
    LimbShape,
    Mask,
    Piece,
)
from tryon.warp.config import WarpConfig

Vec = npt.NDArray[np.float32]


@dataclass(frozen=True)
class PieceFit:
    """Control points of one piece: ``source`` in the garment photo, ``target`` on the person."""

    piece: Piece
    source: npt.NDArray[np.float32]
    target: npt.NDArray[np.float32]


class TorsoFrame:
    """Maps garment torso points to the body: across the shoulders at the top, across
    the hips at the hem, interpolated in between."""

    def __init__(
        self,
        g_right: Vec,
        g_left: Vec,
        g_hem_depth: float,
        b_right: Vec,
        b_left: Vec,
        b_hem_centre: Vec,
        b_hem_across: Vec,
    ) -> None:
        self.g_origin = (g_right + g_left) / 2
        self.g_across = unit(g_left - g_right)
        self.g_down = -perpendicular(self.g_across)
        if self.g_down[1] < 0:
            self.g_down = -self.g_down
        self.g_hem_depth = max(g_hem_depth, 1.0)
        self.b_origin = (b_right + b_left) / 2
        self.b_across = unit(b_left - b_right)
        self.b_hem_centre = b_hem_centre
        self.b_hem_across = b_hem_across
        self.scale = float(np.linalg.norm(b_left - b_right)) / max(
            float(np.linalg.norm(g_left - g_right)), 1.0
        )

    def __call__(self, points: npt.ArrayLike) -> npt.NDArray[np.float32]:
        p = np.asarray(points, np.float32).reshape(-1, 2) - self.g_origin
        a = p @ self.g_across
        t = (p @ self.g_down) / self.g_hem_depth
        centre = self.b_origin + t[:, None] * (self.b_hem_centre - self.b_origin)
        across = (1 - np.clip(t, 0, 1))[:, None] * self.b_across + np.clip(t, 0, 1)[
            :, None
        ] * self.b_hem_across
        across /= np.linalg.norm(across, axis=1, keepdims=True)
        return (centre + self.scale * a[:, None] * across).astype(np.float32)


def _arr(p: tuple[float, float] | None, name: str) -> Vec:
    """The landmark ``name`` as a vector.

    Raises:
        GarmentNotFoundError: the garment analysis lacks it (a garment of another
            category than the one tried on).
    """
    if p is None:
        raise GarmentNotFoundError(
            f"the garment has no {name.replace('_', ' ')} landmark, which this category "
            "needs: analyse the garment as the category it is tried on as, or pass auto"
        )
    return np.asarray(p, np.float32)


def _lattice(box: tuple[float, float, float, float], n: int = 5) -> npt.NDArray[np.float32]:
    x0, y0, x1, y1 = box
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)


SLEEVE_FULL_RATIO = 0.9
"""A sleeve at least this long x the flat shoulder width is a long sleeve (ends at the
wrist, whatever the body's proportions)."""

HEM_BELOW_ANKLE = (0.08, 0.25)
"""A full-length trouser leg ends on the shoe, at the heel's depth below the ankle
joint, between these fractions of the knee-to-ankle length (the shoe, kept in front of
it from the sole up, hides the rest)."""

MEDIAPIPE_HEELS = (30, 29)
"""MediaPipe's right and left heel points."""


def _hem_point(shin: npt.NDArray[np.float32], heel: npt.ArrayLike) -> Vec:
    """Where a full-length trouser leg ends: below the ankle (``shin``: knee, ankle),
    along the shin, as deep as the heel."""
    length = polyline_length(shin)
    down = unit(shin[1] - shin[0])
    depth = float((np.asarray(heel, np.float32) - shin[1]) @ down)
    lo, hi = HEM_BELOW_ANKLE
    return (shin[1] + down * float(np.clip(depth, lo * length, hi * length))).astype(np.float32)


LEG_FULL_RATIO = 1.5
"""A trouser leg at least this long x the flat waist width is full-length (ends at the
ankle)."""


def _limb_fit(
    piece: Piece,
    limb: LimbShape,
    *,
    scale: float,
    seam: tuple[Vec, Vec],
    target_seam: tuple[Vec, Vec],
    joints: npt.NDArray[np.float32],
    tube_width: float,
    reference: float,
    full_ratio: float,
    cfg: WarpConfig,
) -> PieceFit:
    """Control points of a sleeve or leg: its axis laid along the body's limb.

    The axis starts at the seam's midpoint and follows the limb through its joints. Near
    the seam the piece's sides are held by the seam's ends; further out they are the
    points across the axis at the piece's width, narrowed to ``tube_width`` of the
    flat width. The blend between the two keeps a flat sleeve, whose seam sits at an
    angle to its axis, from folding over when the arm hangs down.

    Args:
        seam: the two ends of the seam joining the piece to the body, garment pixels.
        target_seam: where they land on the person.
        joints: (K, 2) the limb's joints after the root (elbow, wrist / knee, ankle).
        reference, full_ratio: the piece is full-length (ends at the wrist or ankle)
            when its flat length is at least ``full_ratio`` x ``reference`` (the flat
            shoulder or waist width): proportions of the garment itself, whatever the
            body's.
    """
    path = np.vstack([((target_seam[0] + target_seam[1]) / 2)[None], joints]).astype(np.float32)
    src_len = polyline_length(limb.axis)
    body_len = polyline_length(path)
    length = src_len * scale
    if length >= cfg.full_length * body_len or src_len >= full_ratio * reference:
        length = body_len
    src_across = perpendicular(unit(limb.axis[1] - limb.axis[0]))
    # Which seam end lies on the "+across" side of the axis.
    plus, minus = (0, 1) if float((seam[0] - seam[1]) @ src_across) > 0 else (1, 0)
    fractions = np.linspace(0, 1, cfg.samples)
    widths = np.interp(fractions, np.linspace(0, 1, len(limb.widths)), limb.widths)
    # Samples along the axis after its start: the two sides, then the axis point.
    f, width = fractions[1:], widths[1:]
    sp, sd = points_at_lengths(limb.axis, f * src_len)
    tp, td = points_at_lengths(path, f * length)
    hold = np.maximum(0.0, 1.0 - f / 0.4)
    squeeze = 1.0 + (tube_width - 1.0) * (1.0 - hold)
    half, worn = width / 2, width / 2 * scale * squeeze
    src = _limb_samples(sp, sd, half, hold, (seam[plus], seam[minus]))
    dst = _limb_samples(tp, td, worn, hold, (target_seam[plus], target_seam[minus]))
    return PieceFit(
        piece,
        np.vstack([seam[0], seam[1], src]).astype(np.float32),
        np.vstack([target_seam[0], target_seam[1], dst]).astype(np.float32),
    )


def _limb_samples(
    axis: npt.NDArray[np.float32],
    direction: npt.NDArray[np.float32],
    half_width: npt.NDArray[np.float64],
    hold: npt.NDArray[np.float64],
    seam_ends: tuple[Vec, Vec],
) -> npt.NDArray[np.float32]:
    """(3K, 2) control points at K axis points: the "+across" side, the "-across" side
    (``half_width`` away, pulled towards the seam's ends by ``hold``), the axis point."""
    across = np.stack([-direction[:, 1], direction[:, 0]], 1)  # ``perpendicular`` of each
    keep = (1 - hold).astype(np.float32)[:, None]
    pull = hold.astype(np.float32)[:, None]
    half = half_width.astype(np.float32)[:, None]
    plus = keep * (axis + across * half) + pull * seam_ends[0]
    minus = keep * (axis - across * half) + pull * seam_ends[1]
    return np.stack([plus, minus, axis], 1).reshape(-1, 2).astype(np.float32)


def fit_pieces(
    garment: GarmentAnalysis, body: BodyAnalysis, category: Category, cfg: WarpConfig
) -> list[PieceFit]:
    """Control points (garment -> person) for every piece of the garment.

    A one-piece with legs and sleeves (a jumpsuit) is fitted as a top whose hem is at
    the waist, over trousers whose waistband is there too.

    Raises:
        GarmentNotFoundError: a one-piece with a bib and straps (dungarees).
    """
    if garment.category is Category.LOWER:
        return _fit_trousers(garment, body, cfg)
    if category is Category.OVERALL and garment.landmarks.crotch is not None:
        if garment.landmarks.shoulder_r is None:
            raise GarmentNotFoundError(
                "the garment is a one-piece with legs but no sleeves (dungarees, a bib and "
                "straps): it is worn over a top, which the warp engine cannot keep under it; "
                "use a diffusion engine (--engine catvton or hybrid)"
            )
        return _fit_top(garment, body, Category.UPPER, cfg, hem_at_waist=True) + _fit_trousers(
            garment, body, cfg
        )
    return _fit_top(garment, body, category, cfg)


def _fit_top(
    garment: GarmentAnalysis,
    body: BodyAnalysis,
    category: Category,
    cfg: WarpConfig,
    *,
    hem_at_waist: bool = False,
) -> list[PieceFit]:
    """The torso and sleeves: the garment's shoulders on the body's, its hem at the
    hips (a top), at its own length (a dress), or at the waist where trousers go on
    (``hem_at_waist``: the top of a one-piece with legs)."""
    kp, lm = body.keypoints, garment.landmarks
    frame = body_frame(kp)
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    sw = float(np.linalg.norm(ls - rs))
    across = unit(ls - rs)
    up = -frame.down
    t_rs = rs - across * cfg.shoulder_out * sw + up * cfg.shoulder_up * sw
    t_ls = ls + across * cfg.shoulder_out * sw + up * cfg.shoulder_up * sw
    g_rs, g_ls = _arr(lm.shoulder_r, "shoulder_r"), _arr(lm.shoulder_l, "shoulder_l")
    hem_mid = (_arr(lm.hem_r, "hem_r") + _arr(lm.hem_l, "hem_l")) / 2
    g_origin = (g_rs + g_ls) / 2
    g_down = -perpendicular(unit(g_ls - g_rs))
    g_down = g_down if g_down[1] > 0 else -g_down
    g_depth = float((hem_mid - g_origin) @ g_down)
    hip_across = unit(kp.joint(Joint.L_HIP) - kp.joint(Joint.R_HIP))
    if hem_at_waist:
        hem_centre = frame.hip_mid - frame.down * cfg.waist_above_hip * frame.torso_length
    elif category is Category.OVERALL:
        # A dress keeps its own length: isotropic scale from the shoulders.
        scale = float(np.linalg.norm(t_ls - t_rs)) / max(float(np.linalg.norm(g_ls - g_rs)), 1.0)
        hem_centre = (t_rs + t_ls) / 2 + frame.down * g_depth * scale
    else:
        hem_centre = frame.hip_mid + frame.down * cfg.hem_below_hip * frame.torso_length
    to_body = TorsoFrame(g_rs, g_ls, g_depth, t_rs, t_ls, hem_centre, hip_across)
    # Where the body's outline rises above the garment's shoulder line (a sloping neck,
    # square shoulders, a thick old jacket), lift that side's shoulder to it: the gap
    # would otherwise be filled with background right beside the neck.
    lift_r = _shoulder_gap(garment, body, to_body, g_rs, up, cfg.max_shoulder_lift * sw)
    lift_l = _shoulder_gap(garment, body, to_body, g_ls, up, cfg.max_shoulder_lift * sw)
    if lift_r or lift_l:
        t_rs, t_ls = t_rs + up * lift_r, t_ls + up * lift_l
        to_body = TorsoFrame(g_rs, g_ls, g_depth, t_rs, t_ls, hem_centre, hip_across)
    rows, cols = M.bounding_box(garment.pieces == Piece.TORSO) or (slice(0, 1), slice(0, 1))
    box = (float(cols.start), float(rows.start), float(cols.stop - 1), float(rows.stop - 1))
    named = np.array([v for v in lm.as_dict().values()], np.float32)
    src = np.vstack([named, _lattice(box)])
    fits = [PieceFit(Piece.TORSO, src, to_body(src))]
    return fits + _fit_sleeves(garment, body, to_body, cfg)


def _fit_sleeves(
    garment: GarmentAnalysis, body: BodyAnalysis, to_body: TorsoFrame, cfg: WarpConfig
) -> list[PieceFit]:
    """Control points of the sleeves: a short one turned onto the upper arm as a whole,
    a longer one laid along the arm's joints."""
    kp, lm = body.keypoints, garment.landmarks
    g_rs, g_ls = _arr(lm.shoulder_r, "shoulder_r"), _arr(lm.shoulder_l, "shoulder_l")
    fits: list[PieceFit] = []
    arms = {
        Piece.SLEEVE_R: (
            Joint.R_SHOULDER,
            Joint.R_ELBOW,
            Joint.R_WRIST,
            lm.shoulder_r,
            lm.armpit_r,
        ),
        Piece.SLEEVE_L: (
            Joint.L_SHOULDER,
            Joint.L_ELBOW,
            Joint.L_WRIST,
            lm.shoulder_l,
            lm.armpit_l,
        ),
    }
    shoulders = float(np.linalg.norm(g_ls - g_rs))
    for piece, (sj, ej, wj, g_sh, g_ap) in arms.items():
        limb = garment.limbs.get(piece)
        if limb is None:
            continue
        seam = (_arr(g_sh, "shoulder"), _arr(g_ap, "armpit"))
        joints = np.stack([kp.joint(ej), kp.joint(wj)]).astype(np.float32)
        target_seam = (to_body(seam[0])[0], to_body(seam[1])[0])
        upper_arm = np.stack([kp.joint(sj), kp.joint(ej)]).astype(np.float32)
        if _is_short_sleeve(limb, to_body.scale, upper_arm, shoulders):
            fits.append(
                _short_sleeve_fit(
                    piece,
                    garment.pieces == piece,
                    limb,
                    scale=to_body.scale,
                    seam=seam,
                    shoulder=target_seam[0],
                    upper_arm=upper_arm,
                    tube_width=cfg.tube_width,
                )
            )
            continue
        fit = _limb_fit(
            piece,
            limb,
            scale=to_body.scale,
            seam=seam,
            target_seam=target_seam,
            joints=joints,
            tube_width=cfg.tube_width,
            reference=shoulders,
            full_ratio=SLEEVE_FULL_RATIO,
            cfg=cfg,
        )
        fits.append(fit)
    return fits


SHORT_SLEEVE_REACH = 1.1
"""A sleeve that, worn, ends before this fraction of the upper arm (shoulder to elbow)
is short: it hangs from the shoulder as a whole instead of following the arm's joints."""


def _is_short_sleeve(
    limb: LimbShape, scale: float, upper_arm: npt.NDArray[np.float32], shoulders: float
) -> bool:
    """Whether the sleeve, worn at ``scale``, ends on the upper arm."""
    flat = polyline_length(limb.axis)
    if flat >= SLEEVE_FULL_RATIO * shoulders:
        return False
    return flat * scale < SHORT_SLEEVE_REACH * polyline_length(upper_arm)


def _short_sleeve_fit(
    piece: Piece,
    sleeve: Mask,
    limb: LimbShape,
    *,
    scale: float,
    seam: tuple[Vec, Vec],
    shoulder: Vec,
    upper_arm: npt.NDArray[np.float32],
    tube_width: float,
) -> PieceFit:
    """Control points of a short sleeve: the flat sleeve turned about its shoulder point
    until its axis lies along the upper arm, scaled, and narrowed across towards its
    outer edge.

    A short sleeve is wider than it is long, with a seam (shoulder to armpit) longer
    than its axis: holding that seam in place while the axis swings down folds the
    cloth over itself. Turned as a whole it cannot fold; its armpit end tucks in
    against the body, as cloth does under a hanging arm.

    Args:
        sleeve: (H, W) bool, the sleeve's pixels in the garment photo.
        seam: (shoulder, armpit) ends of its seam, garment pixels.
        shoulder: where the seam's shoulder end lands on the person.
        upper_arm: (2, 2) the shoulder and elbow joints, person pixels.
    """
    along_flat = _outer_fold(sleeve, seam[0], limb)
    inward_flat = perpendicular(along_flat)
    if float((seam[1] - seam[0]) @ inward_flat) < 0:
        inward_flat = -inward_flat
    along_worn = unit(upper_arm[1] - upper_arm[0])
    # The turn that takes the flat axis onto the arm (a rotation: no mirror image).
    cos = float(along_flat @ along_worn)
    sin = float(along_flat[0] * along_worn[1] - along_flat[1] * along_worn[0])
    inward_worn = np.array(
        [cos * inward_flat[0] - sin * inward_flat[1], sin * inward_flat[0] + cos * inward_flat[1]],
        np.float32,
    )
    rows, cols = M.bounding_box(sleeve) or (slice(0, 1), slice(0, 1))
    box = (float(cols.start), float(rows.start), float(cols.stop - 1), float(rows.stop - 1))
    src = np.vstack([seam[0], seam[1], limb.axis, _lattice(box, 4)]).astype(np.float32)
    offset = src - seam[0]
    along, inward = offset @ along_flat, offset @ inward_flat
    dst = (
        shoulder
        + scale * along[:, None] * along_worn
        + scale * tube_width * inward[:, None] * inward_worn
    )
    return PieceFit(piece, src, dst.astype(np.float32))


def _outer_fold(sleeve: Mask, shoulder: Vec, limb: LimbShape) -> Vec:
    """Direction of a flat sleeve's outer fold (its top edge, from the shoulder out),
    which lies along the outside of the arm when worn: a line fitted to the sleeve's
    top pixel in each column between the shoulder and the cuff. The sleeve's axis
    direction where it hangs too steeply to have such an edge."""
    axis = unit(limb.axis[-1] - limb.axis[0])
    sign = 1 if axis[0] > 0 else -1
    columns = np.flatnonzero(sleeve.any(0))
    if not len(columns):
        return axis
    far = float(columns[-1] if sign > 0 else columns[0])
    span = far - float(shoulder[0])
    xs = np.arange(round(shoulder[0] + 0.15 * span), round(shoulder[0] + 0.85 * span), sign)
    xs = xs[(xs >= 0) & (xs < sleeve.shape[1])]
    xs = xs[sleeve[:, xs].any(0)] if len(xs) else xs
    if len(xs) < 5 or abs(span) < 0.3 * float(np.ptp(np.flatnonzero(sleeve.any(1)))):
        return axis
    tops = sleeve[:, xs].argmax(0).astype(np.float64)
    slope = float(np.polyfit(xs.astype(np.float64), tops, 1)[0])
    return unit(np.array([sign, sign * slope], np.float32))


def _shoulder_gap(
    garment: GarmentAnalysis,
    body: BodyAnalysis,
    to_body: TorsoFrame,
    g_shoulder: Vec,
    up: Vec,
    most: float,
) -> float:
    """How far the body's outline (without the head and hair) rises above the placed
    garment's top edge between the neck and one shoulder: the median over a few
    columns, pixels along ``up``, between 0 and ``most``."""
    h, w = body.person_mask.shape
    centre = to_body.g_origin
    tops = []
    for f in (0.45, 0.6, 0.75, 0.9):
        gx = round(float(centre[0] + f * (g_shoulder[0] - centre[0])))
        if not 0 <= gx < garment.pieces.shape[1]:
            continue
        rows = np.flatnonzero(garment.pieces[:, gx])
        if len(rows):
            tops.append((gx, rows[0]))
    if not tops:
        return 0.0
    # Up from the garment's edge, one pixel at a time, while the body goes on.
    steps = np.arange(1, int(np.ceil(most)) + 1)
    gaps = []
    for edge in to_body(np.array(tops, np.float32)):
        x, y = np.round(edge + up * steps[:, None]).astype(int).T
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
        on_body = inside & body.person_mask[y, x] & ~body.head_mask[y, x]
        gone = np.flatnonzero(~on_body)
        gaps.append(float(gone[0] if len(gone) else len(steps)))
    return float(np.median(gaps))


def _hip_width(body: BodyAnalysis, centre: Vec, across: Vec, joint_width: float) -> float:
    """Frontal width of the body at the hips, from the silhouette, within sane bounds."""
    h, w = body.person_mask.shape
    ts = np.arange(-1.5 * joint_width, 1.5 * joint_width, 1.0)
    pts = np.round(centre + ts[:, None] * across).astype(int)
    ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    inside = np.zeros(len(ts), bool)
    inside[ok] = body.person_mask[pts[ok, 1], pts[ok, 0]]
    mid = len(ts) // 2
    if not inside[mid]:
        return 1.6 * joint_width
    lo = mid
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    hi = mid
    while hi < len(ts) - 1 and inside[hi + 1]:
        hi += 1
    return float(np.clip(hi - lo, 1.3 * joint_width, 2.0 * joint_width))


def _fit_trousers(garment: GarmentAnalysis, body: BodyAnalysis, cfg: WarpConfig) -> list[PieceFit]:
    kp, lm = body.keypoints, garment.landmarks
    frame = body_frame(kp)
    rh, lh = kp.joint(Joint.R_HIP), kp.joint(Joint.L_HIP)
    across = unit(lh - rh)
    joint_width = max(float(np.linalg.norm(lh - rh)), 4 * frame.r)
    waist_centre = frame.hip_mid - frame.down * cfg.waist_above_hip * frame.torso_length
    width = min(_hip_width(body, frame.hip_mid, across, joint_width), 1.6 * joint_width)
    g_wr, g_wl, g_crotch = (
        _arr(lm.waist_r, "waist_r"),
        _arr(lm.waist_l, "waist_l"),
        _arr(lm.crotch, "crotch"),
    )
    scale = width / max(float(np.linalg.norm(g_wl - g_wr)), 1.0)
    t_wr, t_wl = waist_centre - across * width / 2, waist_centre + across * width / 2
    rise = float(np.linalg.norm(g_crotch - (g_wr + g_wl) / 2)) * scale
    t_crotch = waist_centre + frame.down * rise
    fits = []
    legs = {
        Piece.LEG_R: (g_wr, t_wr, Joint.R_KNEE, Joint.R_ANKLE, MEDIAPIPE_HEELS[0]),
        Piece.LEG_L: (g_wl, t_wl, Joint.L_KNEE, Joint.L_ANKLE, MEDIAPIPE_HEELS[1]),
    }
    for piece, (g_waist, t_waist, kj, aj, heel) in legs.items():
        limb = garment.limbs.get(piece)
        if limb is None:
            continue
        joints = np.stack([kp.joint(kj), kp.joint(aj)]).astype(np.float32)
        joints[-1] = _hem_point(joints, kp.mediapipe[heel])
        waist = float(np.linalg.norm(g_wl - g_wr))
        # Trouser legs are drawn at their flat width (no tube narrowing).
        fit = _limb_fit(
            piece,
            limb,
            scale=scale,
            seam=(g_waist, g_crotch),
            target_seam=(t_waist, t_crotch),
            joints=joints,
            tube_width=1.0,
            reference=waist,
            full_ratio=LEG_FULL_RATIO,
            cfg=cfg,
        )
        # Both legs share the waist's centre and the crotch, so they meet.
        shared_src = np.stack([(g_wr + g_wl) / 2, g_crotch])
        shared_dst = np.stack([waist_centre, t_crotch])
        fits.append(
            PieceFit(
                piece, np.vstack([fit.source, shared_src]), np.vstack([fit.target, shared_dst])
            )
        )
    return fits
