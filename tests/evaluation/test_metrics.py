"""Per-image metrics: known values, identities and wrong input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tryon.evaluation import metrics as M
from tryon.types import Joint


def constant(value: int, shape: tuple[int, int] = (64, 48)) -> np.ndarray:
    return np.full((*shape, 3), value, np.uint8)


def test_ssim_of_two_flat_images_is_the_luminance_term() -> None:
    # Every window is flat, so SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 1)^2.
    a, b = 128 / 255, 64 / 255
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert M.ssim(constant(128), constant(64)) == pytest.approx(expected, abs=1e-5)
    assert expected == pytest.approx(0.80013, abs=1e-4)


def test_ssim_identity_symmetry_and_noise() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    assert M.ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    assert M.ssim(image, noisy) == pytest.approx(M.ssim(noisy, image), abs=1e-6)
    assert 0.5 < M.ssim(image, noisy) < 0.99
    with pytest.raises(ValueError, match="differ in size"):
        M.ssim(image, image[:32])


def test_psnr_known_value_and_cap() -> None:
    assert M.psnr(constant(100), constant(101)) == pytest.approx(20 * math.log10(255), abs=1e-9)
    assert M.psnr(constant(7), constant(7)) == M.PSNR_IDENTICAL
    mask = np.zeros((64, 48), bool)
    assert math.isnan(M.psnr(constant(1), constant(2), mask))


def test_changed_outside_counts_only_pixels_outside_the_mask() -> None:
    person = constant(100)
    result = person.copy()
    agnostic = np.zeros((64, 48), bool)
    agnostic[:32] = True
    result[:32] = 0  # inside: allowed
    assert M.changed_outside(result, person, agnostic) == 0.0
    result[32:40] = 100 + M.CHANGE_TOLERANCE  # within tolerance (JPEG noise)
    assert M.changed_outside(result, person, agnostic) == 0.0
    result[32:40] = 200  # 8 of the 32 rows outside
    assert M.changed_outside(result, person, agnostic) == pytest.approx(0.25)


def test_face_region_from_keypoints() -> None:
    keypoints = np.zeros((18, 3), np.float32)
    keypoints[Joint.NOSE] = (50, 40, 1)
    keypoints[Joint.R_EYE] = (45, 35, 1)
    keypoints[Joint.L_EYE] = (55, 35, 1)
    keypoints[Joint.NECK] = (50, 80, 1)
    box = M.face_region(keypoints, (200, 100))
    assert box is not None
    ys, xs = np.nonzero(box)
    # d = 40: 28 px wide around x = 50, from 24 above the nose to 14 below it.
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (36, 63, 16, 53)
    keypoints[Joint.R_EYE, 2] = keypoints[Joint.L_EYE, 2] = 0
    assert M.face_region(keypoints, (200, 100)) is None  # the nose alone is not a face


def test_garment_delta_e_measures_what_the_try_on_drew() -> None:
    garment = constant(200)
    garment_mask = np.ones((64, 48), bool)
    person = constant(30)
    agnostic = np.zeros((64, 48), bool)
    agnostic[10:40] = True
    result = person.copy()
    result[10:30] = 200  # drawn in the garment's colour; rows 30-40 left as they were
    assert M.garment_delta_e(result, person, agnostic, garment, garment_mask) == pytest.approx(
        0, abs=1e-3
    )
    result[10:30] = 150
    grey = M.rgb_to_lab(np.uint8([[200, 200, 200], [150, 150, 150]]))
    gap = float(abs(grey[0, 0] - grey[1, 0]))
    assert M.garment_delta_e(result, person, agnostic, garment, garment_mask) == pytest.approx(
        gap, abs=0.01
    )
    assert math.isnan(M.garment_delta_e(result, person, agnostic & False, garment, garment_mask))


def test_garment_delta_e_finds_the_garment_among_edge_and_background_pixels() -> None:
    # A re-drawn garment changes its own pixels and some others (edges, uncovered skin):
    # the nearest substantial colour cluster is the garment's.
    garment = constant(200)
    garment_mask = np.ones((64, 48), bool)
    person = constant(30)
    agnostic = np.ones((64, 48), bool)
    result = person.copy()
    result[:40] = 200  # 40 rows of garment colour
    result[40:52] = (250, 120, 90)  # 12 rows of skin fill
    assert M.garment_delta_e(result, person, agnostic, garment, garment_mask) == pytest.approx(
        0, abs=1e-3
    )
    result[:40] = (200, 60, 60)  # the colour went red: far from every cluster
    assert M.garment_delta_e(result, person, agnostic, garment, garment_mask) > 30


def test_colour_clusters_are_deterministic_and_cover_the_shares() -> None:
    lab = np.concatenate([np.zeros((300, 3)), np.full((100, 3), 50.0)]).astype(np.float32)
    centres, shares = M.colour_clusters(lab, 2)
    order = np.argsort(centres[:, 0])
    np.testing.assert_allclose(centres[order], [[0, 0, 0], [50, 50, 50]], atol=1e-4)
    np.testing.assert_allclose(shares[order], [0.75, 0.25])
