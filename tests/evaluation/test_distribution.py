"""FID and KID as clean-fid computes them: known values on synthetic features."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from tests.evaluation.tiny import TinyFeatures
from tryon.evaluation.distribution import (
    clean_resize,
    extract_features,
    frechet_distance,
    kernel_distance,
)


def test_clean_resize_keeps_flat_images_flat_and_is_not_quantised() -> None:
    image = np.full((100, 60, 3), 37, np.uint8)
    out = clean_resize(image, 299)
    assert out.shape == (299, 299, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 37, atol=1e-3)
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8)[None, :, None], (64, 1, 3))
    resized = clean_resize(ramp, 299)
    assert not np.allclose(resized, np.round(resized))  # float values, as clean mode
    assert resized.min() >= 0 and resized.max() <= 255


def test_fid_is_the_squared_mean_shift_for_equal_covariances() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), abs=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_two_known_gaussians() -> None:
    # 1-D: FID = (m1 - m2)^2 + s1^2 + s2^2 - 2 s1 s2.
    a = np.array([[-1.0], [1.0]])  # mean 0, sample variance 2
    b = np.array([[1.0], [5.0]])  # mean 3, sample variance 8
    assert frechet_distance(a, b) == pytest.approx(9 + 2 + 8 - 2 * 4, abs=1e-9)
    with pytest.raises(ValueError, match="two images"):
        frechet_distance(a[:1], b)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    same = kernel_distance(a, b, subsets=20)
    shifted = kernel_distance(a, b + 1.0, subsets=20)
    assert abs(same) < 0.01 and shifted > 10 * abs(same) + 0.05
    assert kernel_distance(a, b, subsets=20, seed=3) == kernel_distance(a, b, subsets=20, seed=3)


def test_kid_known_value_for_fixed_points() -> None:
    # One subset of both whole sets (m = 2, d = 1): the unbiased MMD written out.
    a, b = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])

    def k(x: float, y: float) -> float:
        return (x * y + 1) ** 3

    within = 2 * k(2, 3) + 2 * k(0, 1)  # off-diagonal terms of both sets
    cross = sum(k(x, y) for x in (2, 3) for y in (0, 1))
    expected = (within / 1 - cross * 2 / 2) / 2
    assert kernel_distance(a, b, subsets=1) == pytest.approx(expected)


def test_features_with_a_tiny_network() -> None:
    images = [np.full((40, 30, 3), v, np.uint8) for v in (0, 128, 255)]
    features = extract_features(iter(images), TinyFeatures(), batch=2)
    assert features.shape == (3, 8) and features.dtype == np.float64
    with pytest.raises(ValueError, match="no images"):
        extract_features(iter([]), TinyFeatures())


def test_fid_with_fewer_images_than_dimensions_matches_the_matrix_square_root() -> None:
    # The small-sample path (a nuclear norm) against clean-fid's (scipy's sqrtm).
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 40)), rng.normal(0.3, 1.2, size=(35, 40))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(0) - b.mean(0)
    root = np.real(linalg.sqrtm(s1 @ s2))
    expected = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
