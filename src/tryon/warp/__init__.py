"""Warp: move the garment onto the body with one thin-plate spline per piece.

The torso (or the trousers' seat) follows a frame spanned by the shoulders and hips;
each sleeve and trouser leg follows its limb, so it bends at the joint (``fit``). Every
spline maps person pixels back to garment pixels; it is evaluated on a coarse grid and
upsampled, then the garment is resampled (``render``).
"""

from tryon.warp.config import WarpConfig
from tryon.warp.fit import PieceFit, fit_pieces
from tryon.warp.render import warp_garment

__all__ = ["PieceFit", "WarpConfig", "fit_pieces", "warp_garment"]
