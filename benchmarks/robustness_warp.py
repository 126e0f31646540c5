"""Every person x garment of a photo set, as given and altered, through the warp engine.

Usage: python benchmarks/robustness_warp.py [--photos DIR] [--variants LIST]

The photos as given are the ones the engine was looked at on; the variants stand in for
photos it has not seen: mirrored, smaller, larger, slightly turned, darker, cropped at
the sides. For each pair it records whether an image came out, whether it was refused
with a clear error (a ``TryOnError``), or whether anything else went wrong (a crash),
and checks the promise of every result: no pixel outside the agnostic mask changed, and
the category worn is the one the garment's shape says (no silent mismatch). Prints one
line per failure and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from tryon import TryOn, TryOnError, configure_process
from tryon.imageio import load_image
from tryon.types import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "photos"


def _turn(image: Image, degrees: float) -> Image:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(
        cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), np.uint8
    )


def _scale(image: Image, factor: float) -> Image:
    h, w = image.shape[:2]
    size = (round(w * factor), round(h * factor))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


VARIANTS: dict[str, Callable[[Image], Image]] = {
    "as_given": lambda im: im,
    "mirrored": lambda im: np.ascontiguousarray(im[:, ::-1]),
    "smaller": lambda im: _scale(im, 0.6),
    "larger": lambda im: _scale(im, 1.4),
    "turned": lambda im: _turn(im, 4.0),
    "darker": lambda im: np.asarray(np.clip(im.astype(np.float32) * 0.7, 0, 255), np.uint8),
    "narrower": lambda im: np.ascontiguousarray(im[:, im.shape[1] // 10 : -im.shape[1] // 10]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = SHARED if (SHARED / "people").is_dir() else ROOT / "samples"
    parser.add_argument("--photos", type=Path, default=default)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    configure_process()
    people = sorted((args.photos / "people").glob("*.jpg"))
    garments = sorted((args.photos / "garments").glob("*.jpg"))
    outcomes: Counter[str] = Counter()
    broken: list[str] = []
    with TryOn() as tryon:
        for variant in args.variants.split(","):
            change = VARIANTS[variant]
            for person_path in people:
                person = change(load_image(person_path))
                for garment_path in garments:
                    name = f"{variant}: {person_path.stem} x {garment_path.stem}"
                    outcome = _try(tryon, person, load_image(garment_path), name, broken)
                    outcomes[outcome] += 1
    for line in broken:
        print(line)
    total = sum(outcomes.values())
    print(
        json.dumps(
            {
                "benchmark": "robustness_warp",
                "pairs": total,
                **outcomes,
                "image_share": round(outcomes["image"] / max(total, 1), 3),
            }
        )
    )
    return 1 if outcomes["crash"] or outcomes["promise_broken"] else 0


def _try(tryon: TryOn, person: Image, garment: Image, name: str, broken: list[str]) -> str:
    try:
        result = tryon.run(person, garment)
    except TryOnError:
        return "refused"
    except Exception as error:  # counted and printed: that is the point
        broken.append(f"CRASH {name}: {type(error).__name__}: {error}")
        return "crash"
    outside = ~result.agnostic_mask
    changed = int(np.count_nonzero((result.image != person).any(axis=2) & outside))
    asked = tryon.analyze_garment(garment).category
    if changed or result.category is not asked or result.image.shape != person.shape:
        broken.append(
            f"BROKEN {name}: {changed} pixels changed outside the mask, "
            f"category {result.category.value} for a {asked.value} garment"
        )
        return "promise_broken"
    return "image"


if __name__ == "__main__":
    sys.exit(main())
