"""Whole-body keypoint sets for the raster tests and the parity benchmark."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tryon.types import WholeBodyPose


def random_pose(seed: int) -> WholeBodyPose:
    """Points in [-0.1, 1.1] (partly outside the photo), scores in [0, 1] with a tenth
    of them float32 0.3 (the threshold)."""
    rng = np.random.default_rng(seed)

    def scores(shape: tuple[int, ...]) -> np.ndarray:
        values = rng.uniform(0, 1, shape).astype(np.float32)
        values[rng.uniform(0, 1, shape) < 0.1] = np.float32(0.3)
        return values

    return WholeBodyPose(
        body=rng.uniform(-0.1, 1.1, (18, 2)),
        body_scores=scores((18,)),
        hands=rng.uniform(-0.1, 1.1, (2, 21, 2)),
        hand_scores=scores((2, 21)),
        face=rng.uniform(-0.1, 1.1, (68, 2)),
        face_scores=scores((68,)),
        source="dwpose",
    )


def pose_with(
    part: str, points: dict[int, tuple[float, float]], score: float = 0.9
) -> WholeBodyPose:
    """A pose with only the given points of ``part`` ("body" or "face"; normalised
    (x, y) by index), all scoring ``score``."""
    pose = WholeBodyPose.blank()
    scores_name = "body_scores" if part == "body" else f"{part}_scores"
    xy, scores = getattr(pose, part).copy(), getattr(pose, scores_name).copy()
    for index, point in points.items():
        xy[index], scores[index] = point, score
    return replace(pose, source="dwpose", **{part: xy, scores_name: scores})
