"""The cut of a top out of photos of people wearing it: its neckline and its rim.

Usage: python benchmarks/bench_worn_cut.py [--photos DIR]

For each person photo of ``DIR/people`` (default: the test photo set), the top is cut
out as for a person-to-person try-on (``cut_worn_top``), and printed:

* where the cut starts above the wearer's neck, in shoulder widths above the shoulder
  line (negative: below it). Without its back the neckline is a notch as deep as the
  wearer's neck, which a new wearer sees as a tall rectangle of painted skin;
* how many of the cut's pixels are coloured like a light plain wall (L* > 85, chroma
  < 6): the slivers of scenery an edge smoothed at a coarse scale keeps;
* the cut's time.

Prints one JSON line with the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.photos import PHOTOS  # noqa: E402
from tryon import TryOn, TryOnError  # noqa: E402
from tryon.garment.worn_cut import cut_worn_top  # noqa: E402
from tryon.imageio import load_image  # noqa: E402
from tryon.ops.color import rgb_to_lab  # noqa: E402
from tryon.types import Joint  # noqa: E402


def measure(tryon: TryOn, path: Path) -> dict[str, float | int]:
    """The figures of one photo's cut."""
    image = load_image(path)
    body = tryon.engine.analyzers.body.analyze(image, role="garment photo")
    start = time.perf_counter()
    cut = cut_worn_top(image, body)
    seconds = time.perf_counter() - start
    kp = body.keypoints
    neck = kp.joint(Joint.NECK)
    span = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    column = cut.mask[:, int(neck[0])]
    top = int(np.argmax(column)) if column.any() else image.shape[0]
    lab = rgb_to_lab(image)
    wall = (lab[..., 0] > 85) & (np.hypot(lab[..., 1], lab[..., 2]) < 6)
    return {
        "top_above_shoulders": round((neck[1] - top) / span, 3),
        "wall_pixels": int((cut.visible & wall).sum()),
        "cut_pixels": int(cut.visible.sum()),
        "cut_ms": round(1000 * seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    args = parser.parse_args()
    tryon = TryOn(engine="warp")
    rows = {}
    for path in sorted((args.photos / "people").glob("*.jpg")):
        try:
            rows[path.stem] = measure(tryon, path)
        except TryOnError as error:
            print(f"{path.stem:12s} refused: {error}")
            continue
        row = rows[path.stem]
        print(
            f"{path.stem:12s} starts {row['top_above_shoulders']:+.2f} shoulder widths above "
            f"the shoulders; {row['wall_pixels']} wall-coloured of {row['cut_pixels']} "
            f"pixels; {row['cut_ms']} ms"
        )
    print(json.dumps({"benchmark": "worn_cut", "photos": rows}))


if __name__ == "__main__":
    main()
