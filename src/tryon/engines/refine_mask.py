"""The refine mask of the hybrid engine: where a warped composite needs repainting.

The warp engine gets the garment's print and placement right; what it draws poorly is
the garment's outline (a hard seam against the photo), the old garment's pixels it
leaves uncovered (filled from the background) and skin it has to invent. Only those
pixels are handed to the diffusion model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tryon.ops import masks as M
from tryon.types import Mask


@dataclass(frozen=True)
class RefineMaskConfig:
    """Widths of the refine mask, in pixels of a 1024-row photo (scaled with the photo).

    Attributes:
        band: width of the band centred on the warped garment's outline.
        feather: Gaussian sigma of the blend weight's inner fade.
    """

    band: float = 12.0
    feather: float = 3.0


def refine_mask(
    agnostic: Mask,
    coverage: npt.NDArray[np.float32],
    person: Mask,
    fill: Mask,
    cfg: RefineMaskConfig | None = None,
) -> Mask:
    """The pixels the hybrid engine repaints.

    Args:
        agnostic: (H, W) bool, the pixels the try-on may change.
        coverage: (H, W) float32 in [0, 1], the warped garment's alpha.
        person: (H, W) bool, the person's silhouette.
        fill: (H, W) bool, old-garment pixels the warp left uncovered and filled.
        cfg: widths.

    Returns:
        (H, W) bool, inside ``agnostic``: a band around the garment's outline, the
        filled pixels, and the person's pixels inside the mask the garment does not
        cover (exposed skin).
    """
    cfg = cfg or RefineMaskConfig()
    half = cfg.band * agnostic.shape[0] / 1024 / 2
    covered = coverage > 0.5
    band = M.dilate(covered, half) & ~M.erode(covered, half)
    exposed = person & ~covered
    return (band | fill | exposed) & agnostic


def blend_weight(mask: Mask, cfg: RefineMaskConfig | None = None) -> npt.NDArray[np.float32]:
    """(H, W) float32 weight of the repainted pixels: 0 outside ``mask``, rising to 1 at
    ``feather`` pixels (of a 1024-row photo) inside it."""
    cfg = cfg or RefineMaskConfig()
    return M.inner_ramp(mask, cfg.feather * mask.shape[0] / 1024)
