"""Times the scenery fill (``compose.scene.continue_scenery``) on one core.

Usage: python benchmarks/bench_scenery.py [--runs N] [--person P ...] [--garment G]

For each person photo, resized to 768x1024 and 1024x1376 (W x H), the old garment found
for the garment's category is filled; the fill before this one (push-pull at half
resolution) runs in the same process as the baseline. Prints a Markdown table and one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from bench_warp import photo_3x4
from threadpoolctl import threadpool_limits

from tryon import TryOn
from tryon.body.clothing import find_old_garment
from tryon.compose import scene
from tryon.ops import masks as M
from tryon.ops.fill import push_pull_fill

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared/data/photos"
SIZES = ((768, 1024), (1024, 1376))


def push_pull_baseline(image: np.ndarray, known: np.ndarray, region: np.ndarray, unit: float):
    """The previous fill: push-pull at half resolution, upsampled."""
    h, w = known.shape
    half = (w // 2, h // 2)
    small = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    small_known = cv2.resize(known.astype(np.float32), half, interpolation=cv2.INTER_AREA) > 0.99
    if min(h, w) < 8 or not small_known.any():
        return push_pull_fill(image, known)
    return cv2.resize(push_pull_fill(small, small_known), (w, h), interpolation=cv2.INTER_LINEAR)


def time_fill(photo, region, person_area, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        scene.continue_scenery(photo, region, person_area)
        times.append(time.process_time() - start)
    return float(np.median(times)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--person",
        type=Path,
        nargs="+",
        default=[PHOTOS / f"people/{p}.jpg" for p in ("p1_studio", "p2_walking", "p2_selfie")],
    )
    parser.add_argument("--garment", type=Path, default=PHOTOS / "garments/shirts_4_front.jpg")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows = []
    fill = scene._scenery_fill
    with TryOn(engine="warp") as tryon, threadpool_limits(1):
        garment = tryon.analyze_garment(args.garment.read_bytes())
        for path in args.person:
            for size in SIZES:
                photo = photo_3x4(path, size)
                result = tryon.run(photo, garment)
                old = find_old_garment(photo, result.body, result.agnostic_mask, result.category)
                region = M.dilate(old.mask, 2)
                cells = {"person": path.stem, "size": f"{size[0]}x{size[1]}"}
                for name, method in (("push_pull", push_pull_baseline), ("scenery", fill)):
                    scene._scenery_fill = method
                    cells[f"{name}_ms"] = round(
                        time_fill(photo, region, old.person_area, args.runs), 1
                    )
                scene._scenery_fill = fill
                rows.append(cells)
    print(f"continue_scenery, CPU ms per call (median of {args.runs}), 1 thread\n")
    print("| person | size | push-pull (before) | scenery fill |")
    print("|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['person']} | {r['size']} | {r['push_pull_ms']} | {r['scenery_ms']} |")
    print(json.dumps({"benchmark": "scenery_fill", "runs": args.runs, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
