"""Tiny ONNX models with the signatures of DWPose's two (built with the ``onnx`` package).

The real ones (``tryon.body.dwpose``): YOLOX-L ``images (1, 3, 640, 640)`` float32 ->
``output (1, 8400, 85)``; RTMPose-L whole-body ``input (1, 3, 384, 288)`` -> ``simcc_x
(1, 133, 576)``, ``simcc_y (1, 133, 768)``. Three kinds here:

* ``fixed_detector``: always answers the given predictions (boxes placed by a test);
* ``random_detector`` / ``random_pose_model``: seeded random linear maps of pooled
  pixels, so their boxes and keypoints follow the photo (for comparisons);
* ``marker_pose_model``: every keypoint at the first brightest column and row of its
  input crop, so a bright marker in a photo must come back where it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DETECTOR_INPUT = (1, 3, 640, 640)
DETECTOR_OUTPUT = (1, 8400, 85)
POSE_INPUT = (1, 3, 384, 288)
KEYPOINTS = 133
OPSET = 17


def _save(nodes: list, inputs: list, outputs: list, constants: dict, path: Path) -> Path:
    graph = helper.make_graph(
        nodes,
        path.stem,
        inputs,
        outputs,
        initializer=[numpy_helper.from_array(v, k) for k, v in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _tensor(name: str, shape: tuple[int, ...]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


_DETECTOR_IO = ([_tensor("images", DETECTOR_INPUT)], [_tensor("output", DETECTOR_OUTPUT)])
"""The detector's input and output."""


def _save_pose_model(nodes: list, constants: dict, input_shape: tuple, path: Path) -> Path:
    """Saves a pose model graph: ``input`` in, ``simcc_x`` and ``simcc_y`` out."""
    _, _, h, w = input_shape
    outputs = [
        _tensor("simcc_x", (1, KEYPOINTS, 2 * w)),
        _tensor("simcc_y", (1, KEYPOINTS, 2 * h)),
    ]
    return _save(nodes, [_tensor("input", input_shape)], outputs, constants, path)


def fixed_detector(path: Path, predictions: np.ndarray) -> Path:
    """A detector whose output is ``predictions`` (8400, 85) whatever the photo."""
    assert predictions.shape == DETECTOR_OUTPUT[1:]
    constants = {
        "answer": predictions[None].astype(np.float32),
        "zero": np.zeros(1, np.float32),
    }
    nodes = [
        # The photo is read (a model must use its input), times zero.
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[0, 1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["answer", "nothing"], ["output"]),
    ]
    return _save(nodes, *_DETECTOR_IO, constants, path)


def random_detector(path: Path, seed: int = 0, objectness: float = 1.0) -> Path:
    """A detector of random boxes that depend on the photo's pooled pixels.

    Each anchor's 85 values are a random linear map of the mean BGR of its cell; the
    objectness and class scores go through a sigmoid, as YOLOX's export does.
    ``objectness`` shifts the objectness logit (lower: fewer people).
    """
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1 / 255, (85, 3, 1, 1)).astype(np.float32)
    bias = np.concatenate(
        [
            rng.uniform(0, 1, 2),  # centre offset, cells
            rng.uniform(2.0, 3.5, 2),  # log size, cells
            [objectness],
            rng.normal(0, 1, 80),
        ]
    ).astype(np.float32)
    constants = {"weight": weight, "bias": bias, "shape": np.array([1, 85, -1], np.int64)}
    nodes, flat = [], []
    for stride in (8, 16, 32):
        pooled, conv, out = f"pool{stride}", f"conv{stride}", f"flat{stride}"
        nodes += [
            helper.make_node(
                "AveragePool", ["images"], [pooled], kernel_shape=[stride] * 2, strides=[stride] * 2
            ),
            helper.make_node("Conv", [pooled, "weight", "bias"], [conv]),
            helper.make_node("Reshape", [conv, "shape"], [out]),
        ]
        flat.append(out)
    constants["split"] = np.array([4, 81], np.int64)
    nodes += [
        helper.make_node("Concat", flat, ["anchors"], axis=2),
        helper.make_node("Transpose", ["anchors"], ["rows"], perm=[0, 2, 1]),
        helper.make_node("Split", ["rows", "split"], ["boxes", "logits"], axis=2),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
        helper.make_node("Concat", ["boxes", "scores"], ["output"], axis=2),
    ]
    return _save(nodes, *_DETECTOR_IO, constants, path)


def random_pose_model(path: Path, seed: int = 0, input_shape: tuple = POSE_INPUT) -> Path:
    """A pose model whose SimCC vectors are random linear maps of the crop's column and
    row means (so its keypoints follow the photo)."""
    rng = np.random.default_rng(seed)
    _, _, h, w = input_shape
    constants = {
        "mix": rng.normal(0, 1, (KEYPOINTS, 3)).astype(np.float32),
        "spread_x": rng.normal(0, 0.004, (w, 2 * w)).astype(np.float32),
        "spread_y": rng.normal(0, 0.004, (h, 2 * h)).astype(np.float32),
        "offset": rng.uniform(-0.3, 0.3, (KEYPOINTS, 1)).astype(np.float32),
    }
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["columns"], axes=[2], keepdims=0),
        helper.make_node("ReduceMean", ["input"], ["rows"], axes=[3], keepdims=0),
    ]
    for axis, profile in (("x", "columns"), ("y", "rows")):
        nodes += [
            helper.make_node("MatMul", ["mix", profile], [f"mixed_{axis}"]),
            helper.make_node("MatMul", [f"mixed_{axis}", f"spread_{axis}"], [f"raw_{axis}"]),
            helper.make_node("Add", [f"raw_{axis}", "offset"], [f"simcc_{axis}"]),
        ]
    return _save_pose_model(nodes, constants, input_shape, path)


def marker_pose_model(path: Path, input_shape: tuple = POSE_INPUT) -> Path:
    """A pose model that puts all 133 keypoints on the brightest column and row of its
    crop (the first, where several are as bright), with its brightness as the score."""
    _, _, h, w = input_shape
    nodes = []
    constants: dict[str, np.ndarray] = {}
    for axis, reduce, size in (("x", [1, 2], w), ("y", [1, 3], h)):
        # Each pixel's brightness twice in a row: SimCC's two bins per pixel.
        constants[f"shape_{axis}"] = np.array([1, 1, 2 * size], np.int64)
        constants[f"wide_{axis}"] = np.array([1, KEYPOINTS, 2 * size], np.int64)
        nodes += [
            helper.make_node("ReduceMax", ["input"], [f"profile_{axis}"], axes=reduce, keepdims=0),
            helper.make_node("Unsqueeze", [f"profile_{axis}", "last"], [f"column_{axis}"]),
            helper.make_node("Concat", [f"column_{axis}"] * 2, [f"pairs_{axis}"], axis=2),
            helper.make_node("Reshape", [f"pairs_{axis}", f"shape_{axis}"], [f"bins_{axis}"]),
            helper.make_node("Expand", [f"bins_{axis}", f"wide_{axis}"], [f"simcc_{axis}"]),
        ]
    constants["last"] = np.array([2], np.int64)
    return _save_pose_model(nodes, constants, input_shape, path)


def box_predictions(
    boxes: list[tuple[float, float, float, float, float]],
) -> np.ndarray:
    """(8400, 85) detector output holding ``boxes``, (x0, y0, x1, y1, score) in the
    detector's 640 x 640 input pixels, each on the stride-8 anchor nearest its centre;
    every other anchor scores 0."""
    predictions = np.zeros(DETECTOR_OUTPUT[1:], np.float32)
    predictions[:, 2:4] = -10.0  # tiny boxes
    for x0, y0, x1, y1, score in boxes:
        cx, cy = (x0 + x1) / 2 / 8, (y0 + y1) / 2 / 8
        col, row = int(cx), int(cy)
        anchor = row * 80 + col
        predictions[anchor, :4] = (cx - col, cy - row, np.log((x1 - x0) / 8), np.log((y1 - y0) / 8))
        predictions[anchor, 4] = 1.0
        predictions[anchor, 5] = score
    return predictions
