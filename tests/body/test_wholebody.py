"""The whole-body pose record and its MediaPipe fallback (``tryon.body.wholebody``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.photos import FULL_BODY
from tryon import TryOn
from tryon.body.wholebody import wholebody_from_analysis
from tryon.fashn.raster import JOINT_GREYS, draw_pose_raster
from tryon.types import MEDIAPIPE_FOR_OPENPOSE, BodyAnalysis, BodyKeypoints, Joint, WholeBodyPose


def analysis(points: np.ndarray, visibility: np.ndarray, size: tuple[int, int]) -> BodyAnalysis:
    """A body analysis holding only keypoints (33 MediaPipe points in pixels)."""
    mask = np.zeros(size, bool)
    return BodyAnalysis(
        keypoints=BodyKeypoints(points.astype(np.float32), visibility.astype(np.float32), size),
        person_mask=mask,
        face_mask=mask,
        head_mask=mask,
        hands_mask=mask,
        skin_lab=np.zeros(3, np.float32),
    )


def test_a_blank_pose_has_no_point() -> None:
    pose = WholeBodyPose.blank()
    assert pose.source == "none"
    assert pose.body.shape == (18, 2) and pose.hands.shape == (2, 21, 2)
    assert pose.face.shape == (68, 2)
    for scores in (pose.body_scores, pose.hand_scores, pose.face_scores):
        assert scores.dtype == np.float32 and not scores.any()


def test_a_pose_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"WholeBodyPose.hands has shape \(21, 2\), not"):
        replace(WholeBodyPose.blank(), hands=np.zeros((21, 2)))
    with pytest.raises(ValueError, match="body_scores"):
        replace(WholeBodyPose.blank(), body_scores=np.zeros(17, np.float32))


def test_mediapipe_points_map_to_openpose_18() -> None:
    h, w = 400, 200
    points = np.stack([np.arange(33) * 5.0, 100 + np.arange(33) * 2.0], -1)
    visibility = np.linspace(0.5, 1.0, 33)
    pose = wholebody_from_analysis(analysis(points, visibility, (h, w)))
    assert pose.source == "mediapipe"
    for joint, index in enumerate(MEDIAPIPE_FOR_OPENPOSE):
        if index < 0:
            continue
        np.testing.assert_allclose(pose.body[joint], points[index] / (w, h), err_msg=str(joint))
        assert pose.body_scores[joint] == np.float32(visibility[index])
    np.testing.assert_allclose(pose.body[Joint.NECK], (points[11] + points[12]) / 2 / (w, h))
    assert pose.body_scores[Joint.NECK] == 1.0
    assert not pose.hand_scores.any() and not pose.face_scores.any()


def test_a_point_outside_the_photo_scores_0_and_a_shaky_shoulder_drops_the_neck() -> None:
    points = np.full((33, 2), 50.0)
    points[27] = (50, 120)  # the left ankle, below a 100 px photo
    visibility = np.full(33, 0.9)
    visibility[12] = 0.29  # the right shoulder
    pose = wholebody_from_analysis(analysis(points, visibility, (100, 100)))
    assert pose.body_scores[Joint.L_ANKLE] == 0
    assert pose.body_scores[Joint.NECK] == 0
    assert pose.body_scores[Joint.L_SHOULDER] == np.float32(0.9)


@pytest.fixture(scope="module", params=FULL_BODY, ids=lambda p: p.name)
def photo_pose(tryon: TryOn, request: pytest.FixtureRequest) -> tuple[WholeBodyPose, BodyAnalysis]:
    """The fallback's pose of each full-body photo, and the analysis it came from."""
    body = tryon.prepare_person(request.param).body
    return wholebody_from_analysis(body), body


def test_on_a_photo_the_body_is_where_a_body_is(
    photo_pose: tuple[WholeBodyPose, BodyAnalysis],
) -> None:
    pose, body = photo_pose
    assert pose.source == "mediapipe"
    seen = pose.body_scores > 0.3
    for joint in (Joint.NOSE, Joint.NECK, Joint.R_SHOULDER, Joint.L_SHOULDER):
        assert seen[joint], joint.name
    xy = pose.body
    # Facing the camera: the right shoulder on the image's left, the neck between them.
    assert xy[Joint.R_SHOULDER, 0] < xy[Joint.NECK, 0] < xy[Joint.L_SHOULDER, 0]
    assert xy[Joint.NOSE, 1] < xy[Joint.NECK, 1] < xy[Joint.R_HIP, 1] < xy[Joint.R_KNEE, 1]
    assert abs(xy[Joint.NECK, 1] - xy[Joint.R_SHOULDER, 1]) < 0.05
    # The same points as the analysis's OpenPose-18 rows, normalised.
    h, w = body.keypoints.image_size
    rows = body.keypoints.openpose18()
    visible = rows[:, 2] > 0
    np.testing.assert_allclose(xy[visible] * (w, h), rows[visible, :2], atol=1e-3)
    assert (xy[seen] >= 0).all() and (xy[seen] < 1).all()


def test_on_a_photo_the_raster_shows_the_neck(
    photo_pose: tuple[WholeBodyPose, BodyAnalysis],
) -> None:
    pose, _ = photo_pose
    raster = draw_pose_raster(pose, 864, 482)
    x, y = (pose.body[Joint.NECK] * (482, 864)).astype(int)
    assert raster[y, x] == JOINT_GREYS[Joint.NECK]
    assert (raster > 0).mean() > 0.005  # limbs and joints, not a few dots
