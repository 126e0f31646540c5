"""Filling what the old garment leaves uncovered: painted skin, the neighbouring garment
carried on, or the scenery."""

from __future__ import annotations

import numpy as np

from tryon.compose.arms import BareArms, limb_roundness
from tryon.compose.scene import Scene
from tryon.compose.shading import apply_shading
from tryon.ops import masks as M
from tryon.ops.fill import extrude_fill
from tryon.types import FloatImage, Image, Mask


def fill_hole(
    person: Image,
    hole: Mask,
    skin_zone: Mask,
    shading: FloatImage,
    scene: Scene,
    *,
    neighbour_below: bool = True,
    bare_arms: BareArms | None = None,
) -> Image:
    """Plausible content for ``hole``: shaded skin inside ``skin_zone`` (the scene's
    ``paint`` colours; on the arms rounded like a limb, see ``limb_roundness``); else,
    under a shorter new garment, the neighbouring garment carried on (the trousers
    under a top, the top over trousers); else the scenery. Other pixels are the
    person's."""
    out = person.copy()
    box = M.bounding_box(hole)
    if box is None:
        return out
    M.paste(out[box], scene.backdrop[box], hole[box])
    old = scene.old_garment
    if old.neighbour is not None and old.neighbour_reach is not None:
        continued = hole[box] & old.neighbour_reach[box]
        span = M.bounding_box(continued)
        if span is not None:
            # Column by column, so its stripes and seams carry on: only the columns to
            # fill, from the gap's edge on for as far again as the gap is high (the
            # neighbour starts where the old garment ended, right beside the gap).
            h = hole.shape[0]
            top, bottom = box[0].start + span[0].start, box[0].start + span[0].stop
            reach = bottom - top + 8
            rows = (
                slice(top, min(h, bottom + reach))
                if neighbour_below
                else slice(max(0, top - reach), bottom)
            )
            cols = slice(box[1].start + span[1].start, box[1].start + span[1].stop)
            source = old.neighbour[rows, cols] & ~scene.backdrop_region[rows, cols]
            extruded, found = extrude_fill(person[rows, cols], source, upward=neighbour_below)
            take = hole[rows, cols] & old.neighbour_reach[rows, cols] & found
            out[rows, cols][take] = extruded[take]
    zone_box = M.bounding_box(skin_zone)
    if zone_box is not None:
        zone = skin_zone[zone_box]
        light = shading[zone_box][zone]
        # Which colour each pixel takes: 0 the neck, 1 the right arm, 2 the left arm.
        part = np.zeros(len(light), np.intp)
        if bare_arms is not None:
            limbs = bare_arms.limbs | scene.neck_zone
            light = light * limb_roundness(limbs, skin_zone)
            on_arm = bare_arms.limbs[zone_box][zone]
            part[on_arm] = np.where(bare_arms.right_limb[zone_box][zone][on_arm], 1, 2)
        skin = apply_shading(scene.paint[part][:, None], light[:, None])
        out[zone_box][zone] = np.clip(np.round(skin[:, 0]), 0, 255).astype(np.uint8)
    return out
