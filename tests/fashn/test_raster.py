"""The fashn engine's grey pose raster: known values of the reference's renderer.

Every expected value here was drawn by ``draw_pose_raster`` after
``benchmarks/parity_fashn_pose.py`` found it equal, pixel for pixel, to the reference's
``draw_pose(..., grayscale=True)`` (random and MediaPipe keypoint sets, and the rasters
of DWPose's output). A change to any of them changes the model's input.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from tests.fashn.poses import pose_with, random_pose
from tryon.fashn.raster import JOINT_GREYS, LIMBS, draw_pose_raster
from tryon.types import Joint, WholeBodyPose

LIMB_GREYS = (12, 19, 27, 34, 42, 50, 58, 66, 73, 81, 89, 97, 105, 112, 120, 128, 136)
"""``int(linspace(20, 240, 18)[limb]) * 0.6``, truncated: fashn.md section 3.4."""


def body(points: dict[int, tuple[float, float]], score: float = 0.9) -> WholeBodyPose:
    return pose_with("body", points, score)


def face(points: dict[int, tuple[float, float]], score: float = 0.9) -> WholeBodyPose:
    return pose_with("face", points, score)


def test_a_blank_pose_is_a_black_canvas() -> None:
    raster = draw_pose_raster(WholeBodyPose.blank(), 864, 576)
    assert raster.shape == (864, 576) and raster.dtype == np.uint8
    assert not raster.any()


def test_the_joint_greys_are_the_references() -> None:
    assert JOINT_GREYS[Joint.NOSE] == 227
    assert JOINT_GREYS[Joint.NECK] == 26
    assert (JOINT_GREYS[Joint.R_EYE], JOINT_GREYS[Joint.L_EYE]) == (244, 255)
    # fmt: off
    assert JOINT_GREYS == (
        227, 26, 26, 58, 75, 41, 92, 109, 126, 143, 159, 176, 193, 210, 244, 255, 255, 255
    )
    # fmt: on


@pytest.mark.parametrize("limb", range(len(LIMBS)))
def test_each_limb_has_its_grey_and_its_joints_theirs(limb: int) -> None:
    a, b = LIMBS[limb]
    raster = draw_pose_raster(body({a: (0.2, 0.3), b: (0.8, 0.7)}), 200, 100)
    assert raster[100, 50] == LIMB_GREYS[limb]  # the middle of the limb
    assert raster[60, 20] == JOINT_GREYS[a]  # int(0.3 * 200), int(0.2 * 100)
    assert raster[140, 80] == JOINT_GREYS[b]
    assert set(np.unique(raster)) == {0, LIMB_GREYS[limb], JOINT_GREYS[a], JOINT_GREYS[b]}


def test_a_limb_is_an_ellipse_four_pixels_wide_each_side() -> None:
    pose = body({Joint.R_SHOULDER: (0.2, 0.5), Joint.R_ELBOW: (0.8, 0.5)})
    raster = draw_pose_raster(pose, 21, 100)
    limb, shoulder, elbow = LIMB_GREYS[2], JOINT_GREYS[2], JOINT_GREYS[3]
    assert raster[:, 50].tolist() == [0] * 6 + [limb] * 9 + [0] * 6  # rows 6 to 14
    # Along the limb: the circles (radius 4) cover the ellipse's ends (columns 20, 80).
    assert raster[10].tolist() == ([0] * 16 + [shoulder] * 9 + [limb] * 51 + [elbow] * 9 + [0] * 15)
    # Four rows up the ellipse narrows: columns 36 to 64, and the circles' tops.
    assert np.flatnonzero(raster[6]).tolist() == [20, *range(36, 65), 80]


def test_a_body_point_counts_above_0_3() -> None:
    points = {Joint.NOSE: (0.5, 0.5)}
    assert not draw_pose_raster(body(points, score=0.299), 40, 40).any()
    assert not draw_pose_raster(body(points, score=0.0), 40, 40).any()
    assert draw_pose_raster(body(points, score=0.301), 40, 40)[20, 20] == 227
    # A float32 0.3 is 0.30000001: above the threshold, as in the reference's float64.
    assert draw_pose_raster(body(points, score=0.3), 40, 40)[20, 20] == 227


def test_a_limb_needs_both_joints() -> None:
    pose = body({Joint.NECK: (0.5, 0.2), Joint.R_HIP: (0.5, 0.8)})
    scores = pose.body_scores.copy()
    scores[Joint.R_HIP] = 0.1
    raster = draw_pose_raster(replace(pose, body_scores=scores), 100, 100)
    assert set(np.unique(raster)) == {0, JOINT_GREYS[Joint.NECK]}


def test_pixels_are_truncated_towards_zero() -> None:
    # 0.1099 * 100 = 10.99: drawn at 10, not 11.
    raster = draw_pose_raster(body({Joint.NOSE: (0.1099, 0.1099)}), 100, 100)
    rows, cols = np.nonzero(raster)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (6, 14, 6, 14)
    # -0.009 * 100 = -0.9: drawn at 0 (int() truncates), half a circle.
    raster = draw_pose_raster(body({Joint.NOSE: (-0.009, 0.5)}), 100, 100)
    assert np.nonzero(raster)[1].max() == 4


FACE_DOT = [
    "...........",
    "...........",
    ".....#.....",
    "...#####...",
    "...#####...",
    "..#######..",
    "...#####...",
    "...#####...",
    ".....#.....",
    "...........",
    "...........",
]
"""A face point at (5, 5): OpenCV's filled circle of radius 3, grey 200."""


def test_a_face_point_is_a_grey_200_dot() -> None:
    raster = draw_pose_raster(face({0: (5.5 / 11, 5.5 / 11)}), 11, 11)
    expected = np.array([[200 if c == "#" else 0 for c in row] for row in FACE_DOT], np.uint8)
    np.testing.assert_array_equal(raster, expected)


def test_a_face_point_in_the_first_row_or_column_or_below_0_3_is_not_drawn() -> None:
    assert not draw_pose_raster(face({0: (0.009, 0.5)}), 100, 100).any()  # column 0
    assert not draw_pose_raster(face({0: (0.5, 0.009)}), 100, 100).any()  # row 0
    assert not draw_pose_raster(face({0: (0.5, 0.5)}, score=0.2999), 100, 100).any()
    assert draw_pose_raster(face({0: (0.011, 0.5)}), 100, 100)[50, 1] == 200  # column 1
    # Hands and face keep a point scoring exactly 0.3 (the body needs more).
    assert draw_pose_raster(face({0: (0.5, 0.5)}, score=0.3), 100, 100)[50, 50] == 200


def test_a_hand_has_grey_bones_and_240_points() -> None:
    pose = WholeBodyPose.blank()
    hands, scores = pose.hands.copy(), pose.hand_scores.copy()
    hands[1, 0], hands[1, 1] = (0.2, 0.5), (0.8, 0.5)  # the right hand's wrist and thumb base
    scores[1, :2] = 0.9
    raster = draw_pose_raster(replace(pose, hands=hands, hand_scores=scores), 40, 100)
    assert raster[20, 50] == 160  # the first bone's grey
    assert raster[20, 20] == raster[20, 80] == 240
    assert set(np.unique(raster)) == {0, 160, 240}
    assert (raster[:, 50] > 0).sum() == 3  # a line 2 thick: three rows with anti-aliasing off


RASTER_SHA256 = {
    0: "da2a1198b3b71a7f40f02c554269813c0980e01c27372c9f5bf747a2085e5fdd",
    1: "699ed7bd5eb5d4aa8cc9c2d8104e191e66e929cfbf734f5cb311dc16234db31e",
    2: "7dcaa28ef2ed848eda044267b050688d420d376f8d1ca7aa117fc88def5db9d2",
}
"""sha256 of the rasters of ``random_pose(seed)`` at 864 x 576, all parts drawn."""


@pytest.mark.parametrize("seed", sorted(RASTER_SHA256))
def test_whole_poses_draw_the_references_pixels(seed: int) -> None:
    raster = draw_pose_raster(random_pose(seed), 864, 576)
    assert hashlib.sha256(raster.tobytes()).hexdigest() == RASTER_SHA256[seed]


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-1, 5)])
def test_a_raster_needs_a_positive_size(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="positive size"):
        draw_pose_raster(WholeBodyPose.blank(), *size)
