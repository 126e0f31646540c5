"""OpenPose keypoints in and out: VITON-HD's OpenPose 1.3 JSON and DressCode's keypoint JSON.

Both hold one person's 18 body joints in OpenPose-18 (COCO-18) order. Rows are
``(x, y, confidence)`` in pixels of the image the file belongs to; a joint that was not
found is ``(0, 0, 0)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tryon.debug.steps import openpose_json
from tryon.errors import TryOnError

JOINTS = 18

DRESSCODE_KEYPOINT_SIZE = (512, 384)
"""(height, width) of the frame DressCode's keypoint files are written in: the dataset's
images are 1024 x 768, its keypoints were found on a half-size copy."""

Keypoints = npt.NDArray[np.float32]
"""(18, 3) float32 rows (x, y, confidence), pixels of the image they belong to."""


def read_openpose(path: Path) -> Keypoints:
    """Reads the first person of an OpenPose JSON file (VITON-HD's ``openpose_json``).

    Raises:
        TryOnError: the file is missing, not JSON, or has no person with 18 joints.
    """
    document = _read_json(path)
    people = document.get("people") if isinstance(document, dict) else None
    if not people:
        raise TryOnError(f"{path}: no person in this OpenPose file")
    values = people[0].get("pose_keypoints_2d") or people[0].get("pose_keypoints")
    return _rows(values, 3, path)


def openpose_document(keypoints: Keypoints) -> dict[str, Any]:
    """OpenPose 1.3 JSON (as read by VITON-HD) for one person's (18, 3) rows."""
    return openpose_json(_check(keypoints))


def read_dresscode_keypoints(path: Path, image_size: tuple[int, int]) -> Keypoints:
    """Reads a DressCode keypoint file and scales it to an image of ``image_size``.

    Args:
        path: ``keypoints/<id>_2.json``: ``{"keypoints": [[x, y, score, joint], ...]}``.
        image_size: (height, width) of the person image the points are wanted in.
    """
    document = _read_json(path)
    values = document.get("keypoints") if isinstance(document, dict) else None
    rows = _rows(values, 4, path)[:, :3].copy()
    scale = np.array(
        [image_size[1] / DRESSCODE_KEYPOINT_SIZE[1], image_size[0] / DRESSCODE_KEYPOINT_SIZE[0]],
        np.float32,
    )
    rows[:, :2] *= scale
    rows[rows[:, 2] <= 0] = 0
    return rows


def dresscode_document(keypoints: Keypoints, image_size: tuple[int, int]) -> dict[str, Any]:
    """DressCode's keypoint JSON for (18, 3) rows in pixels of an image of ``image_size``."""
    rows = _check(keypoints)
    scale = (
        DRESSCODE_KEYPOINT_SIZE[1] / image_size[1],
        DRESSCODE_KEYPOINT_SIZE[0] / image_size[0],
    )
    points = [
        [round(float(x * scale[0]), 3), round(float(y * scale[1]), 3), round(float(c), 4), joint]
        if c > 0
        else [0.0, 0.0, 0.0, joint]
        for joint, (x, y, c) in enumerate(rows)
    ]
    return {"keypoints": points}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TryOnError(f"{path}: no such keypoint file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TryOnError(f"{path}: not a readable JSON file ({exc})") from None


def _rows(values: object, width: int, path: Path) -> Keypoints:
    try:
        rows = np.asarray(values, np.float32).reshape(-1, width)
    except (TypeError, ValueError):
        raise TryOnError(f"{path}: keypoints are not a list of numbers") from None
    if rows.shape[0] < JOINTS:
        raise TryOnError(f"{path}: {rows.shape[0]} joints, OpenPose-18 needs {JOINTS}")
    return np.ascontiguousarray(rows[:JOINTS])


def _check(keypoints: Keypoints) -> Keypoints:
    rows = np.asarray(keypoints, np.float32)
    if rows.shape != (JOINTS, 3):
        raise ValueError(f"keypoints must be (18, 3) rows (x, y, confidence), got {rows.shape}")
    return rows
