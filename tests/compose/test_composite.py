"""The composite on the real photos: every pixel outside the agnostic mask is the
input's, and the garment keeps its colour under the photo's shading."""

from __future__ import annotations

import numpy as np
import pytest

from tests.photos import WARP_PAIRS as PAIRS
from tryon.compose.arms import ROUNDNESS_DARKEST, limb_roundness
from tryon.imageio import load_image
from tryon.ops.color import delta_e76, rgb_to_lab


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_output_keeps_size_and_every_pixel_outside_the_mask(warp_results, person, garment) -> None:
    r = warp_results[(person.name, garment.name)]
    original = load_image(person)
    assert r.image.shape == original.shape and r.image.dtype == np.uint8
    assert r.agnostic_mask.shape == original.shape[:2]
    outside = ~r.agnostic_mask
    assert np.array_equal(r.image[outside], original[outside])
    # And the try-on did something: a good share of the mask changed.
    changed = np.any(r.image != original, axis=-1) & r.agnostic_mask
    assert changed.sum() > 0.3 * r.agnostic_mask.sum()


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_garment_colour_is_kept(warp_results, person, garment) -> None:
    r = warp_results[(person.name, garment.name)]
    shown = r.warp_details.warped.alpha > 0.99
    shown &= r.agnostic_mask & (r.image != r.person).any(-1)
    shading = r.warp_details.shading[shown][:, None]
    # Undo the shading in linear light, then compare mean colours.
    linear = (r.image[shown].astype(np.float32) / 255) ** 2.2 / np.maximum(shading, 1e-3)
    unshaded = np.clip(linear, 0, 1) ** (1 / 2.2)
    result_lab = rgb_to_lab(unshaded.reshape(-1, 1, 3)).reshape(-1, 3).mean(0)
    photo_lab = rgb_to_lab(r.garment.image[r.garment.mask]).mean(0)
    assert delta_e76(result_lab, photo_lab) <= 6.0


def test_limb_roundness_where_the_limb_fills_the_window() -> None:
    # A limb wider than the window around the pixels asked for: no edge inside the
    # window (the distance transform found none and the filter size overflowed).
    limbs = np.ones((60, 60), bool)
    where = np.zeros((60, 60), bool)
    where[20:40, 20:40] = True
    light = limb_roundness(limbs, where)
    assert light.shape == (400,)
    assert np.all((light >= ROUNDNESS_DARKEST) & (light <= 1.0))
    # Brightest in the middle, darker towards the window's edges.
    grid = light.reshape(20, 20)
    assert grid[10, 10] > grid[0, 0]
