"""How a garment sits on a body: the warp's fit parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WarpConfig:
    """Fit of the garment on the body.

    Attributes:
        shoulder_out: garment shoulder seam outside the shoulder joint, x shoulder width.
        shoulder_up: and above it, x shoulder width.
        max_shoulder_lift: the most a shoulder is lifted to meet the body's outline,
            x shoulder width.
        hem_below_hip: top's hem below the hip joints, x torso length.
        waist_above_hip: trousers' waistband above the hip joints, x torso length.
        full_length: a sleeve or leg at least this fraction of the limb ends at the
            wrist or ankle (full-length garments are not shown short).
        grid_step: spacing of the coarse grid the splines are evaluated on, pixels.
        samples: control points along each sleeve or leg.
        tube_width: a sleeve or leg seen from the front is narrower than laid flat (a
            tube's diameter is 2/pi of its flattened width; cloth is never a perfect tube).
    """

    shoulder_out: float = 0.1
    shoulder_up: float = 0.07
    max_shoulder_lift: float = 0.12
    hem_below_hip: float = 0.06
    waist_above_hip: float = 0.28
    full_length: float = 0.8
    tube_width: float = 0.75
    grid_step: int = 8
    samples: int = 7
