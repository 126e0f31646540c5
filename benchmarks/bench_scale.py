"""Dynamic batching on Ray Serve: diffusion throughput with batches vs batch size 1.

Starts a local Ray cluster (``num_gpus=1`` declared, so the GPU-pinned deployment is
schedulable on a CPU machine), deploys only the ``DiffusionModel`` deployment of
``tryon.scale`` once per batch size, and drives it with N concurrent clients through a
Serve handle, each streaming its request's steps like the service's job workers do.
Every run has the same ``max_ongoing_requests``, so only the batching differs.

Prints one JSON line per batch size, then a table: images/s, latency p50/p95, the mean
batch the model ran, and the speed-up over batch size 1 (same process, same machine).

    python benchmarks/bench_scale.py                      # tiny models on the CPU
    python benchmarks/bench_scale.py --model real --device cuda --size 512x384 --steps 16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def parse_size(text: str) -> tuple[int, int]:
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def write_weights(kind: str, folder: Path) -> None:
    """A weights folder in the Hugging Face layout with seeded random weights."""
    if kind == "tiny":
        sys.path.insert(0, str(ROOT))
        from tests.diffusion.tiny import write_weights as write_tiny

        write_tiny(folder)
        return
    from tryon.diffusion.models import build_models, random_attention_state, save_weights

    models = build_models(seed=0)  # the real configs: 859M-parameter UNet, real VAE
    save_weights(models, random_attention_state(models.unet), folder)


def inputs(size: tuple[int, int]) -> Any:
    """A person photo, a garment photo and a torso mask at ``size`` (no body analysis)."""
    from tryon.imageio import load_image
    from tryon.service.diffusion_jobs import RenderRequest

    samples = ROOT / "samples"
    person = load_image(next((samples / "people").glob("*.jpg")))
    garment = load_image(next((samples / "garments").glob("*.jpg")))
    import cv2

    person = cv2.resize(person, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    mask = np.zeros(size, bool)
    mask[size[0] // 5 : size[0] * 3 // 5, size[1] // 4 : size[1] * 3 // 4] = True
    return RenderRequest(person, garment, mask)


def drive(handle: Any, request: Any, total: int, concurrency: int) -> dict[str, Any]:
    """``total`` requests from ``concurrency`` clients; latencies and batch sizes."""
    latencies: list[float] = []
    batches: list[int] = []
    left = [total]
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        from tryon.service.diffusion_jobs import Rendering

        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            start = time.perf_counter()
            try:
                for event in handle.generate.remote(request):
                    if isinstance(event, Rendering):
                        batch = event.batch
            except Exception as exc:  # a benchmark reports errors, it does not stop
                errors.append(type(exc).__name__)
                continue
            with lock:
                latencies.append(time.perf_counter() - start)
                batches.append(batch)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "images_per_s": round(len(latencies) / wall, 3),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "mean_batch": round(statistics.fmean(batches), 2),
        "errors": len(errors),
        "wall_s": round(wall, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--requests", type=int, default=48, help="requests per batch size")
    parser.add_argument("--concurrency", type=int, default=8, help="clients at once")
    parser.add_argument("--batch-wait-ms", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=8, help="denoising steps per image")
    parser.add_argument("--size", type=parse_size, default=(256, 192), help="HxW")
    parser.add_argument("--model", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    import ray
    from ray import serve

    from tryon.scale import ScaleConfig
    from tryon.scale.deployments import diffusion_application
    from tryon.service.settings import ServiceSettings

    os.environ.setdefault("GLOG_minloglevel", "2")
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    write_weights(args.model, work / "weights")
    request = inputs(args.size)
    settings = ServiceSettings(
        catalog_dir=work / "catalog",
        weights_dir=work / "weights",
        diffusion_steps=args.steps,
        diffusion_area=args.size[0] * args.size[1],
        diffusion_device=args.device,
        diffusion_preset="fast" if args.device == "cuda" else "compat",
    )
    gpus = 1 if args.device == "cpu" else None  # declared on a CPU machine; found on a GPU one
    ray.init(num_cpus=2 if args.device == "cpu" else None, num_gpus=gpus, include_dashboard=False,
             log_to_driver=False, object_store_memory=512 * 2**20)  # fmt: skip
    ongoing = max(2 * max(args.batch_sizes), args.concurrency)
    results = []
    try:
        for batch in args.batch_sizes:
            config = ScaleConfig(
                max_batch_size=batch,
                batch_wait_s=args.batch_wait_ms / 1000,
                max_ongoing_requests=ongoing,
                diffusion_cpus=1.0,
            )
            handle = serve.run(diffusion_application(settings, config), name="bench")
            handle = handle.options(stream=True)
            drive(handle, request, total=batch, concurrency=batch)  # warm-up: load, first calls
            row = {
                "batch_size": batch,
                "concurrency": args.concurrency,
                "requests": args.requests,
                "steps": args.steps,
                "size": f"{args.size[0]}x{args.size[1]}",
                "model": args.model,
                "device": args.device,
                **drive(handle, request, args.requests, args.concurrency),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            serve.delete("bench")
    finally:
        serve.shutdown()
        ray.shutdown()
    base = results[0]["images_per_s"]
    print("\n| max batch size | images/s | p50 s | p95 s | mean batch | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['batch_size']} | {row['images_per_s']} | {row['p50_s']} | {row['p95_s']} "
            f"| {row['mean_batch']} | {row['images_per_s'] / base:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
