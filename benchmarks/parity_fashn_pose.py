"""Parity of the ``fashn`` engine's pose input with FASHN VTON v1.5's reference code.

Two comparisons, each printed as one JSON line:

* ``raster``: ``tryon.fashn.raster.draw_pose_raster`` against the reference's
  ``draw_pose(..., grayscale=True)`` on the same keypoints: random whole-body sets
  (points partly outside the photo, scores around the 0.3 threshold, random sizes) and
  the MediaPipe bodies of the photos (``tryon.body.wholebody``). Figures: how many
  rasters and pixels differ.
* ``dwpose``: ``tryon.body.dwpose.DWPose`` against the reference's ``DWposeDetector``
  with the same tiny random ONNX models (``tests/body/tiny_dwpose.py``; real weights
  cannot be downloaded here) on the photos and on random images: how many keypoints
  differ (exact comparison of the reference's pose dict) and how many raster pixels.

The reference's ``dwpose`` package is loaded by file from a checkout of
github.com/fashn-AI/fashn-vton-1.5 given with ``--reference`` (its package ``__init__``
would import the whole pipeline); it imports torch, onnxruntime, OpenCV and matplotlib.

    python benchmarks/parity_fashn_pose.py --reference PATH/TO/fashn-vton-1.5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_reference(checkout: Path) -> ModuleType:
    """The reference's ``fashn_vton.dwpose`` package, loaded alone by file."""
    folder = checkout / "src" / "fashn_vton" / "dwpose"
    spec = importlib.util.spec_from_file_location(
        "reference_dwpose", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def reference_pose(pose: Any) -> dict[str, Any]:
    """The reference's pose dict for a ``WholeBodyPose`` (what its detector returns)."""
    visible = pose.body_scores.astype(np.float64) > 0.3
    hands = np.where((pose.hand_scores.astype(np.float64) < 0.3)[..., None], -1.0, pose.hands)
    face = np.where((pose.face_scores.astype(np.float64) < 0.3)[:, None], -1.0, pose.face)
    return {
        "bodies": {
            "candidate": pose.body.copy(),
            "subset": np.where(visible, np.arange(18), -1).astype(np.float64)[None],
        },
        "hands": hands,
        "faces": face[None],
    }


def compare_rasters(reference: ModuleType, photos: list[Path], count: int) -> dict[str, Any]:
    """Rasters of random and MediaPipe keypoint sets, drawn by both renderers."""
    sys.path.insert(0, str(ROOT))
    from tests.fashn.poses import random_pose
    from tryon import TryOn
    from tryon.body.wholebody import wholebody_from_analysis
    from tryon.fashn.raster import draw_pose_raster

    rng = np.random.default_rng(0)
    cases = [
        (random_pose(seed), int(rng.integers(32, 900)), int(rng.integers(32, 900)))
        for seed in range(count)
    ]
    tryon = TryOn()
    for photo in photos:
        body = tryon.prepare_person(photo).body
        h, w = body.person_mask.shape
        scale = min(1.0, 864 / max(h, w))  # the reference's pre-resize: never upsampled
        cases.append((wholebody_from_analysis(body), int(h * scale), int(w * scale)))
    differing_rasters = differing_pixels = drawn = 0
    for pose, h, w in cases:
        ours = draw_pose_raster(pose, h, w)
        theirs = reference.draw_pose(reference_pose(pose), h, w, grayscale=True)
        diff = int((ours != theirs).sum())
        differing_rasters += diff > 0
        differing_pixels += diff
        drawn += int((theirs > 0).sum())
    return {
        "check": "raster",
        "rasters": len(cases),
        "mediapipe_rasters": len(photos),
        "drawn_pixels": drawn,
        "differing_rasters": differing_rasters,
        "differing_pixels": differing_pixels,
    }


def compare_dwpose(reference: ModuleType, photos: list[Path], count: int) -> dict[str, Any]:
    """Both DWPose runners with the same tiny random models on the same images."""
    sys.path.insert(0, str(ROOT))
    from tests.body.tiny_dwpose import random_detector, random_pose_model
    from tryon.body.dwpose import DWPose
    from tryon.fashn.raster import draw_pose_raster
    from tryon.imageio import load_image

    rng = np.random.default_rng(1)
    images = [load_image(p) for p in photos]
    images += [
        rng.integers(0, 256, (int(rng.integers(64, 900)), int(rng.integers(64, 900)), 3)).astype(
            np.uint8
        )
        for _ in range(count)
    ]
    figures = {"runs": 0, "people_seen": 0, "runs_without_person": 0, "differing_keypoints": 0}
    figures |= {"differing_rasters": 0, "differing_pixels": 0}
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder)
        for seed, objectness in ((0, 1.0), (1, -4.0)):  # many people, then few or none
            detector = random_detector(models / "yolox_l.onnx", seed, objectness)
            pose_model = random_pose_model(models / "dw-ll_ucoco_384.onnx", seed)
            theirs_model = reference.DWposeDetector(str(models), device="cpu")
            with DWPose(detector, pose_model) as ours_model:
                for image in images:
                    bgr = np.ascontiguousarray(image[..., ::-1])
                    people = len(ours_model.detect(bgr))
                    figures["runs"] += 1
                    figures["people_seen"] += people
                    figures["runs_without_person"] += people == 0
                    ours = ours_model(image)
                    theirs = theirs_model(image[..., ::-1])
                    expected = reference_pose(ours)
                    for got, want in (
                        (expected["bodies"]["candidate"], theirs["bodies"]["candidate"]),
                        (expected["bodies"]["subset"], theirs["bodies"]["subset"]),
                        (expected["hands"], theirs["hands"]),
                        (expected["faces"], theirs["faces"]),
                    ):
                        figures["differing_keypoints"] += int((got != want).any(-1).sum())
                    h, w = image.shape[:2]
                    diff = draw_pose_raster(ours, h, w) != reference.draw_pose(
                        theirs, h, w, grayscale=True
                    )
                    figures["differing_rasters"] += int(diff.any())
                    figures["differing_pixels"] += int(diff.sum())
    return {"check": "dwpose", **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, type=Path, help="fashn-vton-1.5 checkout")
    parser.add_argument("--random", type=int, default=500, help="random keypoint sets")
    parser.add_argument("--images", type=int, default=6, help="random images for DWPose")
    parser.add_argument(
        "--photos", type=Path, default=ROOT / "samples" / "people", help="folder of photos"
    )
    args = parser.parse_args()
    reference = load_reference(args.reference)
    photos = sorted(args.photos.glob("*.jpg"))
    print(json.dumps(compare_rasters(reference, photos, args.random)), flush=True)
    print(json.dumps(compare_dwpose(reference, photos, args.images)), flush=True)


if __name__ == "__main__":
    main()
