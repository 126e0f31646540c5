"""Parameters of the composite."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComposeConfig:
    """Parameters of the composite.

    Attributes:
        clusters: colour clusters used to divide the old garment's colours out.
        shading_range: clamp of the shading factor (darkest, brightest).
        shading_strength: exponent on the shading (1: as in the photo).
        shading_blur: smoothing of the shading, x shoulder width.
        seam: width of the fade at the mask edge, pixels at 1024 rows.
        shading_side: long side, pixels, of the copy the shading is measured on (the
            shading is smoothed over a tenth of the shoulder width, so more is wasted).
    """

    clusters: int = 4
    shading_range: tuple[float, float] = (0.45, 1.35)
    shading_strength: float = 0.9
    shading_blur: float = 0.006
    seam: float = 3.0
    shading_side: int = 192
