"""Body analysis: keypoints, person mask, face, head (face + hair) and hands."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.models import BodyModels
from tryon.errors import NoPersonError
from tryon.ops import masks as M
from tryon.ops.color import colour_clusters, nearest_distance, rgb_to_lab
from tryon.ops.resize import downscale
from tryon.types import BodyAnalysis, BodyKeypoints, Image, Joint, Mask, Points

ANALYSIS_SIDE = 384
"""Long side of the copy the pose model sees; it works on 224 px (detector) and 256 px
(landmarks, segmentation) crops internally, so a larger copy only costs conversion
time."""

# MediaPipe hand points: wrist, pinky, index, thumb (right hand, then left hand).
HANDS = ((16, 18, 20, 22), (15, 17, 19, 21))
_HEAD = tuple(range(11))


class BodyAnalyzer:
    """Finds the main person of a photo and the regions a try-on must respect."""

    def __init__(self, models: BodyModels) -> None:
        self.models = models
        # The face detector needs only the photo: it runs here, beside the pose model
        # (both mostly outside the interpreter, so on two cores at once).
        self._faces = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tryon-faces")

    def analyze(self, image: Image, role: str = "person photo") -> BodyAnalysis:
        """Analyses the most prominent person in ``image``.

        Args:
            image: (H, W, 3) RGB uint8.
            role: how the photo is called in error messages.

        Raises:
            NoPersonError: nobody found, or the head and shoulders are not in the photo.
        """
        h, w = image.shape[:2]
        small, factor = downscale(image, ANALYSIS_SIDE)
        # The face detector sees 192 px: a larger copy only costs conversion time.
        faces_image, _ = downscale(small, 256)
        faces = self._faces.submit(self._find_faces, image, faces_image)
        pose = self.models.pose(small)
        if pose is None:
            raise NoPersonError(
                f"no person found in the {role}: use a photo in which one person is clearly "
                "visible from the head down, facing the camera"
            )
        points = pose.landmarks * np.array([w, h], np.float32)
        keypoints = BodyKeypoints(points, pose.visibility, (h, w))
        for joint in (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.NOSE):
            if not keypoints.joint_visible(joint, 0.3):
                raise NoPersonError(
                    f"the {role} does not show a person's head and shoulders clearly: use a "
                    "photo of one person facing the camera, head and shoulders in the frame"
                )
        # The person's component is found at the model's resolution, then upsampled
        # with the probabilities (smooth edges, no labelling of the full photo).
        anchors = [
            keypoints.joint(j) * factor for j in (Joint.NECK, Joint.NOSE, Joint.R_HIP, Joint.L_HIP)
        ]
        seg = pose.segmentation
        seg = np.where(M.component_at(seg > 0.5, anchors), seg, np.minimum(seg, 0.5))
        person = cv2.resize(seg, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
        if person.sum() < 0.01 * h * w:
            raise NoPersonError(
                f"the person in the {role} is too small to dress ({person.sum()} pixels): "
                "crop the photo around them or use a closer shot"
            )
        found = faces.result()
        face = self._face_mask(image, keypoints, person, found)
        if face is None:
            # The pose model also finds "people" in a flat-lay shirt; a face it has not.
            raise NoPersonError(
                f"no face found in the {role}: use a photo of one person facing the camera, "
                "head and shoulders in the frame"
            )
        skin_lab = _skin_colour(image, face, keypoints)
        clothes = _clothes_colours(image, keypoints, person, face, skin_lab)
        head = _head_mask(image, keypoints, person, face, skin_lab, clothes)
        hands = _hands_mask(image, keypoints, person, skin_lab)
        other_people = _count_others(found.boxes, keypoints)
        return BodyAnalysis(
            keypoints=keypoints,
            person_mask=person,
            face_mask=face,
            head_mask=head,
            hands_mask=hands,
            skin_lab=skin_lab,
            other_people=other_people,
        )

    def _find_faces(self, image: Image, small: Image) -> Faces:
        """Runs the face detector on ``small`` (a copy of ``image``), then the face mesh
        on the largest face it finds: both need only the photo, so they run beside the
        pose model."""
        h, w = image.shape[:2]
        boxes = [
            (bx * w, by * h, (bx + bw) * w, (by + bh) * h)
            for bx, by, bw, bh in self.models.face_boxes(small)
        ]
        if not boxes:
            return Faces(boxes, None, None)
        x0, y0, x1, y1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2], np.float32)
        oval = self._face_oval(image, centre, max(x1 - x0, y1 - y0))
        return Faces(boxes, (x0, y0, x1, y1), oval)

    def _face_oval(self, image: Image, centre: Points, span: float) -> Points | None:
        """The face oval (image pixels) from the face mesh run on a crop of 3.2 ``span``
        around ``centre``; None when the crop is too small or the mesh finds no face."""
        h, w = image.shape[:2]
        half = 1.6 * max(span, 8.0)
        x0, y0 = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
        x1, y1 = int(min(w, centre[0] + half)), int(min(h, centre[1] + half))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        scale = 256.0 / max(crop.shape[:2])
        crop_small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        mesh = self.models.face_mesh(crop_small)
        if mesh is None:
            return None
        oval = mesh[self.models.face_oval] * np.array([x1 - x0, y1 - y0]) + (x0, y0)
        return np.asarray(oval, np.float32)

    def _face_mask(
        self, image: Image, kp: BodyKeypoints, person: Mask, faces: Faces
    ) -> Mask | None:
        """Face oval from the face mesh; an ellipse when the head is too small for the
        mesh; None when the mesh finds no face.

        The mesh already run on the largest face the detector found is used when the
        chosen person's nose is on that face; otherwise it runs on a crop around the
        person's head keypoints.
        """
        h, w = image.shape[:2]
        head = kp.mediapipe[list(_HEAD)]
        span = max(float(np.ptp(head[:, 0])), float(np.ptp(head[:, 1])), 8.0)
        oval = faces.oval if faces.box is not None and _on_face(kp, faces.box) else None
        if oval is None:
            if 3.2 * span < 16:
                return _face_ellipse(kp, (h, w)) & M.dilate(person, 2)
            oval = self._face_oval(image, head.mean(0), span)
            if oval is None:
                return None
        hull = cv2.convexHull(oval)
        return M.draw_polygon((h, w), hull.reshape(-1, 2))


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


def _on_face(kp: BodyKeypoints, box: tuple[float, float, float, float]) -> bool:
    """Whether the person's nose lies on the face ``box`` (grown by half its size)."""
    x0, y0, x1, y1 = box
    pad = 0.5 * max(x1 - x0, y1 - y0)
    nose = kp.joint(Joint.NOSE)
    return bool(x0 - pad <= nose[0] <= x1 + pad and y0 - pad <= nose[1] <= y1 + pad)


def _count_others(boxes: list[tuple[float, float, float, float]], kp: BodyKeypoints) -> int:
    """Counts the faces (image pixel boxes) that do not belong to the chosen person."""
    return sum(not _on_face(kp, box) for box in boxes)


def head_size(kp: BodyKeypoints) -> float:
    """Ear-to-ear distance (or a fraction of the shoulder width), pixels."""
    ears = float(np.linalg.norm(kp.mediapipe[7] - kp.mediapipe[8]))
    shoulders = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    return max(ears, 0.35 * shoulders, 4.0)


def _face_ellipse(kp: BodyKeypoints, shape: tuple[int, int]) -> Mask:
    size = head_size(kp)
    centre = (kp.mediapipe[7] + kp.mediapipe[8]) / 2 * 0.5 + kp.joint(Joint.NOSE) * 0.5
    return M.draw_ellipse(shape, centre, (0.55 * size, 0.75 * size), 0.0)


def chin_y(kp: BodyKeypoints, face: Mask) -> float:
    """Lowest row of the face, pixels."""
    rows = np.flatnonzero(face.any(1))
    if len(rows):
        return float(rows[-1])
    return float(kp.joint(Joint.NOSE)[1] + 0.6 * head_size(kp))


def _head_mask(
    image: Image,
    kp: BodyKeypoints,
    person: Mask,
    face: Mask,
    skin_lab: LabColour,
    clothes: LabColours,
) -> Mask:
    """Face plus hair, ears and beard.

    The person's pixels above the chin over the face's width, hair-coloured pixels
    joined to them below the chin (long hair over the shoulders), and a beard below the
    chin (see ``_beard``; ``clothes``: the colours of the clothes on the chest).
    """
    h, w = person.shape
    size = head_size(kp)
    nose = kp.joint(Joint.NOSE)
    chin = chin_y(kp, face)
    cols = np.flatnonzero(face.any(0))
    left, right = (cols[0], cols[-1]) if len(cols) else (nose[0] - 0.5 * size, nose[0] + 0.5 * size)
    # Work in a box around the head: the rest of the photo cannot be hair.
    x0, x1 = int(max(0, nose[0] - 2.5 * size)), int(min(w, nose[0] + 2.5 * size))
    y1 = int(min(h, chin + 2.2 * size))
    if x1 <= x0 or y1 <= 0:
        return face.copy()
    crop = image[:y1, x0:x1]
    box_person, box_face = person[:y1, x0:x1], face[:y1, x0:x1]
    xs, ys = np.arange(x0, x1), np.arange(y1)[:, None]
    over_face = (xs >= left - 0.35 * size) & (xs <= right + 0.35 * size)
    above_chin = box_person & over_face & (ys <= chin)
    head = above_chin | box_face
    hair_zone = above_chin & ~M.dilate(box_face, 0.05 * size)
    if hair_zone.sum() > 0.15 * max(box_face.sum(), 1):
        hair_lab = np.median(rgb_to_lab(crop[hair_zone]), axis=0)
        skin = np.median(rgb_to_lab(crop[box_face]), axis=0) if box_face.any() else hair_lab
        contrast = float(np.linalg.norm(hair_lab - skin))
        if contrast > 12:
            below = box_person & (ys > chin)
            hairlike = np.zeros_like(below)
            to_hair = nearest_distance(rgb_to_lab(crop[below]), hair_lab[None])
            hairlike[below] = to_hair < 0.5 * contrast
            hair = M.open_(hairlike, 0.03 * size)
            head |= M.component_at(hair | head, [nose - (x0, 0)]) & hair
    head |= _beard(crop, box_face, box_person & (ys > chin), size, skin_lab, clothes)
    out = np.zeros((h, w), bool)
    out[:y1, x0:x1] = M.close(head, 0.05 * size)
    return (out & (person | face)) | face


LabColour = npt.NDArray[np.float32]
LabColours = npt.NDArray[np.float32]


def _hue_distance(lab: LabColours, colours: LabColours) -> npt.NDArray[np.float32]:
    """``nearest_distance`` with lightness at half weight: shade changes L* far more
    than a* and b*."""
    return nearest_distance(lab, colours, lightness_weight=0.5)


def _clothes_colours(
    image: Image, kp: BodyKeypoints, person: Mask, face: Mask, skin_lab: LabColour
) -> LabColours:
    """Up to three CIELAB colour clusters of the clothes on the chest, just under the
    neck (none near the skin's colour: an open neckline shows skin there)."""
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    sw = float(np.linalg.norm(ls - rs))
    neck = (rs + ls) / 2
    h, w = person.shape
    y0, y1 = int(max(0, neck[1] + 0.1 * sw)), int(min(h, neck[1] + 0.45 * sw))
    x0, x1 = int(max(0, neck[0] - 0.3 * sw)), int(min(w, neck[0] + 0.3 * sw))
    if y1 - y0 < 4 or x1 - x0 < 4:
        return np.zeros((0, 3), np.float32)
    chest = person[y0:y1, x0:x1] & ~M.dilate(face[y0:y1, x0:x1], 0.05 * sw)
    pixels = image[y0:y1, x0:x1][chest]
    if len(pixels) < 50:
        return np.zeros((0, 3), np.float32)
    samples = rgb_to_lab(pixels[:: max(1, len(pixels) // 2000)])
    k = min(3, len(samples))
    centres, labels = colour_clusters(samples, k)
    share = np.bincount(labels, minlength=k) / len(samples)
    keep = (share >= 0.15) & (_hue_distance(centres, skin_lab[None]) > 10)
    return centres[keep]


def _beard(
    crop: Image,
    face: Mask,
    below_chin: Mask,
    size: float,
    skin_lab: LabColour,
    clothes: LabColours,
) -> Mask:
    """A beard below the chin: pixels there coloured like the lower face where it is
    not skin, joined to the face, within half a head of the chin. Nothing when the lower
    face is mostly skin, or the beard has the clothes' colour (no telling them apart)."""
    out = np.zeros_like(face)
    rows = np.flatnonzero(face.any(1))
    cols = np.flatnonzero(face.any(0))
    if len(rows) < 8 or not below_chin.any():
        return out
    top, bottom = rows[0], rows[-1]
    lower = face.copy()
    lower[: int(top + 0.7 * (bottom - top))] = False
    lab = rgb_to_lab(crop[lower])
    far = _hue_distance(lab, skin_lab[None]) > 18
    if far.mean() < 0.3:
        return out
    beard_lab = np.median(lab[far], axis=0).astype(np.float32)
    contrast = float(_hue_distance(beard_lab[None], skin_lab[None])[0])
    if len(clothes) and _hue_distance(beard_lab[None], clothes)[0] < 0.5 * contrast:
        return out
    zone = below_chin.copy()
    zone[int(bottom + 0.5 * size) :] = False
    zone[:, : cols[0]] = False
    zone[:, cols[-1] + 1 :] = False
    zone_lab = rgb_to_lab(crop[zone])
    out[zone] = _hue_distance(zone_lab, beard_lab[None]) < 0.5 * contrast
    out = M.open_(out, 0.02 * size)
    return M.components_touching(out | face, face) & out


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


def _hands_mask(
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


def skin_like(
    image: Image, skin_lab: npt.NDArray[np.float32], where: Mask, chroma: float, lightness: float
) -> Mask:
    """Pixels of ``where`` whose CIELAB colour is within ``chroma`` (a*b* distance) and
    ``lightness`` (L* difference) of the skin colour ``skin_lab``."""
    out = np.zeros(where.shape, bool)
    if not where.any():
        return out
    out[where] = near_skin(rgb_to_lab(image[where]), skin_lab, chroma, lightness)
    return out


def near_skin(
    lab: npt.NDArray[np.float32], skin_lab: npt.NDArray[np.float32], chroma: float, lightness: float
) -> npt.NDArray[np.bool_]:
    """``skin_like``'s test on (N, 3) CIELAB colours."""
    near_hue = (lab[:, 1] - skin_lab[1]) ** 2 + (lab[:, 2] - skin_lab[2]) ** 2 < chroma**2
    return np.asarray(near_hue & (np.abs(lab[:, 0] - skin_lab[0]) < lightness))


def _skin_colour(image: Image, face: Mask, kp: BodyKeypoints) -> npt.NDArray[np.float32]:
    """Median CIELAB of the cheeks and forehead (beards and mouths excluded)."""
    rows = np.flatnonzero(face.any(1))
    if len(rows) < 4:
        return np.array([65.0, 15.0, 18.0], np.float32)
    top, bottom = rows[0], rows[-1]
    upper = face.copy()
    upper[int(top + 0.62 * (bottom - top)) :] = False
    lab = rgb_to_lab(image[upper])
    return np.median(lab, axis=0).astype(np.float32)
