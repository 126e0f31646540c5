"""The pose raster FASHN VTON v1.5 is conditioned on: one grey channel on black.

The model was trained on rasters drawn by its reference renderer, so this one draws the
same pixels for the same keypoints (``benchmarks/parity_fashn_pose.py`` compares the
two). What is drawn, in this order:

* Body: 17 limbs of OpenPose-18 (its 19 without the ear-to-shoulder links), each a
  filled ellipse polygon with half-axes (length // 2, 4) along the limb, drawn with
  grey ``int(linspace(20, 240, 18)[limb])`` on a canvas of their own (a later limb
  covers an earlier one), which is then scaled by 0.6 (truncated): greys 12 to 136.
  Then every joint as a filled circle of radius 4, grey ``min(255, int(1.3 * g))``
  with ``g`` the base grey of the first limb it belongs to (nose 227, neck 26).
  A body point counts when its score is above 0.3.
* Hands (the left, then the right): 20 bones as lines 2 px thick, greys
  ``linspace(160, 220, 20)``, then the 21 points as circles of radius 4, grey 240.
* Face: the 68 points as circles of radius 3, grey 200.

A hand or face point counts when its score is at least 0.3 and both its pixel
coordinates are at least 1 (the reference takes a point at column or row 0 for a
missing one). Pixel coordinates are ``int(x * width)``, ``int(y * height)``: truncated
towards zero, computed in float64.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from tryon.types import WholeBodyPose

SCORE_THRESHOLD = 0.3
"""Body points need a score above it; hand and face points one of at least it."""

LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
)
"""The drawn limbs as pairs of OpenPose-18 joints (``Joint``), in drawing order."""

LIMB_HALF_WIDTH = 4
JOINT_RADIUS = 4
LIMB_FADE = 0.6

_BASE_GREYS = np.linspace(20, 240, 18).astype(np.uint8)
"""Grey of each limb before the fade; the 18th value is never used."""

JOINT_GREYS: tuple[int, ...] = tuple(
    min(255, int(float(_BASE_GREYS[next(i for i, limb in enumerate(LIMBS) if j in limb)]) * 1.3))
    for j in range(18)
)
"""Grey of each OpenPose-18 joint's circle."""

HAND_BONES: tuple[tuple[int, int], ...] = tuple((0 if k % 4 == 0 else k, k + 1) for k in range(20))
"""The 20 bones of a 21-point hand: from the wrist (0) along each finger, thumb first."""

HAND_BONE_GREYS: tuple[int, ...] = tuple(int(g) for g in np.linspace(160, 220, 20).astype(np.uint8))
HAND_POINT_GREY = 240
HAND_POINT_RADIUS = 4
HAND_BONE_THICKNESS = 2
FACE_GREY = 200
FACE_RADIUS = 3


def draw_pose_raster(pose: WholeBodyPose, height: int, width: int) -> npt.NDArray[np.uint8]:
    """Draws ``pose`` as the grey pose raster FASHN VTON takes.

    Args:
        pose: the keypoints, normalised to the image they were found in.
        height: rows of the raster: the height of the (pre-resized) photo.
        width: columns of the raster.

    Returns:
        (height, width) uint8, 0 where nothing is drawn.

    Raises:
        ValueError: ``height`` or ``width`` is not positive.
    """
    if height < 1 or width < 1:
        raise ValueError(f"a pose raster needs a positive size, not {height}x{width}")
    canvas = _draw_body(pose, height, width)
    for hand, scores in zip(pose.hands, pose.hand_scores, strict=True):
        _draw_hand(canvas, hand, scores)
    for point in _small_points(pose.face, pose.face_scores, height, width):
        if point is not None:
            cv2.circle(canvas, point, FACE_RADIUS, FACE_GREY, thickness=-1)
    return canvas


def _pixel(point: npt.NDArray[np.float64], height: int, width: int) -> tuple[int, int]:
    """The pixel a normalised point is drawn at: truncated towards zero, as ``int()``."""
    return int(float(point[0]) * width), int(float(point[1]) * height)


def _draw_body(pose: WholeBodyPose, height: int, width: int) -> npt.NDArray[np.uint8]:
    """The limbs (faded) and then the joints of the body, on a new black canvas."""
    seen = pose.body_scores.astype(np.float64) > SCORE_THRESHOLD
    pixels = [_pixel(p, height, width) for p in pose.body]
    limbs = np.zeros((height, width), np.uint8)
    for index, (a, b) in enumerate(LIMBS):
        if not (seen[a] and seen[b]):
            continue
        (xa, ya), (xb, yb) = pixels[a], pixels[b]
        centre = ((xa + xb) // 2, (ya + yb) // 2)
        length = int(math.hypot(xa - xb, ya - yb))
        angle = int(math.degrees(math.atan2(ya - yb, xa - xb)))
        polygon = cv2.ellipse2Poly(centre, (length // 2, LIMB_HALF_WIDTH), angle, 0, 360, 1)
        cv2.fillConvexPoly(limbs, polygon, int(_BASE_GREYS[index]))
    canvas = (limbs * LIMB_FADE).astype(np.uint8)
    for joint in range(18):
        if seen[joint]:
            cv2.circle(canvas, pixels[joint], JOINT_RADIUS, JOINT_GREYS[joint], thickness=-1)
    return canvas


def _small_points(
    points: npt.NDArray[np.float64], scores: npt.NDArray[np.float32], height: int, width: int
) -> list[tuple[int, int] | None]:
    """The pixels of hand or face points; None for one that is not drawn."""
    seen = scores.astype(np.float64) >= SCORE_THRESHOLD
    pixels: list[tuple[int, int] | None] = []
    for point, counts in zip(points, seen, strict=True):
        x, y = _pixel(point, height, width)
        pixels.append((x, y) if counts and x >= 1 and y >= 1 else None)
    return pixels


def _draw_hand(
    canvas: npt.NDArray[np.uint8], hand: npt.NDArray[np.float64], scores: npt.NDArray[np.float32]
) -> None:
    """Draws one hand's bones, then its points, onto ``canvas`` (H, W) in place."""
    height, width = canvas.shape
    pixels = _small_points(hand, scores, height, width)
    for (a, b), grey in zip(HAND_BONES, HAND_BONE_GREYS, strict=True):
        start, end = pixels[a], pixels[b]
        if start is not None and end is not None:
            cv2.line(canvas, start, end, grey, thickness=HAND_BONE_THICKNESS)
    for point in pixels:
        if point is not None:
            cv2.circle(canvas, point, HAND_POINT_RADIUS, HAND_POINT_GREY, thickness=-1)
