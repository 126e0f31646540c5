"""Tiny models of the real classes (same block types as SD-1.5 inpainting and the VAE)
with seeded random weights, and a tiny CatVTON attention checkpoint in its key layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tryon.diffusion.models import (
    UNET_CONFIG,
    VAE_CONFIG,
    DiffusionModels,
    build_models,
    random_attention_state,
    save_weights,
)
from tryon.diffusion.weights import DEFAULT_VERSION, WeightsPaths

TINY_UNET: dict[str, Any] = {
    **UNET_CONFIG,
    "sample_size": 8,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [32, 64],
    "layers_per_block": 1,
    "cross_attention_dim": 32,
    "norm_num_groups": 8,
}
"""SD-1.5 inpainting's block types, narrow. Self-attention modules: down_blocks.0 (1),
up_blocks.1 (2), mid_block (1)."""

TINY_VAE: dict[str, Any] = {
    **VAE_CONFIG,
    "block_out_channels": [8, 8, 8, 8],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
}
"""sd-vae-ft-mse's blocks, narrow; downsamples by 8 like it."""


def tiny_models(seed: int = 0) -> DiffusionModels:
    """Tiny UNet and VAE with seeded random weights and CatVTON's processors installed."""
    return build_models(TINY_UNET, TINY_VAE, seed=seed)


def write_weights(root: Path, version: str = DEFAULT_VERSION, seed: int = 0) -> WeightsPaths:
    """Writes a complete tiny weights directory in the Hugging Face layout under ``root``."""
    models = tiny_models(seed)
    return save_weights(models, random_attention_state(models.unet), root, version)
