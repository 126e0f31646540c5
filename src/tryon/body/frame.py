"""Body geometry from keypoints: the torso frame, the head's size, the chin, the arms.

The measures every stage shares (the agnostic mask, the warp, the composite and the
worn-garment cutter all place things relative to them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tryon.ops import masks as M
from tryon.ops.geometry import polyline_between, unit
from tryon.types import BodyKeypoints, Joint, Mask


@dataclass(frozen=True)
class BodyFrame:
    """Derived body measures shared by the mask and the warp.

    Attributes:
        r: shoulder width / 16 + 1, pixels.
        down: unit vector along the torso, neck towards hips.
        torso_length: neck to hip midpoint along ``down``, pixels.
        hip_mid: midpoint of the hip joints.
        neck: midpoint of the shoulders.
    """

    r: float
    down: np.ndarray
    torso_length: float
    hip_mid: np.ndarray
    neck: np.ndarray


def body_frame(kp: BodyKeypoints) -> BodyFrame:
    """Measures the torso from keypoints (hidden hips are extrapolated by the model)."""
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    neck = (rs + ls) / 2
    hip_mid = (kp.joint(Joint.R_HIP) + kp.joint(Joint.L_HIP)) / 2
    width = float(np.linalg.norm(ls - rs))
    across = unit(ls - rs)
    down = np.array([-across[1], across[0]], np.float32)
    if float(np.dot(hip_mid - neck, down)) < 0:
        down = -down
    length = max(float(np.dot(hip_mid - neck, down)), 0.8 * width)
    return BodyFrame(width / 16 + 1, down, length, hip_mid, neck)


# Width of an arm seen from the front at the shoulder joint, the elbow, the wrist and
# the heel of the hand, x the distance between the shoulder joints.
ARM_WIDTHS = (0.29, 0.23, 0.17, 0.2)


ARMS = (
    (Joint.R_SHOULDER, Joint.R_ELBOW, Joint.R_WRIST),
    (Joint.L_SHOULDER, Joint.L_ELBOW, Joint.L_WRIST),
)


def arm_path(kp: BodyKeypoints, joints: tuple[Joint, Joint, Joint]) -> npt.NDArray[np.float32]:
    """(4, 2) shoulder, elbow, wrist and heel of the hand (a little past the wrist
    joint, where a hands mask may start)."""
    shoulder, elbow, wrist = (kp.joint(j) for j in joints)
    heel = wrist + 0.25 * (wrist - elbow)
    return np.stack([shoulder, elbow, wrist, heel]).astype(np.float32)


def draw_arm(
    shape: tuple[int, ...], path: npt.NDArray[np.float32], start: float, end: float, sw: float
) -> Mask:
    """The arm along ``path`` (from ``arm_path``) between arc lengths ``start`` and
    ``end``, tapering as an arm does; ``sw``: distance between the shoulder joints."""
    part = polyline_between(path, start, end)
    reach = np.cumsum([0.0, *np.linalg.norm(np.diff(path, axis=0), axis=1)])
    # The part follows the path from ``start`` on: its points' arc lengths along it.
    along = start + np.cumsum([0.0, *np.linalg.norm(np.diff(part, axis=0), axis=1)])
    widths = np.interp(along, reach, ARM_WIDTHS) * sw
    return M.draw_tapered_stroke(shape, part, widths)


def head_size(kp: BodyKeypoints) -> float:
    """Ear-to-ear distance (or a fraction of the shoulder width), pixels."""
    ears = float(np.linalg.norm(kp.mediapipe[7] - kp.mediapipe[8]))
    shoulders = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    return max(ears, 0.35 * shoulders, 4.0)


def chin_y(kp: BodyKeypoints, face: Mask) -> float:
    """Lowest row of the face, pixels."""
    rows = np.flatnonzero(face.any(1))
    if len(rows):
        return float(rows[-1])
    return float(kp.joint(Joint.NOSE)[1] + 0.6 * head_size(kp))


def draw_neck(kp: BodyKeypoints, face: Mask, shape: tuple[int, ...]) -> Mask:
    """The neck from under the jaw to the base between the shoulders: as wide as
    0.6 x the jaw under the chin, flaring to 1.5 times that where it meets the
    shoulders (without a face mask: a quarter of the shoulder width under the chin).

    Args:
        face: (H, W) bool, the face (its lower rows give the jaw's width).
        shape: the photo's (H, W).
    """
    frame = body_frame(kp)
    top = frame.neck - frame.down * 0.35 * frame.torso_length
    rows = np.flatnonzero(face.any(1))
    jaw = 0.0
    if len(rows) >= 4:
        y = int(rows[0] + 0.8 * (rows[-1] - rows[0]))
        xs = np.flatnonzero(face[y])
        jaw = float(xs[-1] - xs[0] + 1) if len(xs) else 0.0
    width = 4 * frame.r
    narrow = 0.6 * jaw if 2 * frame.r < 0.6 * jaw < 8 * frame.r else width
    return M.draw_tapered_stroke(shape, [top, frame.neck], [narrow, 1.5 * narrow])
