"""Filling what the old garment leaves uncovered: painted skin, the neighbouring garment
carried on, or the scenery."""

from __future__ import annotations

import cv2
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
    _paint_skin(out, hole, skin_zone, shading, scene, bare_arms)
    return out


def _paint_skin(
    out: Image,
    hole: Mask,
    skin_zone: Mask,
    shading: FloatImage,
    scene: Scene,
    bare_arms: BareArms | None,
) -> None:
    """Paints shaded skin over ``skin_zone`` of ``out`` (in place): each part in its
    colour, rounded like a limb, with the grain of the person's own skin, its outline
    blended over a pixel into the fill around it (inside ``hole`` only)."""
    grown = M.dilate(skin_zone, EDGE_BLUR_PX * 2) & (hole | skin_zone)
    zone_box = M.bounding_box(grown)
    if zone_box is None:
        return
    zone = grown[zone_box]
    light = shading[zone_box][zone]
    # Which colour each pixel takes: 0 the neck, 1 the right arm, 2 the left arm.
    part = np.zeros(len(light), np.intp)
    if bare_arms is not None:
        limbs = bare_arms.limbs | scene.neck_zone
        # The paint colour is the hand's median: the light of an average spot of a
        # limb, so the roundness is taken relative to its own mean.
        roundness = limb_roundness(limbs, grown)
        light = light * roundness / max(float(roundness.mean()), 1e-3)
        on_arm = bare_arms.limbs[zone_box][zone]
        part[on_arm] = np.where(bare_arms.right_limb[zone_box][zone][on_arm], 1, 2)
    texture = skin_grain(zone.shape, scene.skin_grain)[zone]
    skin = apply_shading(scene.paint[part][:, None], (light * texture)[:, None])[:, 0]
    # Anti-aliased outline: the skin's cover, blurred, over what is below it.
    cover = cv2.GaussianBlur(skin_zone[zone_box].astype(np.float32), (0, 0), EDGE_BLUR_PX)
    cover = np.where(skin_zone[zone_box], np.maximum(cover, 0.5), cover)[zone][:, None]
    below = out[zone_box][zone].astype(np.float32)
    mixed = below + cover * (skin - below)
    out[zone_box][zone] = np.clip(np.round(mixed), 0, 255).astype(np.uint8)


EDGE_BLUR_PX = 0.8
"""Blur of painted skin's outline, pixels: an edge as soft as the photo's own."""


def skin_grain(shape: tuple[int, ...], strength: float) -> FloatImage:
    """A fixed pattern of fine light variation (mean 1, standard deviation about
    ``strength``): pores and unevenness, so painted skin is not one flat colour. The
    same every time for the same shape (seeded)."""
    if strength <= 0:
        return np.ones(shape[:2], np.float32)
    noise = np.random.default_rng(0).standard_normal(shape[:2]).astype(np.float32)
    fine = cv2.GaussianBlur(noise, (0, 0), 0.8)
    coarse = cv2.GaussianBlur(noise, (0, 0), 3.0)
    pattern = fine / max(float(fine.std()), 1e-6) + 0.5 * coarse / max(float(coarse.std()), 1e-6)
    return np.asarray(1.0 + strength / 1.12 * pattern, np.float32)
