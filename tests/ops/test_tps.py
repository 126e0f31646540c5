"""Thin-plate spline laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tryon.ops.tps import dense_backward_map, fit_tps

coords = st.floats(-500, 500, allow_nan=False, allow_infinity=False)


def control_points(count: int) -> st.SearchStrategy[np.ndarray]:
    """``count`` (x, y) points, each coordinate drawn (no shared fill value), so that few
    draws repeat a point and have to be discarded by ``assume``."""
    return arrays(np.float64, (count, 2), elements=coords, fill=st.nothing())


def _spread(points: np.ndarray) -> bool:
    d = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.eye(len(points)) * 1e9
    return bool(d.min() > 1.0)


@settings(max_examples=60, deadline=None)
@given(control_points(6))
def test_identity_when_source_equals_target(points: np.ndarray) -> None:
    assume(_spread(points))
    spline = fit_tps(points, points)
    probe = np.array([[0.0, 0.0], [123.0, -45.0], [300.0, 300.0]])
    np.testing.assert_allclose(spline.transform(probe), probe, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(control_points(7), arrays(np.float64, (7, 2), elements=coords))
def test_interpolates_control_points_exactly(source: np.ndarray, target: np.ndarray) -> None:
    assume(_spread(source))
    spline = fit_tps(source, target)
    np.testing.assert_allclose(
        spline.transform(source), target, atol=1e-5 * (1 + np.abs(target).max())
    )


def test_affine_maps_are_reproduced_everywhere() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (10, 2))
    a = np.array([[1.2, 0.3], [-0.2, 0.9]])
    dst = src @ a.T + [5.0, -7.0]
    probe = rng.uniform(-50, 150, (20, 2))
    np.testing.assert_allclose(
        fit_tps(src, dst).transform(probe), probe @ a.T + [5.0, -7.0], atol=1e-6
    )


def test_dense_map_matches_direct_evaluation() -> None:
    src = np.array([[0, 0], [100, 0], [0, 80], [100, 80], [50, 40]], float)
    dst = src + np.array([[3, 2], [-4, 1], [2, -3], [0, 5], [6, 6]], float)
    spline = fit_tps(src, dst)
    mx, my = dense_backward_map(spline, 60, 90, step=8, origin=(10, 5))
    ys, xs = np.mgrid[5:65, 10:100]
    direct = spline.transform(np.stack([xs, ys], -1))
    # Bilinear upsampling of the coarse grid is off by a fraction of a pixel at most.
    assert np.abs(mx - direct[..., 0]).max() < 0.25
    assert np.abs(my - direct[..., 1]).max() < 0.25


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (np.zeros((3, 3)), np.zeros((3, 3)), "need two"),
        (np.zeros((3, 2)), np.zeros((4, 2)), "need two"),
        (np.array([[0, 0], [1, np.nan]]), np.zeros((2, 2)), "finite"),
    ],
)
def test_rejects_bad_control_points(source: np.ndarray, target: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_tps(source, target)


def test_fast_transform_is_within_a_tenth_of_a_pixel_of_the_precise_one() -> None:
    rng = np.random.default_rng(3)
    source = rng.uniform(0, 800, (40, 2))
    target = source + rng.normal(0, 25, (40, 2))
    spline = fit_tps(source, target, regularization=1e-3)
    probe = rng.uniform(-100, 900, (5000, 2))
    assert np.abs(spline.transform(probe, fast=True) - spline.transform(probe)).max() < 0.1
