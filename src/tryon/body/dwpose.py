"""DWPose whole-body keypoints through ONNX Runtime, as FASHN VTON v1.5 finds them.

Two ONNX models (``DWPOSE_WEIGHTS``; Apache-2.0):

* ``yolox_l.onnx``, the YOLOX-L person detector. Input ``(1, 3, 640, 640)`` float32, raw
  BGR values 0..255 (no normalisation), the photo letterboxed into the top-left corner
  with grey 114 around it. Output ``(1, 8400, 85)`` float32: one row per anchor of the
  80x80, 40x40 and 20x20 grids (strides 8, 16, 32) holding the box centre offset (2, in
  cells), the log of its size (2, in cells), the objectness and the 80 COCO class
  scores (both already through a sigmoid).
* ``dw-ll_ucoco_384.onnx``, RTMPose-L trained on COCO-WholeBody (133 keypoints), distilled
  by DWPose. Input ``(1, 3, 384, 288)`` float32, the person's crop as BGR normalised with
  the ImageNet mean and std (in RGB order, applied to BGR, as the reference does); the
  size is read from the session. Outputs ``simcc_x (1, 133, 576)`` and ``simcc_y (1, 133,
  768)``: one 1-D classification per keypoint and axis at twice the input's resolution.

A call: the detector's boxes of class person scoring above 0.3 after non-maximum
suppression (IoU 0.45, candidates above 0.1); without any, the whole photo is the box.
Each box, padded by 1.25 and widened to the pose model's aspect ratio, is cut out with an
affine warp and its keypoints decoded (arg-max of each SimCC vector, halved; the score is
the lower of the two maxima). The 133 keypoints get a neck (the shoulders' midpoint) and
the body's are put in OpenPose-18 order. With several people, the one with the largest
score x keypoint-box area is kept. The arithmetic follows the reference step by step (its
float32 and float64 steps included), so that the same models give the same keypoints.

onnxruntime is imported only when a ``DWPose`` is built: the default engine needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from tryon.closing import Closeable
from tryon.errors import TryOnError
from tryon.types import Image, WholeBodyPose

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DETECTOR_SIZE = 640
"""Side of the detector's square input."""
LETTERBOX_FILL = 114
DETECTOR_STRIDES = (8, 16, 32)
CANDIDATE_SCORE = 0.1
"""Boxes scoring above it take part in the non-maximum suppression."""
NMS_IOU = 0.45
"""A box overlapping a better one by more than this is dropped."""
PERSON_SCORE = 0.3
"""A person box is kept when it scores above it."""
BOX_PADDING = 1.25
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
SIMCC_SPLIT = 2.0
"""SimCC bins per input pixel."""
KEYPOINT_SCORE = 0.3
"""A keypoint above it counts towards the neck and the choice of person."""

COCO_FOR_OPENPOSE = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
"""COCO-WholeBody index of each OpenPose-18 joint; -1: the neck (the shoulders' mean)."""
FACE = slice(24, 92)
LEFT_HAND = slice(92, 113)
RIGHT_HAND = slice(113, 134)
"""Where ``openpose_order``'s 134 points keep the 68 face points and each hand's 21."""
FETCH_COMMAND = "tryon weights fetch --engine fashn"


@dataclass(frozen=True)
class DWPoseWeights:
    """Where DWPose's two ONNX files come from and where they lie.

    The fields are those of ``tryon.diffusion.weights.WeightsRecord``; the body stage may
    not import the diffusion stage (same layer), so the record is declared here.

    Attributes:
        name: what it is, for messages.
        repo_id: Hugging Face model repository it comes from.
        folder: sub-folder of the weights directory the files are stored in.
        files: the detector's file, then the pose model's.
        licence: licence of the weights.
    """

    name: str
    repo_id: str
    folder: str
    files: tuple[str, ...]
    licence: str

    def paths(self, root: Path) -> tuple[Path, Path]:
        """The detector's and the pose model's files under the weights directory ``root``."""
        detector, pose_model = (root / self.folder / f for f in self.files)
        return detector, pose_model


DWPOSE_WEIGHTS = DWPoseWeights(
    name="DWPose (YOLOX-L person detector, RTMPose-L whole-body 384x288)",
    repo_id="fashn-ai/DWPose",
    folder="dwpose",
    files=("yolox_l.onnx", "dw-ll_ucoco_384.onnx"),
    licence="Apache-2.0",
)


class DWPoseWeightsError(TryOnError):
    """A DWPose ONNX file is missing."""


def letterbox(bgr: Image) -> tuple[F32, float]:
    """The detector's input: the photo scaled to fit 640 x 640, top-left, grey around.

    Args:
        bgr: (H, W, 3) uint8, BGR.

    Returns:
        (1, 3, 640, 640) float32 BGR 0..255, and the scale from photo to input pixels.
    """
    h, w = bgr.shape[:2]
    ratio = min(DETECTOR_SIZE / h, DETECTOR_SIZE / w)
    size = (int(w * ratio), int(h * ratio))
    padded = np.full((DETECTOR_SIZE, DETECTOR_SIZE, 3), LETTERBOX_FILL, np.uint8)
    padded[: size[1], : size[0]] = cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None], np.float32), ratio


def _anchor_grid() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(8400, 2) int64 cell (column, row) of every detector anchor and (8400, 1) its stride."""
    cells, strides = [], []
    for stride in DETECTOR_STRIDES:
        side = DETECTOR_SIZE // stride
        rows, cols = np.divmod(np.arange(side * side, dtype=np.int64), side)
        cells.append(np.stack([cols, rows], 1))
        strides.append(np.full((side * side, 1), stride, np.int64))
    return np.concatenate(cells), np.concatenate(strides)


def person_boxes(predictions: F32, ratio: float) -> F64:
    """The person boxes in the detector's raw output.

    Args:
        predictions: (8400, 85) float32, the detector's output for one image.
        ratio: ``letterbox``'s scale from photo to input pixels.

    Returns:
        (N, 4) float64 boxes (x0, y0, x1, y1) in photo pixels, best first; N may be 0.
    """
    cells, strides = _anchor_grid()
    centres = ((predictions[:, :2] + cells) * strides).astype(np.float32)
    sizes = (np.exp(predictions[:, 2:4]) * strides).astype(np.float32)
    boxes = np.concatenate([centres - sizes / np.float32(2), centres + sizes / np.float32(2)], 1)
    boxes /= np.float32(ratio)
    scores = predictions[:, 4] * predictions[:, 5]
    candidates = scores > np.float32(CANDIDATE_SCORE)
    boxes, scores = boxes[candidates], scores[candidates]
    keep = non_maximum_suppression(boxes, scores, NMS_IOU)
    # The reference compares the kept scores in float64.
    keep = [i for i in keep if float(scores[i]) > PERSON_SCORE]
    return boxes[keep].astype(np.float64).reshape(-1, 4)


def non_maximum_suppression(boxes: F32, scores: F32, iou: float) -> list[int]:
    """Greedy NMS with YOLOX's inclusive pixel areas (``x1 - x0 + 1``).

    Args:
        boxes: (N, 4) float32 (x0, y0, x1, y1).
        scores: (N,) float32.
        iou: a box overlapping a kept one by more than this is dropped.

    Returns:
        Indices of the kept boxes, best first.
    """
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(0.0, np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]) + 1)
        overlap = w * h
        ratio = overlap / (areas[best] + areas[rest] - overlap)
        order = rest[ratio <= np.float32(iou)]
    return keep


def crop_person(bgr: Image, box: F64, input_size: tuple[int, int]) -> tuple[F32, F64, F64]:
    """The pose model's input for one person box.

    Args:
        bgr: (H, W, 3) uint8, BGR.
        box: (4,) float64 (x0, y0, x1, y1), photo pixels.
        input_size: (width, height) of the pose model's input.

    Returns:
        (1, 3, h, w) float32 normalised crop; (2,) float64 centre and (2,) float64 size
        (width, height) of the photo region it shows, in photo pixels.
    """
    w, h = input_size
    centre = np.array([box[0] + box[2], box[1] + box[3]]) * 0.5
    size = np.array([box[2] - box[0], box[3] - box[1]]) * BOX_PADDING
    aspect = w / h
    if size[0] > size[1] * aspect:
        size = np.array([size[0], size[0] / aspect])
    else:
        size = np.array([size[1] * aspect, size[1]])
    # Three matching points, as float32 (the reference's): the centre, the point half a
    # width above it and the point half a width to its left.
    src = np.zeros((3, 2), np.float32)
    src[0] = centre
    src[1] = centre + np.array([0.0, size[0] * -0.5])
    dst = np.zeros((3, 2), np.float32)
    dst[0] = (w * 0.5, h * 0.5)
    dst[1] = np.array([w * 0.5, h * 0.5]) + np.array([0.0, w * -0.5])
    for points in (src, dst):
        up = points[0] - points[1]
        points[2] = points[1] + np.array([-up[1], up[0]], np.float32)
    matrix = cv2.getAffineTransform(src, dst)
    crop = cv2.warpAffine(bgr, matrix, (w, h), flags=cv2.INTER_LINEAR)
    normalised = (crop - np.array(PIXEL_MEAN)) / np.array(PIXEL_STD)
    return normalised.transpose(2, 0, 1)[None].astype(np.float32), centre, size


def decode_simcc(simcc_x: F32, simcc_y: F32, split: float = SIMCC_SPLIT) -> tuple[F32, F32]:
    """Keypoints from SimCC vectors: each axis's arg-max bin over ``split``.

    Args:
        simcc_x: (K, Wx) float32 scores along x.
        simcc_y: (K, Wy) float32 scores along y.
        split: bins per input pixel.

    Returns:
        (K, 2) float32 (x, y) in the pose model's input pixels (-1 / split where the score
        is not positive) and (K,) float32 scores, the lower of the two maxima.
    """
    locs = np.stack([simcc_x.argmax(1), simcc_y.argmax(1)], -1).astype(np.float32)
    best_x, best_y = simcc_x.max(1), simcc_y.max(1)
    scores = np.where(best_x > best_y, best_y, best_x)  # the lower; NaN as the reference
    locs[scores <= 0.0] = -1
    return locs / np.float32(split), scores


def to_photo(locs: F32, input_size: tuple[int, int], centre: F64, size: F64) -> F64:
    """(K, 2) float64 photo pixels of ``decode_simcc``'s points in a crop of ``crop_person``."""
    return locs / np.array(input_size, np.float64) * size + centre - size / 2


def openpose_order(keypoints: F64, scores: F32) -> tuple[F64, F64]:
    """Adds the neck and puts the body first in OpenPose-18 order.

    Args:
        keypoints: (N, 133, 2) float64, COCO-WholeBody order, photo pixels.
        scores: (N, 133) float32.

    Returns:
        (N, 134, 2) float64 keypoints and (N, 134) float64 scores: OpenPose-18's 18
        body joints (the neck's score 1 when both shoulders score above 0.3, else 0),
        then COCO-WholeBody's points 17 to 132 (feet, face, left hand, right hand).
    """
    neck = (keypoints[:, 5] + keypoints[:, 6]) / 2
    shoulders = scores.astype(np.float64)[:, 5:7] > KEYPOINT_SCORE
    neck_score = shoulders.all(1).astype(np.float64)
    body = [neck if i < 0 else keypoints[:, i] for i in COCO_FOR_OPENPOSE]
    body_scores = [
        neck_score if i < 0 else scores[:, i].astype(np.float64) for i in COCO_FOR_OPENPOSE
    ]
    points = np.concatenate([np.stack(body, 1), keypoints[:, 17:]], 1)
    return points, np.concatenate([np.stack(body_scores, 1), scores[:, 17:]], 1)


def choose_person(keypoints: F64, scores: F64) -> int:
    """The person FASHN's reference keeps: the largest score x keypoint-box area.

    Only the body joints from the neck to the left ankle (OpenPose 1 to 13) count. The
    score is the sum of those scoring above 0.3; the box spans the positive coordinates
    of the joints that score above 0.3 *for the first person* (the reference applies the
    first person's mask to everyone; kept so the same person is chosen). When every
    product is 0, the highest score wins.

    Args:
        keypoints: (N, 134, 2) float64 from ``openpose_order``, photo pixels.
        scores: (N, 134) float64.

    Returns:
        The index of the chosen person.
    """
    seen = scores[:, 1:14] > KEYPOINT_SCORE
    totals = np.sum(scores[:, 1:14] * seen, axis=1)
    areas = np.zeros(len(keypoints))
    for person, points in enumerate(keypoints[:, 1:14]):
        kept = points[seen[0]]
        xs, ys = kept[:, 0][kept[:, 0] > 0], kept[:, 1][kept[:, 1] > 0]
        if len(xs) and len(ys):
            areas[person] = (xs.max() - xs.min()) * (ys.max() - ys.min())
    products = totals * areas
    products[~np.isfinite(products)] = 0
    if np.all(products == 0):
        return int(np.argmax(totals))
    return int(np.nanargmax(products))


class DWPose(Closeable):
    """DWPose's detector and whole-body pose model in two ONNX Runtime sessions.

    Build one, hand it to the code that needs whole-body keypoints, close it after.
    """

    def __init__(
        self,
        detector: Path,
        pose_model: Path,
        *,
        threads: int | None = None,
        providers: tuple[str, ...] = ("CPUExecutionProvider",),
    ) -> None:
        """Loads the two models.

        Args:
            detector: ``yolox_l.onnx`` (or a model with its input and output).
            pose_model: ``dw-ll_ucoco_384.onnx`` (or a model with its input and outputs).
            threads: threads of each session's operators (None: ONNX Runtime's default,
                one per core).
            providers: ONNX Runtime execution providers, in order of preference.

        Raises:
            DWPoseWeightsError: a file is missing; the message names it and the command
                that fetches it.
            TryOnError: onnxruntime is not installed, or the pose model's input size is
                not fixed.
        """
        missing = [str(path) for path in (detector, pose_model) if not Path(path).is_file()]
        if missing:
            raise DWPoseWeightsError(
                f"DWPose weights missing: {', '.join(missing)}; run '{FETCH_COMMAND}' on a "
                "machine with internet access"
            )
        try:
            import onnxruntime  # imported here: only DWPose needs it
        except ImportError:
            raise TryOnError("DWPose needs onnxruntime: pip install 'tryon[diffusion]'") from None
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._detector: Any = onnxruntime.InferenceSession(
            str(detector), options, providers=list(providers)
        )
        self._pose: Any = onnxruntime.InferenceSession(
            str(pose_model), options, providers=list(providers)
        )
        height, width = self._pose.get_inputs()[0].shape[2:]
        if not (isinstance(height, int) and isinstance(width, int)):
            raise TryOnError(f"the pose model {pose_model} has no fixed input size")
        self.input_size = (width, height)
        """(width, height) of the pose model's input."""

    @classmethod
    def from_dir(cls, root: Path, *, threads: int | None = None) -> DWPose:
        """Loads ``DWPOSE_WEIGHTS`` from the weights directory ``root``."""
        detector, pose_model = DWPOSE_WEIGHTS.paths(root)
        return cls(detector, pose_model, threads=threads)

    def close(self) -> None:
        """Releases both sessions; the object cannot be used afterwards."""
        self._detector = self._pose = None

    def __call__(self, image: Image) -> WholeBodyPose:
        """Finds the main person's whole-body keypoints.

        Args:
            image: (H, W, 3) uint8 RGB.

        Returns:
            The keypoints, normalised to ``image``; ``source`` "dwpose".

        Raises:
            ValueError: ``image`` is not (H, W, 3) uint8.
            RuntimeError: the object was closed.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"DWPose takes (H, W, 3) uint8 RGB, not {image.shape} {image.dtype}")
        bgr = np.ascontiguousarray(image[..., ::-1])
        h, w = bgr.shape[:2]
        boxes = self.detect(bgr)
        if not len(boxes):
            boxes = np.array([[0.0, 0.0, w, h]])
        keypoints, scores = openpose_order(*self.estimate(bgr, boxes))
        person = choose_person(keypoints, scores) if len(boxes) > 1 else 0
        points = keypoints[person] / np.array([float(w), float(h)])
        confidence = scores[person].astype(np.float32)
        return WholeBodyPose(
            body=points[:18],
            body_scores=confidence[:18],
            hands=np.stack([points[LEFT_HAND], points[RIGHT_HAND]]),
            hand_scores=np.stack([confidence[LEFT_HAND], confidence[RIGHT_HAND]]),
            face=points[FACE],
            face_scores=confidence[FACE],
            source="dwpose",
        )

    def detect(self, bgr: Image) -> F64:
        """(N, 4) float64 person boxes (x0, y0, x1, y1) in ``bgr``'s pixels, best first."""
        self._check_open()
        tensor, ratio = letterbox(bgr)
        name = self._detector.get_inputs()[0].name
        (predictions,) = self._detector.run(None, {name: tensor})[:1]
        return person_boxes(np.asarray(predictions[0], np.float32), ratio)

    def estimate(self, bgr: Image, boxes: F64) -> tuple[F64, F32]:
        """Each box's 133 COCO-WholeBody keypoints: (N, 133, 2) float64 photo pixels and
        (N, 133) float32 scores."""
        self._check_open()
        name = self._pose.get_inputs()[0].name
        keypoints, scores = [], []
        for box in boxes:
            tensor, centre, size = crop_person(bgr, box, self.input_size)
            simcc_x, simcc_y = self._pose.run(None, {name: tensor})[:2]
            locs, score = decode_simcc(simcc_x[0], simcc_y[0])
            keypoints.append(to_photo(locs, self.input_size, centre, size))
            scores.append(score)
        return np.stack(keypoints), np.stack(scores)

    def _check_open(self) -> None:
        if self._detector is None or self._pose is None:
            raise RuntimeError("this DWPose was closed")
