"""Seconds per image and peak memory of the ``fashn`` sampler, per preset, against the
reference's sampler in the same run.

Each (implementation, preset) runs in a process of its own, so a CPU's peak RSS is that
run's (on CUDA: ``torch.cuda.max_memory_allocated``). Both implementations get a model of
the same shape with seeded random weights (speed does not depend on the values), the same
random inputs, one untimed warm-up step, then ``--repeats`` timed samplings of the preset's
steps (``--steps`` overrides them) including the uint8 conversion; the median counts.
Prints one JSON line per run and one per preset with ``ours_over_reference`` (seconds;
below 1 is faster).

    python benchmarks/bench_fashn.py [--reference PATH/TO/fashn-vton-1.5]
        [--size small|real] [--device cpu|cuda] [--dtype float32|bfloat16]
        [--presets compat,fast,quality] [--steps N] [--batch N] [--compile]

``small`` is hidden 256, 2 heads, 2 double, 2 single, mixer 1, 96x72 pixels; ``real`` is
the released shape at 864x576 (on a GPU: ``--size real --device cuda --dtype bfloat16``,
with ``--compile`` for ``torch.compile`` of our transformer). The reference needs
``einops``; without ``--reference`` only ours runs.
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
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import torch

from tryon.fashn.model import FashnModelConfig, FashnTransformer
from tryon.fashn.sampler import PRESETS, FashnInputs, FashnSampling, sample, to_uint8_images

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity_fashn import (  # a sibling script
    DTYPES,
    REDUCED,
    import_reference,
    random_inputs,
    reference_model,
    run_reference,
)

SIZES = {"small": REDUCED, "real": FashnModelConfig()}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _runner(args: argparse.Namespace, implementation: str, config: FashnModelConfig) -> Any:
    """A function (inputs, sampling) -> uint8 images for one implementation."""
    device, dtype = torch.device(args.device), DTYPES[args.dtype]
    if implementation == "reference":
        ref_class, ref_sample = import_reference(args.reference.resolve())
        with torch.device(device):
            ref = reference_model(ref_class, config, seed=0).to(dtype)
        return lambda inputs, sampling: run_reference(ref, ref_sample, inputs, sampling)
    torch.manual_seed(0)
    with torch.device(device):
        model = FashnTransformer(config).to(dtype).eval()
    runnable: Any = torch.compile(model) if args.compile else model
    return lambda inputs, sampling: to_uint8_images(sample(runnable, inputs, sampling))


def measure(args: argparse.Namespace, implementation: str, preset: str) -> dict[str, Any]:
    """One run: build, warm up one step, time one sampling of the preset."""
    config, device = SIZES[args.size], torch.device(args.device)
    run = _runner(args, implementation, config)
    inputs = random_inputs(config, args.batch, DTYPES[args.dtype])
    inputs = FashnInputs(*(getattr(inputs, f.name).to(device) for f in fields(inputs)))
    sampling = PRESETS[preset]
    if args.steps:
        sampling = replace(sampling, steps=args.steps)
    run(inputs, FashnSampling(steps=1))
    _synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run(inputs, sampling)
        _synchronize(device)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "implementation": implementation,
        "preset": preset,
        "steps": sampling.steps,
        "size": f"{config.height}x{config.width}",
        "hidden": config.hidden_size,
        "device": args.device,
        "dtype": args.dtype,
        "batch": args.batch,
        "compile": bool(args.compile and implementation == "ours"),
        "seconds_per_image": round(seconds / args.batch, 4),
        "seconds_per_step": round(seconds / sampling.steps, 4),
        "repeats": args.repeats,
        "peak_gb": round(_peak_gb(device), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=Path, help="fashn-vton-1.5 checkout")
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--steps", type=int, default=0, help="override the presets' steps")
    parser.add_argument("--batch", type=int, default=1, help="images per sampling")
    parser.add_argument("--repeats", type=int, default=3, help="timed samplings (median)")
    parser.add_argument("--compile", action="store_true", help="torch.compile ours")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--one", nargs=2, metavar=("IMPL", "PRESET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(measure(args, *args.one)), flush=True)
        return
    machine = platform.processor() or platform.machine()
    threads = torch.get_num_threads()
    print(json.dumps({"machine": machine, "torch": torch.__version__, "threads": threads}))
    implementations = ["ours", "reference"] if args.reference else ["ours"]
    for preset in args.presets.split(","):
        seconds = {}
        for implementation in implementations:
            command = [sys.executable, __file__, *sys.argv[1:], "--one", implementation, preset]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            seconds[implementation] = row["seconds_per_image"]
            print(json.dumps(row), flush=True)
        if len(seconds) == 2:
            ratio = round(seconds["ours"] / seconds["reference"], 3)
            print(json.dumps({"preset": preset, "ours_over_reference": ratio}))


if __name__ == "__main__":
    main()
