"""Rendering the warp: every piece's spline evaluated on a coarse grid, upsampled
(``dense_backward_map``), and the garment resampled once into the person photo."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from tryon.ops.inpaint import inpaint_boxes
from tryon.ops.tps import dense_backward_map, fit_tps
from tryon.types import (
    BodyAnalysis,
    Category,
    GarmentAnalysis,
    GarmentLandmarks,
    Piece,
    WarpedGarment,
)
from tryon.warp.config import WarpConfig
from tryon.warp.fit import PieceFit, fit_pieces

# The piece whose spline moves each landmark into the person photo (default: torso).
_LANDMARK_PIECE = {
    "sleeve_end_r": Piece.SLEEVE_R,
    "sleeve_end_l": Piece.SLEEVE_L,
    "waist_r": Piece.LEG_R,
    "crotch": Piece.LEG_R,
    "leg_hem_r": Piece.LEG_R,
    "waist_l": Piece.LEG_L,
    "leg_hem_l": Piece.LEG_L,
}


def warp_garment(
    garment: GarmentAnalysis,
    body: BodyAnalysis,
    category: Category,
    cfg: WarpConfig | None = None,
) -> WarpedGarment:
    """Warps the garment onto the person.

    Args:
        garment: the analysed garment.
        body: the analysed person (its keypoints set the target).
        category: the category being tried on.
        cfg: fit parameters; defaults to ``WarpConfig()``.

    Returns:
        The garment in the person photo's frame, with anti-aliased coverage and the
        garment landmarks moved along.
    """
    cfg = cfg or WarpConfig()
    h, w = body.person_mask.shape
    fits = [
        (fit, box)
        for fit in fit_pieces(garment, body, category, cfg)
        if (box := _target_box(fit.target, (h, w)))
    ]
    colour = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.float32)
    labels = np.zeros((h, w), np.uint8)
    if not fits:
        return WarpedGarment(colour, alpha, labels, GarmentLandmarks())
    # Work over the union of the pieces' windows only.
    ux0, uy0 = min(b[0] for _, b in fits), min(b[1] for _, b in fits)
    ux1, uy1 = max(b[2] for _, b in fits), max(b[3] for _, b in fits)
    cover = alpha[uy0:uy1, ux0:ux1]
    top = labels[uy0:uy1, ux0:ux1]
    # One backward map for the whole garment: each person pixel samples the piece drawn
    # on top there (later pieces over earlier ones). The colour is then resampled once,
    # from the pyramid level whose pixels are about the size of the person's.
    level = _pyramid_level([fit for fit, _ in fits])
    # A top's neck labels are painted over: a wearer's neck hides them.
    photo = inpaint_boxes(garment.image, garment.mask, garment.neck_labels)
    sources = _pyramid(photo, level)
    map_x = np.full((uy1 - uy0, ux1 - ux0), -1.0, np.float32)
    map_y = np.full_like(map_x, -1.0)
    moved: dict[str, tuple[float, float]] = {}
    for fit, (x0, y0, x1, y1) in fits:
        backward = fit_tps(fit.target, fit.source, regularization=1e-3)
        piece_x, piece_y = dense_backward_map(
            backward, y1 - y0, x1 - x0, cfg.grid_step, origin=(x0, y0)
        )
        shape_mask = cv2.compare(garment.pieces, int(fit.piece), cv2.CMP_EQ)  # 255 on it
        a = cv2.remap(shape_mask, piece_x, piece_y, cv2.INTER_LINEAR, borderValue=0)
        win = (slice(y0 - uy0, y1 - uy0), slice(x0 - ux0, x1 - ux0))
        # This piece's colour wins where it is mostly opaque, or where nothing is below.
        opaque = a > 127
        take = opaque | ((a > 0) & (cover[win] == 0))
        np.copyto(map_x[win], piece_x, where=take)
        np.copyto(map_y[win], piece_y, where=take)
        a_float = a.astype(np.float32) / 255.0
        cover[win] = a_float + (1 - a_float) * cover[win]
        np.copyto(top[win], np.uint8(fit.piece), where=opaque)
        forward = fit_tps(fit.source, fit.target, regularization=1e-3)
        for name, point in garment.landmarks.as_dict().items():
            if _LANDMARK_PIECE.get(name, Piece.TORSO) == fit.piece:
                xy = forward.transform(np.asarray(point, np.float64))
                moved[name] = (float(xy[0]), float(xy[1]))
    if level:
        # Pixel centres: x at level L is (x + 0.5) / 2^L - 0.5.
        factor = 0.5**level
        map_x = (map_x + 0.5) * factor - 0.5
        map_y = (map_y + 0.5) * factor - 0.5
    resampled = cv2.remap(sources, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    colour[uy0:uy1, ux0:ux1] = resampled  # where the cover is 0 the colour is unused
    return WarpedGarment(
        image=colour, alpha=alpha, pieces=labels, landmarks=GarmentLandmarks(**moved)
    )


def _pyramid_level(fits: list[PieceFit]) -> int:
    """How many times to halve the garment photo before resampling it: downscaling by
    more than 2 with bilinear sampling skips pixels and makes fine prints shimmer."""
    source = np.vstack([f.source for f in fits]).astype(np.float64)
    target = np.vstack([f.target for f in fits]).astype(np.float64)
    spread = float(np.ptp(source, axis=0).max())
    shrink = spread / max(float(np.ptp(target, axis=0).max()), 1.0)
    return int(np.clip(np.floor(np.log2(max(shrink, 1.0))), 0, 3))


def _pyramid(image: npt.NDArray[np.uint8], level: int) -> npt.NDArray[np.uint8]:
    for _ in range(level):
        image = cv2.pyrDown(image)
    return image


def _target_box(
    target: npt.NDArray[np.float32], shape: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Bounding box of a piece on the person, padded, clipped to the image."""
    h, w = shape
    lo, hi = target.min(0), target.max(0)
    pad = 0.15 * float(np.max(hi - lo)) + 8
    x0, y0 = int(max(0, lo[0] - pad)), int(max(0, lo[1] - pad))
    x1, y1 = int(min(w, hi[0] + pad)), int(min(h, hi[1] + pad))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1, y1
