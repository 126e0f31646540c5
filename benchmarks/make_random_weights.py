"""Writes a complete diffusion weights folder with seeded random weights.

The folder has the project's Hugging Face layout (``tryon.diffusion.weights``): the
SD-1.5 inpainting UNet and scheduler, the sd-vae-ft-mse VAE and CatVTON's attention file
(``CatVTON/<version>/attention/model.safetensors``, float32, CatVTON's key names), so
``tryon weights check``, ``tryon run --engine catvton|hybrid`` and CatVTON's own loader
run on it end to end without downloading anything. The parity and speed scripts
(``parity_catvton.py``, ``bench_diffusion.py``) build their weights with it.

Sizes (``tryon.diffusion.models.MODEL_SIZES``):

* ``tiny``: SD-1.5 inpainting's block layout, narrow: 16 self-attention modules, an
  attention file of CatVTON's 80 tensors; a few MB, seconds on a CPU;
* ``real``: the real UNet (859.5M parameters) and VAE (83.7M) configs; the UNet and VAE
  files in float16 by default (the loader reads them into float32 models), about 1.9 GB,
  plus the 198 MB float32 attention file;
* ``micro``: the unit tests' two-level model (4 self-attention modules, 20 tensors:
  not CatVTON's file format, only this project's loader accepts it).

The weights are ``build_models(seed=SEED)`` and ``random_attention_state(seed=SEED + 1)``.

    python benchmarks/make_random_weights.py DIR --size tiny|real [--seed N] [--version V]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from tryon.diffusion.models import (
    MODEL_SIZES,
    DiffusionModels,
    build_models,
    random_attention_state,
    save_weights,
)
from tryon.diffusion.weights import DEFAULT_VERSION, WeightsPaths

DTYPES = {"float32": torch.float32, "float16": torch.float16}


def random_models(size: str = "tiny", seed: int = 0) -> DiffusionModels:
    """The UNet and VAE of ``size`` (a ``MODEL_SIZES`` name) with seeded random weights."""
    unet, vae = MODEL_SIZES[size]
    return build_models(unet, vae, seed=seed)


def save_random(
    models: DiffusionModels,
    root: Path,
    seed: int = 0,
    version: str = DEFAULT_VERSION,
    dtype: torch.dtype = torch.float32,
) -> WeightsPaths:
    """Writes ``models`` and a random attention checkpoint (seed ``seed + 1``) as a
    weights folder under ``root``; the UNet's and VAE's files in ``dtype``."""
    attention = random_attention_state(models.unet, seed=seed + 1)
    return save_weights(models, attention, root, version, dtype=dtype)


def write_random_weights(
    root: Path,
    size: str = "tiny",
    seed: int = 0,
    version: str = DEFAULT_VERSION,
    dtype: torch.dtype | None = None,
) -> WeightsPaths:
    """Builds the models of ``size`` with seed ``seed`` and writes them under ``root``.

    Args:
        root: the weights folder (made if missing; files already there are replaced).
        size: "tiny", "real" or "micro" (see ``MODEL_SIZES``).
        seed: seed of the UNet's and VAE's weights; the attention's is ``seed + 1``.
        version: the attention's folder under ``root/CatVTON``.
        dtype: dtype of the UNet's and VAE's files (None: float16 for ``real``, float32
            otherwise). The attention file is float32 always, as CatVTON's.
    """
    if dtype is None:
        dtype = torch.float16 if size == "real" else torch.float32
    return save_random(random_models(size, seed), root, seed, version, dtype)


def folder_sizes(root: Path) -> list[tuple[Path, int]]:
    """Every file under ``root`` with its size in bytes, sorted by path."""
    return sorted((f, f.stat().st_size) for f in root.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="weights folder to write")
    parser.add_argument("--size", choices=sorted(MODEL_SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", default=DEFAULT_VERSION, help="attention folder name")
    parser.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="UNet and VAE file dtype (default: float16 for real, float32 otherwise)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    dtype = DTYPES[args.dtype] if args.dtype else None
    paths = write_random_weights(args.dir, args.size, args.seed, args.version, dtype)
    files = folder_sizes(args.dir)
    for file, size in files:
        print(f"{size / 1e6:10.1f} MB  {file.relative_to(args.dir)}")
    total = sum(size for _, size in files)
    print(
        f"wrote {args.dir} ({args.size}, seed {args.seed}, attention {paths.attention}): "
        f"{total / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
