"""Compose: put the warped garment into the photo, lit like the photo.

* Shading (``shading``): the photo's light and folds inside the old garment, with the
  old garment's own colours divided out.
* Occlusion: hands, head and hair are outside the agnostic mask, so they stay in front;
  bare forearms lying over the torso stay in front of a new top's body (``arms``).
* Fill (``fill``): old-garment pixels the new garment leaves uncovered become skin on
  the arms and neck and background elsewhere (the ``scene`` continues it).
* Seams (``composite``): the garment fades out over a few pixels inside the agnostic
  mask's edge, and every pixel outside the mask is copied from the input, bit for bit.
"""

from tryon.compose.arms import BareArms, find_bare_arms
from tryon.compose.composite import Composite, compose
from tryon.compose.config import ComposeConfig
from tryon.compose.scene import Scene, prepare_scene

__all__ = [
    "BareArms",
    "ComposeConfig",
    "Composite",
    "Scene",
    "compose",
    "find_bare_arms",
    "prepare_scene",
]
