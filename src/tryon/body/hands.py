"""The hands: where the pose model puts them, and the hands mask (kept in front)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.skin import skin_like
from tryon.ops import masks as M
from tryon.types import BodyKeypoints, Image, Mask, Points

# MediaPipe hand points: wrist, pinky, index, thumb (right hand, then left hand).
HANDS = ((16, 18, 20, 22), (15, 17, 19, 21))


@dataclass(frozen=True)
class HandPoints:
    """Where the pose model puts a hand, image pixels.

    Attributes:
        wrist: (2,) the wrist joint.
        fingers: (3, 2) the pinky, index and thumb points.
        knuckles: (2,) the fingers' mean.
        length: wrist to knuckles, pixels (at least 1).
    """

    wrist: Points
    fingers: Points
    knuckles: Points
    length: float


def hand_points(kp: BodyKeypoints, hand: tuple[int, ...]) -> HandPoints | None:
    """The points of a hand (``hand``: one of ``HANDS``); None when the pose model
    barely sees it or it has no length."""
    if min(kp.visibility[list(hand)]) < 0.2:
        return None
    wrist, fingers = kp.mediapipe[hand[0]], kp.mediapipe[list(hand[1:])]
    knuckles = fingers.mean(0)
    length = float(np.linalg.norm(knuckles - wrist))
    if length < 1:
        return None
    return HandPoints(wrist, fingers, knuckles, length)


def hands_mask(
    image: Image, kp: BodyKeypoints, person: Mask, skin_lab: npt.NDArray[np.float32]
) -> Mask:
    """Each hand: wrist to finger tips, widened, within the person; where the hand's
    area shows mostly skin, only its skin, so an old cuff over the wrist is not kept."""
    h, w = person.shape
    out = np.zeros((h, w), bool)
    for points in HANDS:
        found = hand_points(kp, points)
        if found is None:
            continue
        wrist, fingers, length = found.wrist, found.fingers, found.length
        direction = (found.knuckles - wrist) / length
        # The hand starts a little past the wrist joint: a sleeve's cuff covers the joint.
        base = wrist + direction * 0.35 * length
        tips = wrist + direction * 2.4 * length
        outline = np.vstack([fingers, base[None], tips[None], (fingers - wrist) * 2.0 + wrist])
        hull = cv2.convexHull(outline.astype(np.float32)).reshape(-1, 2)
        # Work in a window around the hand: nothing else of the photo matters here.
        margin = int(np.ceil(0.35 * length)) + 2
        x0, y0 = np.maximum(np.floor(hull.min(0)).astype(int) - margin, 0)
        x1, y1 = np.minimum(np.ceil(hull.max(0)).astype(int) + margin, (w, h))
        if x1 <= x0 or y1 <= y0:
            continue
        window = (slice(y0, y1), slice(x0, x1))
        inside = person[window]
        tight = M.draw_polygon(inside.shape, hull - (x0, y0)) & inside
        hand = M.dilate(tight, 0.2 * length) & inside
        skin = skin_like(image[window], skin_lab, hand, chroma=14, lightness=30)
        skin = M.component_at(M.close(skin, 0.1 * length), fingers - (x0, y0))
        # Gloves, or light that makes the hand far from the face's colour: keep the hand's
        # outline from its keypoints, not the margin around it (that is clothing).
        out[window] |= skin if skin.sum() > 0.4 * tight.sum() else tight
    return out
