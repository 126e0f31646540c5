"""Scenery inpainting ops: trend fill, fine detail, reflected texture."""

from __future__ import annotations

import numpy as np
import pytest

from tryon.ops.fill import push_pull_fill_float
from tryon.ops.inpaint import (
    fine_detail,
    inpaint_boxes,
    reflect_texture,
    scanline_fill,
    trend_fill,
)


def test_trend_fill_continues_a_linear_gradient_exactly_and_keeps_known_pixels() -> None:
    y, x = np.mgrid[0:60, 0:80]
    image = np.stack([40 + 2 * x, 30 + y, 200 - x - y], -1).astype(np.uint8)
    known = np.ones((60, 80), bool)
    known[15:45, 20:60] = False
    out = trend_fill(image, known)
    assert out.dtype == np.float32
    assert np.array_equal(out[known], image[known].astype(np.float32))
    assert np.abs(out[~known] - image[~known]).max() < 0.5


def test_trend_fill_falls_back_to_local_colours_on_a_scene_it_does_not_fit() -> None:
    image = np.zeros((60, 80, 3), np.uint8)
    image[:30] = (200, 200, 200)  # a wall ...
    image[30:] = (150, 90, 30)  # ... above a floor
    rng = np.random.default_rng(0)
    image[:30] = np.clip(image[:30] + rng.normal(0, 30, (30, 80, 3)), 0, 255).astype(np.uint8)
    known = np.ones((60, 80), bool)
    known[5:20, 30:50] = False  # a hole in the wall
    out = trend_fill(image, known)
    assert np.abs(out[~known].mean(0) - image[:30][known[:30]].mean(0)).max() < 12


def test_trend_fill_rejects_wrong_input() -> None:
    with pytest.raises(ValueError, match="no known pixel"):
        trend_fill(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match="shape"):
        trend_fill(np.zeros((8, 8, 3), np.uint8), np.ones((8, 9), bool))


def test_push_pull_fill_float_keeps_signs_and_known_values() -> None:
    values = np.full((20, 30, 3), -7.5, np.float32)
    known = np.ones((20, 30), bool)
    known[5:15, 5:25] = False
    values[~known] = 99.0
    out = push_pull_fill_float(values, known)
    assert np.allclose(out, -7.5, atol=1e-4)


def test_fine_detail_is_zero_on_a_flat_image_and_off_known() -> None:
    image = np.full((30, 30, 3), 77, np.uint8)
    known = np.ones((30, 30), bool)
    known[10:20, 10:20] = False
    detail = fine_detail(image, known, 2.0)
    assert np.abs(detail).max() < 0.6 and (detail[~known] == 0).all()


def test_reflect_texture_mirrors_stripes_across_the_edge() -> None:
    detail = np.zeros((40, 60, 3), np.float32)
    detail[:, ::4] = 10.0  # vertical stripes
    known = np.ones((40, 60), bool)
    known[:, 30:] = False
    out = reflect_texture(detail, known, ~known, period=50)
    # The pixel k to the right of the edge takes the one k (+1) to its left.
    for k in range(1, 12):
        assert np.array_equal(out[20, 29 + k], detail[20, 29 - k])
    assert (out[:, :30] == 0).all()


def test_reflect_texture_rejects_wrong_input() -> None:
    detail = np.zeros((8, 8, 3), np.float32)
    known = np.ones((8, 8), bool)
    with pytest.raises(ValueError, match="period"):
        reflect_texture(detail, known, ~known, 0)
    with pytest.raises(ValueError, match="shapes"):
        reflect_texture(detail, known, np.ones((8, 7), bool), 4)


def test_scanline_fill_interpolates_each_row_between_its_known_ends() -> None:
    values = np.zeros((5, 11, 1), np.float32)
    values[:, 0] = 0.0
    values[:, 10] = 100.0
    known = np.zeros((5, 11), bool)
    known[:, 0] = known[:, 10] = True
    out = scanline_fill(values, known)
    assert np.allclose(out[2, :, 0], np.arange(11) * 10.0, atol=1e-3)


def test_scanline_fill_copies_the_one_known_side_and_leaves_empty_rows_unknown() -> None:
    values = np.full((3, 6, 1), 7.0, np.float32)
    known = np.zeros((3, 6), bool)
    known[0, 0] = True  # row 0: only a left end
    known[1, 5] = True  # row 1: only a right end
    out = scanline_fill(values, known, sigma=0.5)
    assert np.allclose(out[0, :, 0], 7.0)
    assert np.allclose(out[1, :, 0], 7.0)
    assert np.isnan(out[2]).all()


def test_inpaint_boxes_paints_only_the_boxes_from_the_known_pixels() -> None:
    y, x = np.mgrid[0:60, 0:80]
    image = np.stack([60 + x, 40 + y, 90 + x // 2], -1).astype(np.uint8)
    known = np.ones((60, 80), bool)
    known[:, 70:] = False  # e.g. the backdrop beside a garment
    spoiled = image.copy()
    spoiled[20:30, 30:45] = 255  # a white label on a gradient
    out = inpaint_boxes(spoiled, known, ((30, 20, 45, 30),))
    assert np.abs(out[20:30, 30:45].astype(int) - image[20:30, 30:45]).max() <= 2
    outside = np.ones((60, 80), bool)
    outside[20:30, 30:45] = False
    assert np.array_equal(out[outside], spoiled[outside])
    assert np.array_equal(spoiled[20:30, 30:45], np.full((10, 15, 3), 255))  # not in place


def test_inpaint_boxes_without_boxes_or_known_pixels_changes_nothing() -> None:
    image = np.full((20, 20, 3), 128, np.uint8)
    assert inpaint_boxes(image, np.ones((20, 20), bool), ()) is image
    out = inpaint_boxes(image, np.zeros((20, 20), bool), ((5, 5, 10, 10),))
    assert np.array_equal(out, image)
