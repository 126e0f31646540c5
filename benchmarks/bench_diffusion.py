"""Speed and memory of the diffusion engines on the real-size architecture, random weights.

Builds the SD-1.5 inpainting UNet (859.5M parameters) and the sd-vae-ft-mse VAE from
their configs with seeded random weights (speed does not depend on the values), then
times one image per preset and size:

* ``compat``: the reference algorithm (DDIM eta 1, CFG 2.5, 50 steps, float32);
* ``fast``: DPM-Solver++ 2M, 16 steps, posterior means, bfloat16 on a GPU;
* ``hybrid``: the refinement pass of the hybrid engine (10 steps from strength 0.5) on
  a crop of 512x384 pixels' area, the size the engine gives the model.

Each runs ``k`` steps (``--timed-steps``) with every UNet call timed; per image = the
rest of the run (VAE encode and decode, scheduler) + steps x the median UNet call, so
long runs are estimated from short ones and a busy shared machine disturbs the figure
less (use the full step count on a GPU). With ``--reference PATH`` (a CatVTON checkout,
in an environment that also has its dependencies, ``accelerate`` and ``transformers``)
the same settings also run through the reference pipeline in this process on the same
weights, and the ratio of the two is printed.

Prints one JSON object per line.

    python benchmarks/bench_diffusion.py                       # CPU, 256x192
    python benchmarks/bench_diffusion.py --device cuda --sizes 512x384 1024x768 \\
        --timed-steps 50 [--reference PATH/TO/CatVTON]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

# diffusers and huggingface_hub read HF_HOME when imported, and the reference needs it to
# point at an offline cache: the package is imported in main(), after that is set up.
if TYPE_CHECKING:
    from tryon.diffusion.models import DiffusionModels
    from tryon.diffusion.sampling import SamplerConfig

WORK = Path(tempfile.mkdtemp(prefix="bench-diffusion-"))


def size_arg(text: str) -> tuple[int, int]:
    h, _, w = text.partition("x")
    return int(h), int(w)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def inputs(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    person = (torch.rand(1, 3, h, w, generator=g) * 2 - 1).to(device)
    garment = (torch.rand(1, 3, h, w, generator=g) * 2 - 1).to(device)
    mask = torch.zeros(1, 1, h, w, device=device)
    mask[..., h // 6 : 2 * h // 3, w // 5 : 4 * w // 5] = 1
    return person, garment, mask


def measure(
    run: Callable[[int], Callable[[], Any]],
    unet: torch.nn.Module,
    device: torch.device,
    k: int,
    repeats: int,
    steps: int,
) -> dict[str, Any]:
    """Runs ``run(k)`` ``repeats`` times (after a one-step warm-up), timing every UNet call.

    Per image = the rest of the run (VAE, scheduler) + ``steps`` x the median UNet call:
    robust on a shared machine, where whole-run times swing with other loads.
    """
    calls: list[float] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        sync(device)
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        sync(device)
        calls.append(time.perf_counter() - started[-1])

    run(1)()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    hooks = [unet.register_forward_pre_hook(before), unet.register_forward_hook(after)]
    rest = []
    try:
        for _ in range(repeats):
            calls.clear()
            sync(device)
            start = time.perf_counter()
            run(k)()
            sync(device)
            rest.append(time.perf_counter() - start - sum(calls))
    finally:
        for hook in hooks:
            hook.remove()
    step = statistics.median(calls)
    row: dict[str, Any] = {
        "steps": steps,
        "timed_steps": k,
        "seconds_per_step": round(step, 4),
        "seconds_per_step_min": round(min(calls), 4),
        "seconds_other": round(min(rest), 3),
        "seconds_per_image": round(min(rest) + steps * step, 3),
        "extrapolated": k < steps,
    }
    if device.type == "cuda":
        row["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return row


def bench_ours(
    models: DiffusionModels,
    config: SamplerConfig,
    size: tuple[int, int],
    device: torch.device,
    k: int,
    repeats: int,
    hybrid: bool = False,
) -> dict[str, Any]:
    from tryon.diffusion.pipeline import CatVTONPipeline
    from tryon.engines.hybrid import HybridConfig

    person, garment, mask = inputs(*size, device)
    hybrid_config = HybridConfig()
    steps = hybrid_config.steps if hybrid else config.steps

    def run(n: int) -> Callable[[], Any]:
        pipe = CatVTONPipeline(models, replace(config, steps=n), device)
        latent = pipe.encode_garment(garment)  # cached per garment in the engines
        gen = torch.Generator(device).manual_seed(0)
        if hybrid:
            return lambda: pipe.refine(person, mask, latent, hybrid_config.strength, n, gen, gen)
        return lambda: pipe(person, mask, latent, gen, gen)

    return {
        "impl": "tryon",
        "preset": "hybrid-refine" if hybrid else config.name,
        "size": f"{size[0]}x{size[1]}",
        "dtype": str(config.dtype(device)).replace("torch.", ""),
        **measure(run, models.unet, device, k, repeats, steps),
    }


def bench_reference(
    reference: Path,
    models: DiffusionModels,
    size: tuple[int, int],
    device: torch.device,
    k: int,
    repeats: int,
    steps: int,
) -> dict[str, Any]:
    """The reference pipeline on the same weights and settings (compat, float32)."""
    from make_random_weights import save_random
    from parity_catvton import offline_vae_cache  # the sibling scripts

    paths = save_random(models, WORK / "weights", seed=0)
    offline_vae_cache(WORK / "hf", paths)
    sys.path.insert(0, str(reference))
    import model.pipeline as ref_module

    ref = ref_module.CatVTONPipeline(
        base_ckpt=str(paths.unet.parent.parent),
        attn_ckpt=str(paths.attention.parent.parent.parent),
        attn_ckpt_version="mix",
        weight_dtype=torch.float32,
        device=str(device),
        skip_safety_check=True,
        use_tf32=False,
    )
    person, garment, mask = inputs(*size, device)

    def run(n: int) -> Callable[[], Any]:
        return lambda: ref(
            person, garment, mask.clone(), num_inference_steps=n, height=size[0], width=size[1]
        )

    return {
        "impl": "reference",
        "preset": "compat",
        "size": f"{size[0]}x{size[1]}",
        "dtype": "float32",
        **measure(run, ref.unet, device, k, repeats, steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--sizes", nargs="+", type=size_arg, default=None, metavar="HxW")
    parser.add_argument("--presets", nargs="+", default=["compat", "fast", "hybrid"])
    parser.add_argument("--timed-steps", type=int, default=3, help="steps actually run (k)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per setting")
    parser.add_argument("--reference", type=Path, help="CatVTON checkout: also time it")
    args = parser.parse_args()
    device = torch.device(args.device)
    os.environ["HF_HOME"] = str(WORK / "hf")
    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.path.insert(0, str(Path(__file__).parent))
    from make_random_weights import random_models  # the sibling script

    from tryon.diffusion.sampling import PRESETS
    from tryon.engines.hybrid import HybridConfig

    crop_area = HybridConfig().crop_area
    sizes = args.sizes or ([(512, 384), (1024, 768)] if device.type == "cuda" else [(256, 192)])

    t0 = time.perf_counter()
    models = random_models("real", seed=0)
    unet_m = sum(p.numel() for p in models.unet.parameters()) / 1e6
    vae_m = sum(p.numel() for p in models.vae.parameters()) / 1e6
    print(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                "cpu_threads": torch.get_num_threads(),
                "unet_parameters_m": round(unet_m, 1),
                "vae_parameters_m": round(vae_m, 1),
                "build_seconds": round(time.perf_counter() - t0, 1),
            }
        ),
        flush=True,
    )
    for size in sizes:
        rows = []
        for name in args.presets:
            hybrid = name == "hybrid"
            config = PRESETS["fast" if hybrid else name]
            run_size = size
            if hybrid:  # the hybrid engine gives the model a crop of crop_area pixels
                scale = min(1.0, (crop_area / (size[0] * size[1])) ** 0.5)
                run_size = (round(size[0] * scale / 8) * 8, round(size[1] * scale / 8) * 8)
            row = bench_ours(
                models, config, run_size, device, args.timed_steps, args.repeats, hybrid
            )
            row["photo_size"] = f"{size[0]}x{size[1]}"
            rows.append(row)
            print(json.dumps(row), flush=True)
        if args.reference is not None:
            models.to(device, torch.float32)
            ref = bench_reference(
                args.reference, models, size, device, args.timed_steps, args.repeats, 50
            )
            print(json.dumps(ref), flush=True)
            ours = next((r for r in rows if r["preset"] == "compat"), None)
            if ours is not None:
                ratio = ref["seconds_per_image"] / ours["seconds_per_image"]
                print(
                    json.dumps(
                        {"size": ref["size"], "compat_speedup_vs_reference": round(ratio, 2)}
                    )
                )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"peak_rss_gb": round(rss, 2)}))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
