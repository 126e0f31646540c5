"""The MediaPipe models the body stage runs (they ship inside the mediapipe wheel).

One ``BodyModels`` owns one graph per model; MediaPipe graphs are not re-entrant, so
calls to each are serialised with its own lock (two different models may run at the
same time). Construct it once and hand it to the analysers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tryon.types import Image


@dataclass(frozen=True)
class PoseOutput:
    """Raw pose model output for one image.

    Attributes:
        landmarks: (33, 2) float32, normalised [0, 1] image coordinates (may exceed).
        visibility: (33,) float32.
        segmentation: (h, w) float32 person probability at the analysed resolution.
    """

    landmarks: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]
    segmentation: npt.NDArray[np.float32]


class BodyModels:
    """MediaPipe pose (with segmentation), face detection and face mesh."""

    def __init__(self) -> None:
        # Imported here: loading mediapipe costs about a second and pulls in its models.
        import mediapipe as mp

        solutions = mp.solutions
        self._pose = solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=True
        )
        self._faces = solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self._mesh = solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, min_detection_confidence=0.3
        )
        self.face_oval = sorted(
            {i for edge in solutions.face_mesh.FACEMESH_FACE_OVAL for i in edge}
        )
        self._pose_lock = threading.Lock()
        self._faces_lock = threading.Lock()
        self._mesh_lock = threading.Lock()
        # Each graph starts on MediaPipe's own threads, and TensorFlow Lite logs its set-up
        # from there (to file descriptor 2) some time after construction. One call on a
        # blank image waits for the start, so those lines are written while this
        # constructor runs (where the command line filters them), not at a later moment.
        blank = np.zeros((64, 64, 3), np.uint8)
        for graph in (self._pose, self._faces, self._mesh):
            graph.process(blank)

    def pose(self, image: Image) -> PoseOutput | None:
        """Runs the pose model; None when it finds no person."""
        with self._pose_lock:
            result = self._pose.process(image)
        if result.pose_landmarks is None:
            return None
        lms = result.pose_landmarks.landmark
        xy = np.array([(p.x, p.y) for p in lms], np.float32)
        vis = np.array([p.visibility for p in lms], np.float32)
        seg = np.asarray(result.segmentation_mask, np.float32)
        return PoseOutput(xy, vis, seg)

    def face_boxes(self, image: Image) -> list[tuple[float, float, float, float]]:
        """Detects faces (full-range model); returns (x, y, w, h) boxes, normalised."""
        with self._faces_lock:
            result = self._faces.process(image)
        boxes = []
        for det in result.detections or []:
            b = det.location_data.relative_bounding_box
            boxes.append((b.xmin, b.ymin, b.width, b.height))
        return boxes

    def face_mesh(self, image: Image) -> npt.NDArray[np.float32] | None:
        """Runs the face mesh on a head crop; (468, 2) normalised points or None."""
        with self._mesh_lock:
            result = self._mesh.process(image)
        if not result.multi_face_landmarks:
            return None
        lms = result.multi_face_landmarks[0].landmark
        return np.array([(p.x, p.y) for p in lms], np.float32)
