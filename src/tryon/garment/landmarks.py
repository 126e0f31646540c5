"""Category and landmarks of a flat (product) garment from its mask outline.

The outline's concavities tell the garment's structure: trousers have one deep notch
rising from the middle of the bottom edge (the gap between the legs, topped by the
crotch); tops have a notch under each sleeve (the armpit) and a dip at the neckline.
Concavities are the convexity defects of the outline against its convex hull.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np
import numpy.typing as npt

from tryon.errors import GarmentNotFoundError
from tryon.ops import masks as M
from tryon.ops.geometry import perpendicular, unit
from tryon.types import Category, GarmentLandmarks, LimbShape, Mask, Piece

Point = tuple[float, float]


@dataclass(frozen=True)
class Notch:
    """A concavity of the outline: where it opens (two hull points) and its deepest point."""

    start: npt.NDArray[np.float32]
    end: npt.NDArray[np.float32]
    deepest: npt.NDArray[np.float32]
    depth: float


@dataclass(frozen=True)
class Outline:
    """The garment's outer contour, bounding box and concavities."""

    contour: npt.NDArray[np.float32]
    box: tuple[float, float, float, float]
    notches: list[Notch]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def outline(mask: Mask) -> Outline:
    """Finds the outer contour and its concavities deeper than 2% of the garment size."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        raise GarmentNotFoundError("the garment mask is empty: no garment to dress with")
    contour = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(contour)
    hull = cv2.convexHull(contour, returnPoints=False)
    notches: list[Notch] = []
    pts = contour.reshape(-1, 2).astype(np.float32)
    if hull is not None and len(hull) > 3:
        defects = cv2.convexityDefects(contour, np.sort(hull, axis=0))
        for s, e, f, d in defects.reshape(-1, 4) if defects is not None else []:
            depth = d / 256.0
            if depth > 0.02 * max(w, h):
                notches.append(Notch(pts[s], pts[e], pts[f], depth))
    return Outline(pts, (float(x), float(y), float(x + w), float(y + h)), notches)


class GarmentKind(Enum):
    """What a flat garment is, from its outline."""

    TOP = "top"
    DRESS = "dress"
    TROUSERS = "trousers"
    LEGGED_ONE_PIECE = "one-piece with legs"


KIND_CATEGORY = {
    GarmentKind.TOP: Category.UPPER,
    GarmentKind.DRESS: Category.OVERALL,
    GarmentKind.TROUSERS: Category.LOWER,
    GarmentKind.LEGGED_ONE_PIECE: Category.OVERALL,
}
"""The category each kind of garment is worn as."""

DRESS_RATIO = 1.45
"""A garment without legs at least this many times as tall as wide is a dress."""


def garment_kind(mask: Mask, shape: Outline) -> GarmentKind:
    """Trousers have a deep notch opening on the bottom edge near the middle; so do
    dungarees and jumpsuits, which go on above the waist (a bib and straps, or a
    bodice); a dress is a tall shape without legs; anything else is a top."""
    notch = _crotch_notch(shape)
    if notch is not None:
        return (
            GarmentKind.LEGGED_ONE_PIECE
            if _goes_on_above_waist(mask, shape, notch)
            else (GarmentKind.TROUSERS)
        )
    if shape.height > DRESS_RATIO * shape.width:
        return GarmentKind.DRESS
    return GarmentKind.TOP


def infer_category(mask: Mask, shape: Outline) -> Category:
    """The category the garment is worn as (see ``garment_kind``)."""
    return KIND_CATEGORY[garment_kind(mask, shape)]


def _goes_on_above_waist(mask: Mask, shape: Outline, crotch: Notch) -> bool:
    """Whether a garment with legs has more than a waistband at its top: the top of
    trousers is their waistband, as wide as their seat; a bib, straps or the
    shoulders of a strappy jumpsuit are much narrower than the seat, a sleeved one's
    shoulders (sleeves lying along the body) wider, and spread sleeves leave an armpit
    notch on each side above the crotch."""
    _x0, y0, _x1, _y1 = shape.box
    rise = float(crotch.deepest[1]) - y0
    seat = _median_width(mask, crotch.deepest[1] - 0.2 * rise, crotch.deepest[1])
    top = _median_width(mask, y0, y0 + 0.06 * shape.height)
    if top < 0.7 * seat or top > SLEEVED * seat:
        return True
    cx = float(crotch.deepest[0])
    sides = {
        np.sign(n.deepest[0] - cx)
        for n in shape.notches
        if n is not crotch
        and y0 + 0.1 * rise < n.deepest[1] < crotch.deepest[1] - 0.2 * rise
        and abs(n.deepest[0] - cx) > 0.15 * shape.width
    }
    return len(sides) == 2


def _median_width(mask: Mask, top: float, bottom: float) -> float:
    """Median extent (first to last garment pixel) of the mask's rows between two heights."""
    widths = []
    for y in range(max(0, int(top)), min(mask.shape[0], int(bottom) + 1)):
        xs = np.flatnonzero(mask[y])
        if len(xs):
            widths.append(float(xs[-1] - xs[0] + 1))
    return float(np.median(widths)) if widths else 0.0


def _crotch_notch(shape: Outline) -> Notch | None:
    x0, _y0, x1, y1 = shape.box
    cx = (x0 + x1) / 2
    best = None
    for n in shape.notches:
        opens_at_bottom = min(n.start[1], n.end[1]) > y1 - 0.1 * shape.height
        central = abs(n.deepest[0] - cx) < 0.15 * shape.width
        if opens_at_bottom and central and n.depth > 0.25 * shape.height:
            best = n if best is None or n.depth > best.depth else best
    return best


def _runs(row: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) column ranges of the True runs of a mask row (end exclusive)."""
    padded = np.concatenate([[False], row, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _run_at(mask: Mask, y: int, x: float) -> tuple[int, int] | None:
    """The run of row ``y`` containing (or nearest to) column ``x``."""
    runs = _runs(mask[int(np.clip(y, 0, mask.shape[0] - 1))])
    if not runs:
        return None
    return min(runs, key=lambda r: 0 if r[0] <= x < r[1] else min(abs(r[0] - x), abs(r[1] - x)))


def _top_at(mask: Mask, x: float) -> float:
    col = mask[:, int(np.clip(round(x), 0, mask.shape[1] - 1))]
    ys = np.flatnonzero(col)
    return float(ys[0]) if len(ys) else float("nan")


def _shoulder_from_profile(mask: Mask, shape: Outline, sign: int) -> float:
    """Column where the top outline turns steeply down (the sleeve's outer edge starts),
    walking outwards from the collar; for sleeves that hang along the body."""
    x0, _, x1, _ = shape.box
    cx, w = (x0 + x1) / 2, shape.width
    step = max(2, round(0.01 * w))
    x = cx + sign * 0.15 * w
    while x0 + step <= x <= x1 - step:
        here, there = _top_at(mask, x), _top_at(mask, x + sign * step)
        if not there - here <= 1.5 * step:
            break
        x += sign * step
    return float(x)


def _split_sleeve(
    mask: Mask, cut: npt.NDArray[np.float32], centre: npt.NDArray[np.float32]
) -> Mask:
    """Pixels cut off from the torso by the polyline ``cut``, on the far side from ``centre``."""
    severed = mask.copy()
    pts = np.round(cut).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(severed.view(np.uint8), [pts], False, 0, thickness=3)
    n, labels = cv2.connectedComponents(severed.astype(np.uint8), connectivity=4)
    cx, cy = round(centre[0]), round(centre[1])
    torso_label = labels[cy, cx] if 0 <= cy < mask.shape[0] and 0 <= cx < mask.shape[1] else 0
    direction = unit(cut[-1] - cut[0])
    normal = perpendicular(direction)
    if np.dot(normal, centre - cut[0]) > 0:
        normal = -normal
    out = np.zeros_like(mask)
    for label in range(1, n):
        if label == torso_label:
            continue
        ys, xs = np.nonzero(labels == label)
        mean = np.array([xs.mean(), ys.mean()], np.float32)
        if np.dot(mean - cut[0], normal) > 0:
            out[ys, xs] = True
    # The cut line itself goes with the side whose neighbours it has.
    return out | (M.dilate(out, 2) & mask & ~severed)


def _sleeve_shape(
    sleeve: Mask, root: npt.NDArray[np.float32], root_width: float
) -> LimbShape | None:
    ys, xs = np.nonzero(sleeve)
    if len(xs) < 20:
        return None
    pts = np.stack([xs, ys], 1).astype(np.float32)
    direction = unit(pts.mean(0) - root)
    along = (pts - root) @ direction
    length = float(along.max())
    if length < 0.3 * root_width:
        return None
    far = pts[along > 0.9 * length]
    across = (far - root) @ perpendicular(direction)
    # The cuff centre: at the sleeve's full length, midway across the cuff.
    end = np.asarray(root + direction * length, np.float32)
    end = end + perpendicular(direction) * float(np.median(across))
    cuff_width = float(np.ptp(across)) + 1
    return LimbShape(
        np.stack([root, end]).astype(np.float32),
        np.array([root_width, max(cuff_width, 0.25 * root_width)], np.float32),
    )


def _hem_edge(mask: Mask, hem_y: float, h: float, cx: float, sign: int) -> int:
    """Side edge of the body just above the hem: the median over a band of rows, so a
    ragged or curved hem does not move it."""
    edges = []
    for y in np.linspace(hem_y - 0.1 * h, hem_y - 0.02 * h, 9):
        run = _run_at(mask, int(y), cx)
        if run is not None:
            edges.append(run[0] if sign < 0 else run[1] - 1)
    return int(np.median(edges)) if edges else int(cx)


def top_landmarks(
    mask: Mask, shape: Outline
) -> tuple[GarmentLandmarks, npt.NDArray[np.uint8], dict[Piece, LimbShape]]:
    """Landmarks, piece map and sleeves of a top (or dress) lying flat, front view.

    The image's left is the garment's right side (as on a person facing the camera).
    """
    x0, _y0, x1, y1 = shape.box
    cx, w, h = (x0 + x1) / 2, shape.width, shape.height
    neck = np.array([cx, _top_at(mask, cx)], np.float32)
    band = mask[:, int(cx - 0.1 * w) : int(cx + 0.1 * w) + 1]
    hem_y = float(np.flatnonzero(band.any(1))[-1]) if band.any() else y1
    centre = np.array([cx, (neck[1] + hem_y) / 2], np.float32)
    marks: dict[str, Point | None] = {"neckline": _pt(neck)}
    pieces = np.where(mask, np.uint8(Piece.TORSO), np.uint8(Piece.NONE))
    limbs: dict[Piece, LimbShape] = {}
    for side, sign, piece in (("r", -1, Piece.SLEEVE_R), ("l", 1, Piece.SLEEVE_L)):
        notches = _armpit_notches(shape, sign)
        if notches:
            armpit = max(notches, key=lambda n: n.depth).deepest.astype(np.float32)
            shoulder_x = float(armpit[0] - sign * 0.02 * w)
            shoulder = np.array([shoulder_x, _top_at(mask, shoulder_x)], np.float32)
            ext = unit(armpit - shoulder) * 0.04 * h
            cut = np.stack([shoulder - ext, armpit + ext])
        else:
            # Sleeves lie along the body: the seam is not in the outline. Armhole depth
            # of about a quarter of the length, straight below the shoulder point.
            shoulder_x = _shoulder_from_profile(mask, shape, sign)
            shoulder = np.array([shoulder_x, _top_at(mask, shoulder_x)], np.float32)
            armpit = np.array([shoulder_x, shoulder[1] + 0.25 * (hem_y - shoulder[1])], np.float32)
            cut = np.stack([shoulder - (0, 0.04 * h), np.array([shoulder_x, y1 + 2], np.float32)])
        sleeve = _split_sleeve(mask, cut.astype(np.float32), centre)
        edge = _hem_edge(mask, hem_y, h, cx, sign)
        if not notches:
            edge = int(shoulder_x) if sign * (edge - shoulder_x) > 0 else edge
        marks[f"shoulder_{side}"] = _pt(shoulder)
        marks[f"armpit_{side}"] = _pt(armpit)
        marks[f"hem_{side}"] = (float(edge), float(hem_y))
        limb = _sleeve_shape(
            sleeve, (shoulder + armpit) / 2, float(np.linalg.norm(shoulder - armpit))
        )
        if limb is not None:
            limbs[piece] = limb
            pieces[sleeve] = piece
            marks[f"sleeve_end_{side}"] = _pt(limb.axis[-1])
    return GarmentLandmarks(**marks), pieces, limbs


def _armpit_notches(shape: Outline, sign: int) -> list[Notch]:
    """A top's armpit notches on one side (``sign`` -1: the image's left): on that side,
    in the upper three quarters, not the neckline."""
    x0, y0, x1, _y1 = shape.box
    cx, w, h = (x0 + x1) / 2, shape.width, shape.height
    return [
        n
        for n in shape.notches
        if sign * (n.deepest[0] - cx) > 0.12 * w
        and y0 + 0.12 * h < n.deepest[1] < y0 + 0.75 * h
        and n.depth > 0.03 * max(w, h)
        and min(n.start[1], n.end[1]) < n.deepest[1]
    ]


def bottom_landmarks(
    mask: Mask, shape: Outline
) -> tuple[GarmentLandmarks, npt.NDArray[np.uint8], dict[Piece, LimbShape]]:
    """Landmarks, piece map and legs of trousers lying flat, front view."""
    x0, y0, x1, _y1 = shape.box
    _w, h = shape.width, shape.height
    notch = _crotch_notch(shape)
    crotch = (
        notch.deepest if notch is not None else np.array([(x0 + x1) / 2, y0 + 0.35 * h], np.float32)
    )
    waist_y = y0 + 0.02 * h
    waist = _run_at(mask, int(waist_y), crotch[0]) or (int(x0), int(x1))
    waist_r = np.array([waist[0], waist_y], np.float32)
    waist_l = np.array([waist[1], waist_y], np.float32)
    ys, xs = np.nonzero(mask)
    pieces = np.zeros(mask.shape, np.uint8)
    right = xs < crotch[0]
    pieces[ys[right], xs[right]] = Piece.LEG_R
    pieces[ys[~right], xs[~right]] = Piece.LEG_L
    limbs: dict[Piece, LimbShape] = {}
    hems: dict[str, Point] = {}
    for side, piece, sel, outer in (
        ("r", Piece.LEG_R, right, waist_r),
        ("l", Piece.LEG_L, ~right, waist_l),
    ):
        lx, ly = xs[sel], ys[sel]
        if len(lx) == 0:
            raise GarmentNotFoundError(
                "the trousers' outline has no legs; is this a skirt? ask for the category overall"
            )
        bottom = ly.max()
        foot = lx[ly > bottom - 0.02 * h]
        hem = np.array([foot.mean(), bottom], np.float32)
        # The leg's root: at crotch height, midway between the outer edge and the crotch.
        root = np.array([(outer[0] + crotch[0]) / 2, crotch[1]], np.float32)
        hem_width = float(np.ptp(foot)) + 1
        root_width = float(abs(outer[0] - crotch[0]))
        limbs[piece] = LimbShape(
            np.stack([root, hem]), np.array([root_width, hem_width], np.float32)
        )
        hems[side] = (float(hem[0]), float(hem[1]))
    marks = GarmentLandmarks(
        waist_r=_pt(waist_r),
        waist_l=_pt(waist_l),
        crotch=_pt(crotch),
        leg_hem_r=hems["r"],
        leg_hem_l=hems["l"],
    )
    return marks, pieces, limbs


RISE = 0.35
"""A one-piece's waist is above its crotch by this fraction of its inside leg (a pair of
trousers' rise is about a third of its inseam)."""
SLEEVED = 1.1
"""A one-piece has sleeves when its upper quarter is at least this many times as wide
as its seat; a bib and straps are narrower than the seat."""


def one_piece_landmarks(
    mask: Mask, shape: Outline
) -> tuple[GarmentLandmarks, npt.NDArray[np.uint8], dict[Piece, LimbShape]]:
    """Landmarks, piece map and limbs of a one-piece with legs (a jumpsuit, dungarees)
    lying flat, front view: a top above its waist, trousers below it.

    The waist is placed ``RISE`` of the inside leg above the crotch (lower where the
    armpits need it); the part above it is read as a top (neckline, shoulders, armpits
    and sleeves, its hem at the waist), the part below as trousers (waist, crotch,
    legs). A one-piece without sleeves (see ``SLEEVED``; a bib and straps) gets the
    landmarks of its legs only, as trousers do: it has no shoulders to fit
    (``GarmentLandmarks.shoulder_r`` is None).

    Raises:
        GarmentNotFoundError: the outline has no crotch.
    """
    crotch = _crotch_notch(shape)
    if crotch is None:
        raise GarmentNotFoundError("the garment's outline has no legs: it is not a one-piece")
    _x0, y0, _x1, y1 = shape.box
    crotch_y = float(crotch.deepest[1])
    seat = _median_width(mask, crotch_y - 0.1 * shape.height, crotch_y)
    shoulders = max(
        _median_width(mask, y, y) for y in range(int(y0), int(y0 + 0.25 * shape.height))
    )
    armpits = [
        n.deepest[1]
        for sign in (-1, 1)
        for n in _armpit_notches(shape, sign)
        if n.deepest[1] < crotch_y - 0.1 * shape.height
    ]
    if shoulders < SLEEVED * seat:
        # A bib and straps (dungarees), or a strappy bodice: the legs only.
        return bottom_landmarks(mask, shape)
    # The waist: a rise above the crotch, and low enough under spread sleeves' armpits
    # for the part above it to read as a top (its armpits in its upper three quarters).
    waist_y = crotch_y - RISE * (y1 - crotch_y)
    if armpits:
        armpit_y = float(max(armpits))
        waist_y = max(waist_y, armpit_y + 0.4 * (armpit_y - y0))
    waist_y = round(min(waist_y, crotch_y - 0.05 * shape.height))
    rows = np.arange(mask.shape[0])[:, None]
    upper, lower = mask & (rows < waist_y), mask & (rows >= waist_y)
    upper_shape = outline(upper)
    top, top_pieces, top_limbs = top_landmarks(upper, upper_shape)
    legs, leg_pieces, leg_limbs = bottom_landmarks(lower, outline(lower))
    # The legs' crotch is the whole garment's (the lower part's own notch is the same).
    landmarks = GarmentLandmarks(
        **{**top.as_dict(), **legs.as_dict(), "crotch": _pt(crotch.deepest)}
    )
    pieces = np.where(rows < waist_y, top_pieces, leg_pieces).astype(np.uint8)
    return landmarks, pieces, {**top_limbs, **leg_limbs}


def _pt(p: npt.ArrayLike) -> Point:
    a = np.asarray(p, np.float64)
    return (float(a[0]), float(a[1]))
