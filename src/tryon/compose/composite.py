"""The composite: the warped garment blended into the photo over the filled base, lit
by the scene's shading, fading out over a few pixels inside the agnostic mask's edge;
every pixel outside the mask is copied from the input, bit for bit."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.body.clothing import (
    mostly_bare_parts,
)
from tryon.compose.arms import BareArms, find_bare_arms
from tryon.compose.config import ComposeConfig
from tryon.compose.fill import fill_hole
from tryon.compose.scene import Scene, prepare_scene
from tryon.compose.shading import apply_gain
from tryon.types import BodyAnalysis, Category, FloatImage, Image, Mask, WarpedGarment


@dataclass(frozen=True)
class Composite:
    """The result of composing, with its intermediates.

    Attributes:
        painted: the body parts painted as skin where the old garment covered them
            ("right arm", "left arm", "neck"): approximate, to be said in a warning.
    """

    image: Image
    shading: FloatImage
    fill_mask: Mask
    painted: tuple[str, ...] = ()


def compose(
    person: Image,
    body: BodyAnalysis,
    warped: WarpedGarment,
    agnostic: Mask,
    category: Category,
    *,
    cfg: ComposeConfig | None = None,
    scene: Scene | None = None,
    bare_arms: BareArms | None = None,
) -> Composite:
    """Composes the try-on image.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        warped: the garment in the photo's frame.
        agnostic: (H, W) bool, the pixels that may change.
        category: the category tried on.
        scene: ``prepare_scene``'s result for these inputs; worked out here when None.
        bare_arms: ``find_bare_arms``' result for them (tops and dresses); worked out
            here when None.

    Returns:
        The composite; outside ``agnostic`` it equals ``person`` exactly.
    """
    cfg = cfg or ComposeConfig()
    scene = scene or prepare_scene(person, body, agnostic, category, cfg=cfg)
    box = scene.box
    if box is None:
        return Composite(
            person.copy(), np.ones(agnostic.shape, np.float32), np.zeros_like(agnostic)
        )
    old_garment = scene.old_garment
    old = old_garment.mask
    shading = scene.shading
    alpha = warped.alpha.copy()
    skin_zone = np.zeros_like(old)
    if category is not Category.LOWER:
        # Below a sleeve's end the arm is in front of the top's body: keep bare skin
        # where the photo has it and paint shaded skin where an old sleeve covered it.
        bare_arms = bare_arms or find_bare_arms(body, warped)
        arms = bare_arms.region & old
        alpha[arms & ~bare_arms.sleeves] = 0.0
        bare = mostly_bare_parts(scene.arm_skin & arms, arms)
        old = old & ~bare & ~scene.bare_neck
        skin_zone = (bare_arms.limbs & old & ~bare) | (scene.covered_neck & ~bare)
    covered = alpha > 0.5
    hole = old & ~covered
    base = fill_hole(
        person,
        hole,
        skin_zone & hole,
        shading,
        scene,
        neighbour_below=category is not Category.LOWER,
        bare_arms=bare_arms,
    )
    # Blend only inside the mask's bounding box: nothing else may change.
    a = alpha[box] * scene.weight
    a3 = cv2.merge([a, a, a])
    garment = apply_gain(warped.image[box], scene.gain[box])
    below = base[box].astype(np.float32)
    # Convex combinations of values in [0, 255]: rounding needs no clipping, and where
    # a is 0 (everywhere outside the mask) the base comes back exactly.
    blended = below + a3 * (garment - below)
    image = base
    image[box] = (blended + 0.5).astype(np.uint8)
    painted = _painted_parts(skin_zone & hole, bare_arms, scene, body.person_mask.shape[0])
    return Composite(image=image, shading=shading, fill_mask=hole, painted=painted)


PAINTED_SHARE = 0.002
"""Painted skin of a part over this share of the photo's height squared is reported."""


def _painted_parts(
    painted: Mask, bare_arms: BareArms | None, scene: Scene, height: int
) -> tuple[str, ...]:
    least = PAINTED_SHARE * height * height
    parts = []
    if bare_arms is not None:
        right = painted & bare_arms.right_limb
        left = painted & bare_arms.limbs & ~bare_arms.right_limb
        parts += [("right arm", right), ("left arm", left)]
    parts.append(("neck", painted & scene.neck_zone))
    return tuple(name for name, where in parts if np.count_nonzero(where) > least)
