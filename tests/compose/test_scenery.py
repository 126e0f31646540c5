"""The scenery continued over the old garment (``continue_scenery``): what a gap the new
garment leaves shows."""

from __future__ import annotations

import numpy as np
import pytest

from tryon.compose.scene import continue_scenery
from tryon.ops import masks as M
from tryon.types import Image, Mask

H, W = 480, 360


def _person_and_region() -> tuple[Mask, Mask]:
    """A torso-like person in the middle and the old garment (the region) on it."""
    person = M.draw_ellipse((H, W), (W / 2, H * 0.55), (W * 0.22, H * 0.38), 0)
    region = person & M.draw_ellipse((H, W), (W / 2, H * 0.6), (W * 0.24, H * 0.25), 0)
    return person, region


def _glow() -> Image:
    """A studio sweep: a grey-blue backdrop brightening towards the middle (float exact
    quadratic, then rounded)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    r2 = ((x - W / 2) / W) ** 2 + ((y - H / 2) / H) ** 2
    base = 215.0 - 90.0 * r2
    return np.clip(np.round(np.stack([base, base + 4, base + 14], -1)), 0, 255).astype(np.uint8)


def _gravel(seed: int = 0) -> Image:
    """A beige backdrop with grain a few pixels wide (seeded)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (H // 3 + 1, W // 3 + 1))
    grain = np.kron(noise, np.ones((3, 3)))[:H, :W] * 22.0
    colour = np.array([180.0, 172.0, 140.0])
    return np.clip(np.round(colour + grain[..., None]), 0, 255).astype(np.uint8)


def _dress(backdrop: Image, person: Mask) -> Image:
    photo = backdrop.copy()
    photo[person] = (40, 60, 120)
    return photo


def _ring(region: Mask, inner: float, outer: float) -> Mask:
    """Pixels between ``inner`` and ``outer`` pixels inside ``region``'s edge."""
    return M.erode(region, inner) & ~M.erode(region, outer)


def test_pixels_outside_the_region_are_unchanged_bit_for_bit() -> None:
    person, region = _person_and_region()
    photo = _dress(_gravel(), person)
    out = continue_scenery(photo, region, person)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(out[~region], photo[~region])
    # The person's colour never leaks into the fill.
    assert np.abs(out[region].astype(int) - (40, 60, 120)).sum(-1).min() > 60


def test_an_empty_region_returns_the_photo() -> None:
    person, _ = _person_and_region()
    photo = _dress(_glow(), person)
    out = continue_scenery(photo, np.zeros((H, W), bool), person)
    assert np.array_equal(out, photo) and out is not photo


def test_the_same_inputs_give_the_same_bits() -> None:
    person, region = _person_and_region()
    photo = _dress(_gravel(3), person)
    assert np.array_equal(
        continue_scenery(photo, region, person), continue_scenery(photo, region, person)
    )


def _local_energy(image: Image, where: Mask) -> float:
    """Mean absolute difference between horizontal neighbours, over ``where``."""
    grey = image.astype(np.float32).mean(-1)
    diff = np.abs(np.diff(grey, axis=1))
    both = where[:, 1:] & where[:, :-1]
    return float(diff[both].mean())


def test_a_textured_backdrop_is_continued_with_its_texture_not_a_flat_patch() -> None:
    person, region = _person_and_region()
    backdrop = _gravel(1)
    out = continue_scenery(_dress(backdrop, person), region, person)
    # Where gaps show: the band along the old garment's edge.
    band = _ring(region, 2, 30)
    around = M.dilate(person, 30) & ~M.dilate(person, 2)
    filled, real = _local_energy(out, band), _local_energy(backdrop, around)
    assert 0.6 * real < filled < 1.4 * real, (filled, real)
    # And the same colour on average.
    assert np.abs(out[band].mean(0) - backdrop[around].mean(0)).max() < 6


def test_a_studio_glow_stays_a_smooth_gradient_with_no_pale_rim() -> None:
    person, region = _person_and_region()
    backdrop = _glow()
    out = continue_scenery(_dress(backdrop, person), region, person).astype(np.float32)
    truth = backdrop.astype(np.float32)
    band = _ring(region, 0, 40)
    # The glow carries on across the gap as it would behind the person: no plateau.
    error = np.abs(out[band] - truth[band]).mean(-1)
    assert error.mean() < 2.0 and error.max() < 6.0, (error.mean(), error.max())


def test_a_pale_rim_next_to_the_person_is_not_spread_into_the_gap() -> None:
    person, region = _person_and_region()
    backdrop = np.full((H, W, 3), (190, 194, 204), np.uint8)
    photo = _dress(backdrop, person)
    # A light fringe left by the old garment's soft edge, 4 pixels wide.
    rim = M.dilate(person, 4) & ~person
    photo[rim] = np.clip(photo[rim].astype(int) + 30, 0, 255).astype(np.uint8)
    out = continue_scenery(photo, region, person).astype(np.float32)
    band = _ring(region, 0, 12)
    excess = (out[band] - backdrop[band].astype(np.float32)).mean()
    assert excess < 3.0, excess


@pytest.mark.parametrize("size", [(6, 5), (12, 9)])
def test_tiny_photos_are_filled(size: tuple[int, int]) -> None:
    h, w = size
    photo = np.full((h, w, 3), 90, np.uint8)
    region = np.zeros((h, w), bool)
    region[2:4, 2:4] = True
    out = continue_scenery(photo, region, np.zeros((h, w), bool))
    assert (out == 90).all()
