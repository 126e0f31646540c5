"""The faces in a photo: the detector's boxes, whose face is whose, a fallback oval."""

from __future__ import annotations

from dataclasses import dataclass

from tryon.body.frame import head_size
from tryon.ops import masks as M
from tryon.types import BodyKeypoints, Joint, Mask, Points


@dataclass(frozen=True)
class Faces:
    """The faces in a photo, found beside the pose model.

    Attributes:
        boxes: every face the detector found, (x0, y0, x1, y1) image pixels.
        box: the largest of them (None when there is none).
        oval: the face mesh's face oval on it, (N, 2) image pixels (None when the mesh
            found no face there).
    """

    boxes: list[tuple[float, float, float, float]]
    box: tuple[float, float, float, float] | None
    oval: Points | None


def on_face(kp: BodyKeypoints, box: tuple[float, float, float, float]) -> bool:
    """Whether the person's nose lies on the face ``box`` (grown by half its size)."""
    x0, y0, x1, y1 = box
    pad = 0.5 * max(x1 - x0, y1 - y0)
    nose = kp.joint(Joint.NOSE)
    return bool(x0 - pad <= nose[0] <= x1 + pad and y0 - pad <= nose[1] <= y1 + pad)


def count_other_faces(boxes: list[tuple[float, float, float, float]], kp: BodyKeypoints) -> int:
    """Counts the faces (image pixel boxes) that do not belong to the chosen person."""
    return sum(not on_face(kp, box) for box in boxes)


def face_ellipse(kp: BodyKeypoints, shape: tuple[int, int]) -> Mask:
    """An ellipse over the face from the head keypoints alone: for a head too small for
    the face mesh."""
    size = head_size(kp)
    centre = (kp.mediapipe[7] + kp.mediapipe[8]) / 2 * 0.5 + kp.joint(Joint.NOSE) * 0.5
    return M.draw_ellipse(shape, centre, (0.55 * size, 0.75 * size), 0.0)
