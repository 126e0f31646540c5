"""Helpers of the adapter tests: the garments, adapter files in the layout
``tryon catalog tune`` writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors.torch import save

from tests.diffusion.tiny import tiny_models
from tests.photos import garment
from tryon.catalog import Catalog
from tryon.diffusion.adapters import lora_targets
from tryon.types import GarmentAdapter

SHIRT, OTHER = garment("shirts_1_front.jpg"), garment("shirts_2_front.jpg")
RANK = 4


def ids(catalog: Catalog) -> tuple[str, str]:
    shirt, other = (r.id for r in sorted(catalog.list(), key=lambda r: r.name))
    return shirt, other


def write_adapter(folder: Path, state: dict[str, torch.Tensor], rank: int) -> GarmentAdapter:
    """An adapter file of ``state`` in ``folder``, as the engines receive it."""
    data = save({k: v.contiguous() for k, v in state.items()})
    path = folder / "lora.safetensors"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return GarmentAdapter("abc", path, digest, rank, float(rank), "mix-48k-1024")


def random_lora(rank: int = RANK, seed: int = 0) -> dict[str, torch.Tensor]:
    """A LoRA for the tiny UNet's self-attention projections, in peft's tensor names."""
    generator = torch.Generator().manual_seed(seed)
    unet = tiny_models().unet
    state = {}
    for target in lora_targets(unet):
        linear = unet.get_submodule(target)
        assert isinstance(linear, torch.nn.Linear)
        shape_a, shape_b = (rank, linear.in_features), (linear.out_features, rank)
        state[f"{target}.lora_A.weight"] = torch.randn(shape_a, generator=generator) * 0.3
        state[f"{target}.lora_B.weight"] = torch.randn(shape_b, generator=generator) * 0.3
    return state
