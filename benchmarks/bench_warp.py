"""Times the warp engine per stage at 768x1024 on this machine.

Usage: python benchmarks/bench_warp.py [--runs N] [--person P] [--garment G]

Prints a Markdown table (p50 / p95 per stage, cached and uncached garment analysis),
the p50 of a try-on on a prepared person (``TryOn.prepare_person``: what each further
garment costs a shopper), and one JSON line with the same figures plus peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from tryon import TryOn, configure_process
from tryon.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]


def photo_3x4(path: Path, size: tuple[int, int] = (768, 1024)) -> np.ndarray:
    """The photo centre-cropped to 3:4 and resized to ``size`` (W x H; 768x1024 unless
    told)."""
    image = load_image(path)
    h, w = image.shape[:2]
    if h * 3 > w * 4:
        top = (h - w * 4 // 3) // 2
        image = image[top : top + w * 4 // 3]
    else:
        left = (w - h * 3 // 4) // 2
        image = image[:, left : left + h * 3 // 4]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--person", type=Path, default=ROOT / "samples/people/p1_studio.jpg")
    parser.add_argument(
        "--garment", type=Path, default=ROOT / "samples/garments/shirts_2_front.jpg"
    )
    args = parser.parse_args()
    person = photo_3x4(args.person)
    garment_bytes = args.garment.read_bytes()
    load_before = os.getloadavg()[0]
    configure_process()
    tryon = TryOn(engine="warp")
    cached = tryon.analyze_garment(garment_bytes)
    for _ in range(3):  # warm-up: first calls allocate model buffers
        tryon.run(person, cached)
    stages: dict[str, dict[str, list[float]]] = {"cached": {}, "uncached": {}}
    cpu: dict[str, float] = {}
    for mode in stages:
        cpu_start = time.process_time()
        for _ in range(args.runs):
            start = time.perf_counter()
            result = tryon.run(person, cached if mode == "cached" else garment_bytes)
            wall = time.perf_counter() - start
            for name, seconds in {**result.timings, "end_to_end": wall}.items():
                stages[mode].setdefault(name, []).append(seconds)
        cpu[mode] = (time.process_time() - cpu_start) / args.runs
    prepared = tryon.prepare_person(person)
    tryon.run(prepared, cached)  # the category's side of the person is made once
    reuse = []
    cpu_start = time.process_time()
    for _ in range(args.runs):
        start = time.perf_counter()
        tryon.run(prepared, cached)
        reuse.append(time.perf_counter() - start)
    cpu["prepared"] = (time.process_time() - cpu_start) / args.runs
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"warp engine, 768x1024 person, {args.runs} runs each, {os.cpu_count()} CPUs\n")
    print("| stage | cached p50 ms | cached p95 ms | uncached p50 ms | uncached p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for name in stages["uncached"]:
        c, u = stages["cached"][name], stages["uncached"][name]
        cells = [percentile(c, 50), percentile(c, 95), percentile(u, 50), percentile(u, 95)]
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    print(
        f"\nprepared person, cached garment: p50 {percentile(reuse, 50):.1f} ms, "
        f"p95 {percentile(reuse, 95):.1f} ms"
    )
    # CPU time of all the process's threads: what a try-on costs a busy server's cores.
    print(
        "CPU time per try-on (all threads): "
        + ", ".join(f"{mode} {seconds * 1000:.0f} ms" for mode, seconds in cpu.items())
    )
    load = (load_before, os.getloadavg()[0])
    print(f"\npeak RSS: {peak_rss_mb:.0f} MB")
    # Other work on the machine inflates every figure: a 1-minute load average above
    # about 1 means the benchmark shared the CPUs.
    print(f"load average (1 min) before / after: {load[0]:.1f} / {load[1]:.1f}")
    summary = {
        "benchmark": "warp_768x1024",
        "runs": args.runs,
        "cached_p50_ms": round(percentile(stages["cached"]["end_to_end"], 50), 1),
        "uncached_p50_ms": round(percentile(stages["uncached"]["end_to_end"], 50), 1),
        "prepared_person_p50_ms": round(percentile(reuse, 50), 1),
        "cpu_ms_per_tryon": {mode: round(seconds * 1000, 1) for mode, seconds in cpu.items()},
        "stages_p50_ms": {
            k: round(statistics.median(v) * 1000, 1) for k, v in stages["cached"].items()
        },
        "peak_rss_mb": round(peak_rss_mb),
        "load_average": [round(v, 1) for v in load],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
