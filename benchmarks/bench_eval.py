"""Builds a VITON-HD dataset from a photo folder and evaluates the warp engine on it.

Usage: python benchmarks/bench_eval.py [--photos DIR] [--size WxH] [--keep DIR]

``--photos`` holds ``people/`` and ``garments/`` (default: the project's ``samples/``);
every person is paired with every other garment of the category (unpaired), and a
garment photo named like a person photo is that person's own (paired). Prints the
build's and the evaluation's figures as a Markdown table and one JSON line, with the
load average before and after (other work on the machine inflates every time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from tryon import TryOn, configure_process
from tryon.dataset import BuildConfig, PairMode, build_dataset, open_dataset
from tryon.dataset.build import PhotoAnalyzer
from tryon.evaluation import EngineSystem, EvalConfig, evaluate, write_report

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=Path, default=ROOT / "samples")
    parser.add_argument("--size", default="768x1024", help="width x height")
    parser.add_argument("--keep", type=Path, help="write the dataset and report here")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        configure_process()
        tryon = TryOn(engine="warp")
        start = time.perf_counter()
        summary = build_dataset(
            args.photos,
            out / "dataset",
            BuildConfig(size=(height, width), unpaired_per_person=0),
            PhotoAnalyzer(tryon.engine.analyzers),
        )
        build_s = time.perf_counter() - start
        dataset = open_dataset(out / "dataset")
        config = EvalConfig(mode=PairMode.UNPAIRED, metrics=frozenset({"ssim", "shop"}))
        start = time.perf_counter()
        evaluation = evaluate(dataset, [EngineSystem("warp", tryon)], out / "report", config)
        write_report(evaluation)
        eval_s = time.perf_counter() - start
    scores = evaluation.systems[0].summary()
    figures = {
        "photos_built": summary.built + summary.kept,
        "photos_skipped": len(summary.failed),
        "build_s": round(build_s, 2),
        "build_s_per_photo": round(build_s / max(1, summary.built + summary.kept), 3),
        "pairs": summary.pairs,
        "eval_s": round(eval_s, 2),
        "latency_median_s": round(scores["latency_median_s"], 3),
        "latency_p90_s": round(scores["latency_p90_s"], 3),
        "changed_outside": scores["changed_outside"],
        "face_identical": scores["face_identical"],
        "delta_e": round(scores["delta_e"], 2),
        "peak_rss_mib": round(scores["peak_rss_mib"]),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    print("| figure | value |\n|---|---:|")
    for key, value in figures.items():
        print(f"| {key} | {value} |")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
