"""Cut quality and time of the product-photo garment cut on light-on-light photos.

Usage: python benchmarks/bench_garment_cut.py [--photos DIR] [--baseline FILE]

Each real garment photo of ``DIR/garments`` (default: the test photo set) is cut as it
is; that mask is the truth for light-on-light versions of it (every look of
``tests/garment/light_photos.py``, with and without a drop shadow; sensor noise and
JPEG). Prints, per look and shadow, the mean and minimum IoU of the cut against the
truth and how many were refused (IoU 0), the p50 / p95 time of one cut on one thread,
and one JSON line with the same figures. ``--baseline`` names another version of
``segment.py`` (say ``git show HEAD~1:src/tryon/garment/segment.py > old.py``): it is
measured in the same process on the same photos.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.garment.light_photos import LOOKS, iou, light_photo  # noqa: E402
from tests.photos import PHOTOS  # noqa: E402
from tryon.errors import GarmentNotFoundError  # noqa: E402
from tryon.garment.segment import segment_product  # noqa: E402
from tryon.imageio import load_image  # noqa: E402

Cut = Callable[[np.ndarray], np.ndarray]


def load_baseline(path: Path) -> Cut:
    """``segment_product`` of another version of ``segment.py``."""
    spec = importlib.util.spec_from_file_location("baseline_segment", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.segment_product  # type: ignore[no-any-return]


def measure(cut: Cut, cases: list[tuple[str, bool, np.ndarray, np.ndarray]]) -> dict:
    """IoU per (look, shadow) and cut times over ``cases`` of (look, shadow, photo, truth)."""
    scores: dict[str, list[float]] = {}
    times: list[float] = []
    for look, shadow, photo, truth in cases:
        start = time.perf_counter()
        try:
            score = iou(cut(photo), truth)
        except GarmentNotFoundError:
            score = 0.0
        times.append(time.perf_counter() - start)
        scores.setdefault(f"{look}{'+shadow' if shadow else ''}", []).append(score)
    everything = [s for values in scores.values() for s in values]
    return {
        "groups": {
            name: {
                "mean_iou": round(float(np.mean(v)), 4),
                "min_iou": round(float(np.min(v)), 4),
                "refused": int(sum(s == 0 for s in v)),
                "n": len(v),
            }
            for name, v in scores.items()
        },
        "mean_iou": round(float(np.mean(everything)), 4),
        "iou_above_0.95": round(float(np.mean([s > 0.95 for s in everything])), 4),
        "refused": int(sum(s == 0 for s in everything)),
        "n": len(everything),
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(float(np.percentile(times, 95)) * 1000, 1),
    }


def build_cases(folder: Path) -> tuple[list, dict[str, str]]:
    """The light-on-light photos of every garment photo in ``folder`` with their truths."""
    cases = []
    for n, path in enumerate(sorted(folder.glob("*.jpg"))):
        photo = load_image(path)
        truth = segment_product(photo)
        for look in LOOKS:
            for shadow in (False, True):
                light = light_photo(photo, truth, look, shadow=shadow, seed=n)
                cases.append((look.name, shadow, light, truth))
    return cases, {}


def report(name: str, result: dict) -> None:
    print(f"\n## {name}: mean IoU {result['mean_iou']}, refused {result['refused']}/{result['n']}")
    print(f"cut time p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms (one thread)\n")
    print("| look | mean IoU | min IoU | refused |\n|---|---|---|---|")
    for group, g in result["groups"].items():
        print(f"| {group} | {g['mean_iou']} | {g['min_iou']} | {g['refused']}/{g['n']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS / "garments")
    parser.add_argument("--baseline", type=Path, help="another segment.py to compare with")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    cases, _ = build_cases(args.photos)
    results = {"current": measure(segment_product, cases)}
    if args.baseline is not None:
        results["baseline"] = measure(load_baseline(args.baseline), cases)
    for name, result in results.items():
        report(name, result)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
