"""Body analysis: keypoints, person mask, face, head (face + hair) and hands."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from tryon.body.face import Faces, count_other_faces, face_ellipse, on_face
from tryon.body.hands import hands_mask
from tryon.body.head import clothes_colours, head_mask
from tryon.body.models import BodyModels
from tryon.body.skin import skin_colour
from tryon.errors import NoPersonError
from tryon.ops import masks as M
from tryon.ops.resize import downscale
from tryon.types import BodyAnalysis, BodyKeypoints, Image, Joint, Mask, Points

ANALYSIS_SIDE = 384
"""Long side of the copy the pose model sees; it works on 224 px (detector) and 256 px
(landmarks, segmentation) crops internally, so a larger copy only costs conversion
time."""

_HEAD = tuple(range(11))


class BodyAnalyzer:
    """Finds the main person of a photo and the regions a try-on must respect."""

    def __init__(self, models: BodyModels) -> None:
        self.models = models
        # The face detector needs only the photo: it runs here, beside the pose model
        # (both mostly outside the interpreter, so on two cores at once).
        self._faces = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tryon-faces")

    def close(self) -> None:
        """Stops the face detector's threads; the analyser cannot be used afterwards."""
        self._faces.shutdown(wait=True)

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
        skin_lab = skin_colour(image, face, keypoints)
        clothes = clothes_colours(image, keypoints, person, face, skin_lab)
        head = head_mask(image, keypoints, person, face, skin_lab, clothes)
        hands = hands_mask(image, keypoints, person, skin_lab)
        other_people = count_other_faces(found.boxes, keypoints)
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
        oval = faces.oval if faces.box is not None and on_face(kp, faces.box) else None
        if oval is None:
            if 3.2 * span < 16:
                return face_ellipse(kp, (h, w)) & M.dilate(person, 2)
            oval = self._face_oval(image, head.mean(0), span)
            if oval is None:
                return None
        hull = cv2.convexHull(oval)
        return M.draw_polygon((h, w), hull.reshape(-1, 2))
