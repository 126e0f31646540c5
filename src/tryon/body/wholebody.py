"""Whole-body keypoints for the ``fashn`` engine when DWPose's weights are not there.

``wholebody_from_analysis`` maps the MediaPipe pose the body analysis already ran onto
the OpenPose-18 body of a ``WholeBodyPose`` (``tryon.types.MEDIAPIPE_FOR_OPENPOSE``: nose
0, neck the shoulders' midpoint, shoulders, elbows, wrists 12/11, 14/13, 16/15, hips,
knees, ankles 24/23, 26/25, 28/27, eyes 5/2, ears 8/7). Each joint's score is MediaPipe's
visibility, 0 outside the photo; the neck scores 1 when both shoulders score above 0.3,
else 0, as DWPose's neck does.

Hands and face are left out (score 0): the pose model has no 21-point hands, and the
analysis keeps only the face mesh's outline, not the 468 points an (approximate) map to
the 68-point face would need. The raster then lacks them, and the joints sit where
MediaPipe puts them, not DWPose: the model was trained on DWPose rasters, so the result
is not the reference's (its quality effect is not measured).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tryon.types import MEDIAPIPE_FOR_OPENPOSE, BodyAnalysis, WholeBodyPose

NECK_SHOULDER_SCORE = 0.3
"""Both shoulders must score above it for the neck to count (DWPose's rule)."""


def wholebody_from_analysis(analysis: BodyAnalysis) -> WholeBodyPose:
    """The person's body keypoints from the MediaPipe pose, as a ``WholeBodyPose``.

    Args:
        analysis: the body analysis of the photo the raster is drawn for (or of a copy
            of it at another size: the points are normalised).

    Returns:
        The body in OpenPose-18 order, normalised to the photo; no hands or face;
        ``source`` "mediapipe".
    """
    keypoints = analysis.keypoints
    h, w = keypoints.image_size
    points = keypoints.mediapipe.astype(np.float64) / np.array([float(w), float(h)])
    inside = (points >= 0).all(1) & (points < 1).all(1)
    visibility = np.where(inside, keypoints.visibility, 0).astype(np.float32)
    body = np.zeros((18, 2))
    scores = np.zeros(18, np.float32)
    for joint, index in enumerate(MEDIAPIPE_FOR_OPENPOSE):
        if index >= 0:
            body[joint], scores[joint] = points[index], visibility[index]
            continue
        body[joint] = (points[11] + points[12]) / 2
        shoulders = visibility[[11, 12]].astype(np.float64)
        scores[joint] = float((shoulders > NECK_SHOULDER_SCORE).all())
    return replace(WholeBodyPose.blank(), body=body, body_scores=scores, source="mediapipe")
