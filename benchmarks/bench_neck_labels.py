"""The labels inside the back of a top's neck: what is found, and what it costs.

Usage: python benchmarks/bench_neck_labels.py [--photos DIR] [--seeds N]

For each garment photo of ``DIR/garments`` (default: the test photo set) that is a top,
prints the labels found (their boxes) and the time of finding them and of painting them
over. Then, on a plain drawn top printed all over with a blotchy pattern (Gaussian-
blurred noise at three scales, ``N`` seeds each) and no label at all, how many prints
had a motif taken for a label: the false finds the detector's rules let through.
Prints one JSON line with the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.photos import PHOTOS  # noqa: E402
from tryon.garment.landmarks import GarmentKind, garment_kind, outline, top_landmarks  # noqa: E402
from tryon.garment.neck_label import find_neck_labels  # noqa: E402
from tryon.garment.segment import segment_product  # noqa: E402
from tryon.imageio import load_image  # noqa: E402
from tryon.ops.inpaint import inpaint_boxes  # noqa: E402
from tryon.types import GarmentLandmarks  # noqa: E402

PRINT_SCALES = (1.5, 2.0, 3.0)
"""Blur of the printed pattern, pixels, on a top whose shoulders are 300 pixels apart:
motifs from a little under to a little over a small label's size."""


def photo_labels(photos: Path) -> dict[str, dict]:
    """Labels found on each top of ``photos/garments`` and the times, milliseconds."""
    out = {}
    for path in sorted((photos / "garments").glob("*.jpg")):
        image = load_image(path)
        mask = segment_product(image)
        shape = outline(mask)
        if garment_kind(mask, shape) not in (GarmentKind.TOP, GarmentKind.DRESS):
            continue
        landmarks, _, _ = top_landmarks(mask, shape)
        finds, paints = [], []
        for _ in range(5):
            start = time.perf_counter()
            labels = find_neck_labels(image, mask, landmarks)
            finds.append(time.perf_counter() - start)
            start = time.perf_counter()
            inpaint_boxes(image, mask, labels)
            paints.append(time.perf_counter() - start)
        out[path.name] = {
            "labels": [list(box) for box in labels],
            "find_ms": round(1000 * statistics.median(finds), 1),
            "paint_ms": round(1000 * statistics.median(paints), 1),
        }
    return out


def printed_top(seed: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A 600 px top on a light backdrop, printed all over, with no label."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((600, 600), np.uint8)
    cv2.rectangle(mask, (120, 100), (480, 560), 255, -1)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (600, 600)).astype(np.float32), (0, 0), scale)
    pattern = 150 + 60 * noise / max(float(noise.std()), 1e-6)
    image = np.full((600, 600, 3), 235, np.float32)
    image[mask > 0] = np.stack([0.5 * pattern, 0.8 * pattern, pattern], -1)[mask > 0]
    return np.clip(image, 0, 255).astype(np.uint8), mask > 0


def false_finds(seeds: int) -> dict[str, int]:
    """Per print scale, how many of ``seeds`` printed tops had a label found."""
    landmarks = GarmentLandmarks(
        neckline=(300.0, 100.0), shoulder_r=(150.0, 110.0), shoulder_l=(450.0, 110.0)
    )
    out = {}
    for scale in PRINT_SCALES:
        found = 0
        for seed in range(seeds):
            image, mask = printed_top(seed, scale)
            found += bool(find_neck_labels(image, mask, landmarks))
        out[f"blur_{scale}"] = found
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--seeds", type=int, default=16)
    args = parser.parse_args()
    tops = photo_labels(args.photos)
    for name, row in tops.items():
        print(
            f"{name:24s} {len(row['labels'])} label(s) {row['labels']}  "
            f"find {row['find_ms']} ms, paint {row['paint_ms']} ms"
        )
    prints = false_finds(args.seeds)
    for scale, found in prints.items():
        print(f"all-over print, {scale}: a motif taken for a label on {found} of {args.seeds}")
    print(json.dumps({"benchmark": "neck_labels", "tops": tops, "print_false_finds": prints}))


if __name__ == "__main__":
    main()
