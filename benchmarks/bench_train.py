"""Speed and memory of a training step on the real-size architecture, random weights.

Builds the SD-1.5 inpainting UNet (859.5M parameters) and the sd-vae-ft-mse VAE from
their configs with seeded random weights (speed does not depend on the values) and
times optimiser steps of CatVTON's recipe at 512x384 on random pairs, for each batch
size, in these variants (the same run, so their ratio holds on a shared machine):

* ``project``: ``tryon.training`` as ``tryon train`` runs it: latents cached once
  (posteriors drawn each step), only the self-attention trained, DREAM on;
* ``project+checkpointing``: the same with gradient checkpointing (less memory);
* ``plain``: the loop without the project's speed-ups: the VAE encodes the person,
  the masked person and the garment at every step.

Prints one JSON object per line: seconds per step (median of the timed steps), steps/s,
pairs/s and peak memory (GPU: allocated by torch; CPU: the peak RSS of the process, one
process per variant and batch size so that each figure is its own).

    python benchmarks/bench_train.py                           # CPU, batch 1, 2 steps
    python benchmarks/bench_train.py --device cuda --batches 1 4 --steps 20 \\
        --mixed-precision bf16
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tryon.diffusion.models import DiffusionModels, build_models
from tryon.training.latents import LatentBatch, LatentCache
from tryon.training.objective import draw_step, training_loss
from tryon.training.samples import TrainingSample
from tryon.training.trainable import freeze_all_but

CATVTON_ITS = 4.75
"""CatVTON's published training speed, batch 1, self-attention only (A800, Table 4)."""
CATVTON_GB = 8.45


def random_samples(count: int, shape: tuple[int, int], seed: int) -> list[TrainingSample]:
    rng = np.random.default_rng(seed)
    h, w = shape
    mask = np.zeros(shape, bool)
    mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    return [
        TrainingSample(
            f"pair{i}",
            rng.integers(0, 256, (h, w, 3), np.uint8),
            rng.integers(0, 256, (h, w, 3), np.uint8),
            mask,
        )
        for i in range(count)
    ]


def encoded_batch(
    models: DiffusionModels, cache: LatentCache, indices: torch.Tensor, generator: torch.Generator
) -> LatentBatch:
    """The plain loop's batch: the VAE runs on the three images every step."""
    cached = cache.draw(indices, generator)
    with torch.no_grad():
        # The cost of encoding what the cache holds (three images per pair).
        size = (cached.person.shape[-2] * 8, cached.person.shape[-1] * 8)
        images = torch.randn((3 * len(indices), 3, *size), generator=generator).to(
            cache.person.device, next(models.vae.parameters()).dtype
        )
        models.vae.encode(images).latent_dist.sample(generator)
    return cached


def peak_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def time_steps(
    step: Callable[[], None], steps: int, warmup: int, device: torch.device
) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def measure(args: argparse.Namespace, variant: str, batch: int) -> dict[str, Any]:
    device = torch.device(args.device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.mixed_precision, torch.float32)
    models = build_models(seed=0)
    trained = freeze_all_but(models.unet, "attention")
    models.unet.to(device, dtype)
    models.vae.to(device, dtype)
    for param in trained:
        param.data = param.data.float()
    if variant == "project+checkpointing":
        models.unet.enable_gradient_checkpointing()
    models.unet.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    samples = random_samples(max(batch, 4), args.shape, seed=1)
    cache = LatentCache(samples, models.vae, device, dtype)
    optimizer = torch.optim.AdamW(trained, lr=1e-5)
    generator = torch.Generator(device).manual_seed(0)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)

    def step() -> None:
        indices = torch.randint(len(cache), (batch,), generator=generator, device=device)
        if variant == "plain":
            latents = encoded_batch(models, cache, indices, generator)
        else:
            latents = cache.draw(indices, generator)
        draws = draw_step(latents, 1000, 0.1, generator)
        with autocast:
            loss = training_loss(models.unet, models.scheduler, latents, draws, 10.0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times = time_steps(step, args.steps, args.warmup, device)
    seconds = statistics.median(times)
    return {
        "variant": variant,
        "batch": batch,
        "size": f"{args.shape[0]}x{args.shape[1]}",
        "device": str(device),
        "mixed_precision": args.mixed_precision,
        "seconds_per_step": round(seconds, 3),
        "steps_per_s": round(1 / seconds, 3),
        "pairs_per_s": round(batch / seconds, 3),
        "peak_gb": round(peak_gb(device), 2),
        "trainable_parameters": sum(p.numel() for p in trained),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1])
    parser.add_argument("--steps", type=int, default=2, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--size", default="512x384")
    parser.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no")
    parser.add_argument(
        "--variants", nargs="+", default=["project", "project+checkpointing", "plain"]
    )
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.shape = tuple(int(v) for v in args.size.split("x"))
    if args.one:
        print(json.dumps(measure(args, args.one[0], int(args.one[1]))), flush=True)
        return
    published = {"steps_per_s": CATVTON_ITS, "peak_gb": CATVTON_GB}
    machine = platform.processor() or platform.machine()
    print(json.dumps({"machine": machine, "torch": torch.__version__, "catvton": published}))
    passed = sys.argv[1:]
    for batch in args.batches:
        seconds = {}
        for variant in args.variants:
            command = [sys.executable, __file__, *passed, "--one", variant, str(batch)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            seconds[variant] = row["seconds_per_step"]
            print(json.dumps(row), flush=True)
        if "plain" in seconds and "project" in seconds:
            ratio = round(seconds["plain"] / seconds["project"], 2)
            print(json.dumps({"batch": batch, "plain_over_project": ratio}))


if __name__ == "__main__":
    main()
