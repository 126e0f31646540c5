"""What a catalogued garment saves: TryOn.run with the raw garment photo vs its analysis.

Usage: python benchmarks/bench_catalog.py [--runs N] [--person P] [--garment G]

The person is centre-cropped to 768x1024. Raw and catalogued runs alternate, so load
from other work on the machine hits both alike. Also times reading the analysis from
disk with a new ``Catalog`` (what a fresh worker process pays once per garment). Prints
one JSON line of p50 figures in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_warp import photo_3x4

from tryon import TryOn, configure_process
from tryon.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]


def p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--person", type=Path, default=ROOT / "samples/people/p1_studio.jpg")
    parser.add_argument(
        "--garment", type=Path, default=ROOT / "samples/garments/shirts_2_front.jpg"
    )
    args = parser.parse_args()
    person = photo_3x4(args.person)
    photo = args.garment.read_bytes()
    configure_process()
    tryon = TryOn(engine="warp")
    with tempfile.TemporaryDirectory() as folder:
        catalog = Catalog(folder, tryon=tryon)
        garment = catalog.add(photo).record.id
        for _ in range(3):  # warm-up: first calls allocate model buffers
            tryon.run(person, catalog.analysis(garment))
        raw, catalogued, read_cold = [], [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            tryon.run(person, photo)
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            tryon.run(person, catalog.analysis(garment))
            catalogued.append(time.perf_counter() - start)
            start = time.perf_counter()
            Catalog(folder).analysis(garment)
            read_cold.append(time.perf_counter() - start)
    figures = {
        "benchmark": "catalog",
        "person": "768x1024",
        "garment": args.garment.name,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "raw_photo_p50_ms": p50_ms(raw),
        "catalogued_p50_ms": p50_ms(catalogued),
        "saved_p50_ms": round(p50_ms(raw) - p50_ms(catalogued), 1),
        "catalog_read_from_disk_p50_ms": p50_ms(read_cold),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
