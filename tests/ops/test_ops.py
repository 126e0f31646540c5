"""Pure image and mask operations: known values, laws and wrong input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from tryon.ops import masks as M
from tryon.ops.color import lab_to_rgb, rgb_to_lab
from tryon.ops.fill import extrude_fill, push_pull_fill


def test_fill_keeps_known_pixels_and_continues_a_flat_colour() -> None:
    image = np.zeros((37, 51, 3), np.uint8)
    image[:] = (10, 200, 90)
    known = np.ones((37, 51), bool)
    known[5:30, 8:40] = False
    image[~known] = (255, 0, 255)  # what was under the hole must not show through
    out = push_pull_fill(image, known)
    assert (out[known] == image[known]).all()
    assert (out[~known] == (10, 200, 90)).all()


def test_fill_blends_between_the_colours_around_a_gap() -> None:
    image = np.zeros((40, 90, 3), np.uint8)
    image[:, :30] = (200, 0, 0)
    image[:, 60:] = (0, 0, 200)
    known = np.ones((40, 90), bool)
    known[:, 30:60] = False
    out = push_pull_fill(image, known).astype(int)
    gap = out[:, 30:60]
    # Red fades into blue across the gap, never leaving the span of the two colours.
    assert gap[20, 0, 0] > gap[20, -1, 0] and gap[20, 0, 2] < gap[20, -1, 2]
    assert (gap[..., 1] == 0).all()
    assert (gap[..., 0] + gap[..., 2] <= 201).all()


def test_fill_from_a_single_known_pixel_fills_everything_with_it() -> None:
    image = np.zeros((9, 14, 3), np.uint8)
    image[4, 7] = (30, 60, 90)
    known = np.zeros((9, 14), bool)
    known[4, 7] = True
    assert (push_pull_fill(image, known) == (30, 60, 90)).all()


@pytest.mark.parametrize(
    ("known", "message"),
    [(np.zeros((8, 8), bool), "no known pixel"), (np.ones((8, 9), bool), "shape")],
)
def test_fill_rejects_bad_masks(known: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        push_pull_fill(np.zeros((8, 8, 3), np.uint8), known)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.3, 12.0))
def test_dilate_grows_by_exactly_the_euclidean_radius(seed: int, radius: float) -> None:
    """Small radii use a kernel, large ones a distance transform: both give the pixels
    whose distance to the mask is at most the radius."""
    # A radius within float error of a pixel's exact distance has no single answer.
    assume(abs(radius * radius - round(radius * radius)) > 1e-6)
    rng = np.random.default_rng(seed)
    mask = rng.random((30, 40)) > 0.97
    ys, xs = np.mgrid[0:30, 0:40]
    py, px = np.nonzero(mask)
    if len(py) == 0:
        assert not M.dilate(mask, radius).any()
        return
    d2 = (ys[..., None] - py) ** 2 + (xs[..., None] - px) ** 2
    expected = d2.min(-1) <= radius * radius
    assert (M.dilate(mask, radius) == expected).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(2.0, 60.0), st.integers(40, 121), st.integers(40, 121))
def test_inexact_dilate_is_within_its_tolerance(
    seed: int, radius: float, height: int, width: int
) -> None:
    """exact=False: a chamfer distance, at half resolution for large radii; every pixel
    nearer than the radius less the tolerance is in, none farther than it plus the
    tolerance, and the mask itself is kept."""
    rng = np.random.default_rng(seed)
    mask = rng.random((height, width)) > 0.995
    grown = M.dilate(mask, radius, exact=False)
    assert (grown >= mask).all()
    py, px = np.nonzero(mask)
    if len(py) == 0:
        assert not grown.any()
        return
    ys, xs = np.mgrid[0:height, 0:width]
    distance = np.sqrt(((ys[..., None] - py) ** 2 + (xs[..., None] - px) ** 2).min(-1))
    slack = 0.02 * radius + (2.0 if radius >= 16 else 0.5)
    assert grown[distance <= radius - slack].all()
    assert not grown[distance > radius + slack].any()


def test_tapered_stroke_is_as_wide_as_asked_at_each_end() -> None:
    mask = M.draw_tapered_stroke((100, 200), [(20, 50), (180, 50)], [40, 10])
    assert mask[30:71, 20].all() and not mask[29, 20] and not mask[71, 20]
    assert mask[45:56, 180].all() and not mask[43, 180] and not mask[57, 180]
    middle = mask[:, 100].sum()
    assert 22 <= middle <= 28  # halfway: (40 + 10) / 2


def test_extrude_carries_each_column_up_from_its_nearest_source_pixel() -> None:
    image = np.zeros((6, 3, 3), np.uint8)
    image[4, 0] = (10, 0, 0)
    image[5, 1] = (0, 20, 0)  # column 1: only its bottom row is a source
    image[2, 0] = (90, 90, 90)  # not a source: must be overwritten
    source = np.zeros((6, 3), bool)
    source[4, 0] = source[5, 1] = True
    out, found = extrude_fill(image, source, upward=True)
    assert (out[:5, 0] == (10, 0, 0)).all() and (out[5, 0] == 0).all()
    assert (out[:, 1] == (0, 20, 0)).all()
    assert found[:5, 0].all() and not found[5, 0] and not found[:, 2].any()
    # Downwards, the same rule mirrored.
    down, found_down = extrude_fill(image, source, upward=False)
    assert (down[4:, 0] == (10, 0, 0)).all() and not found_down[:4, 0].any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_paste_writes_through_views_exactly_where_the_mask_is_set(seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 256, (40, 50, 3), np.uint8)
    source = rng.integers(0, 256, (40, 50, 3), np.uint8)
    where = rng.random((40, 50)) < 0.3
    rows, cols = slice(int(rng.integers(0, 10)), 35), slice(3, int(rng.integers(20, 50)))
    expected = target.copy()
    expected[rows, cols][where[rows, cols]] = source[rows, cols][where[rows, cols]]
    M.paste(target[rows, cols], source[rows, cols], where[rows, cols])
    assert np.array_equal(target, expected)


def test_cielab_matches_published_values_for_bytes_and_floats() -> None:
    # sRGB primaries and greys (D65), as tabulated by colour-science references.
    rgb = np.array(
        [[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [119, 119, 119]],
        np.uint8,
    )
    expected = np.array(
        [
            [100.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [53.24, 80.09, 67.20],
            [87.73, -86.18, 83.18],
            [32.30, 79.19, -107.86],
            [50.03, 0.0, 0.0],
        ]
    )
    assert np.allclose(rgb_to_lab(rgb), expected, atol=0.02)
    assert np.allclose(rgb_to_lab(rgb.astype(np.float32) / 255), expected, atol=0.02)
    assert rgb_to_lab(rgb.reshape(2, 3, 3)).shape == (2, 3, 3)
    assert rgb_to_lab(np.zeros((0, 3), np.uint8)).shape == (0, 3)
    assert np.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb / 255, atol=2e-3)


def _random_blobs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    return ndimage.binary_opening(rng.random((h, w)) < rng.uniform(0.2, 0.8)) | (
        rng.random((h, w)) < 0.05
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_component_operations_match_whole_image_labelling(seed: int) -> None:
    """They label only the mask's box; the answers are those of labelling the photo."""
    mask = _random_blobs(seed)
    eight = np.ones((3, 3), bool)
    labels, count = ndimage.label(mask, structure=eight)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    largest = M.largest_component(mask)
    if count:  # one whole component, of the largest area (ties: any of them)
        kept = set(labels[largest]) - {0}
        assert len(kept) == 1 and np.array_equal(largest, labels == kept.pop())
        assert largest.sum() == areas[1:].max()
    else:
        assert not largest.any()
    # Holes: background not joined to the border (4-connected background, as OpenCV floods).
    outside = ndimage.label(~mask)[0]
    border = set(outside[0]) | set(outside[-1]) | set(outside[:, 0]) | set(outside[:, -1])
    holes = ~mask & ~np.isin(outside, sorted(border))
    assert np.array_equal(M.fill_holes(mask), mask | holes)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-2, max(mask.shape) + 2, (3, 2))
    hit = {
        int(labels[round(y), round(x)])
        for x, y in points
        if 0 <= round(x) < mask.shape[1] and 0 <= round(y) < mask.shape[0]
    } - {0}
    assert np.array_equal(M.component_at(mask, points), np.isin(labels, sorted(hit)))
    seeds = rng.random(mask.shape) < 0.02
    touched = set(labels[seeds & mask]) - {0}
    assert np.array_equal(M.components_touching(mask, seeds), np.isin(labels, sorted(touched)))


def test_extrude_mirrors_the_source_across_its_edge() -> None:
    # Rows 3.. are the source, each its own grey: the gap above takes them mirrored
    # (row 2 takes row 4, row 1 takes row 5), so folds carry on instead of streaking.
    image = np.zeros((8, 1, 3), np.uint8)
    image[:, 0] = np.arange(8)[:, None] * 10
    source = np.zeros((8, 1), bool)
    source[3:] = True
    out, found = extrude_fill(image, source, upward=True)
    assert found.all()
    assert out[2, 0, 0] == 40 and out[1, 0, 0] == 50 and out[0, 0, 0] == 60
    assert (out[3:] == image[3:]).all()
