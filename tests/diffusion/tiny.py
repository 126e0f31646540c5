"""Tiny models of the real classes (same block types as SD-1.5 inpainting and the VAE)
with seeded random weights, and a tiny CatVTON attention checkpoint in its key layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tryon.diffusion.models import (
    DiffusionModels,
    build_models,
    random_attention_state,
    save_weights,
)
from tryon.diffusion.weights import DEFAULT_VERSION, WeightsPaths

TINY_UNET: dict[str, Any] = {
    "sample_size": 8,
    "in_channels": 9,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [32, 64],
    "layers_per_block": 1,
    "attention_head_dim": 8,
    "cross_attention_dim": 32,
    "norm_num_groups": 8,
    "norm_eps": 1e-5,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
}
"""Self-attention modules: down_blocks.0 (1), up_blocks.1 (2), mid_block (1)."""

TINY_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [8, 8, 8, 8],
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
    "scaling_factor": 0.18215,
}
"""Downsamples by 8, like sd-vae-ft-mse."""


def tiny_models(seed: int = 0) -> DiffusionModels:
    """Tiny UNet and VAE with seeded random weights and CatVTON's processors installed."""
    return build_models(TINY_UNET, TINY_VAE, seed=seed)


def write_weights(root: Path, version: str = DEFAULT_VERSION, seed: int = 0) -> WeightsPaths:
    """Writes a complete tiny weights directory in the Hugging Face layout under ``root``."""
    models = tiny_models(seed)
    return save_weights(models, random_attention_state(models.unet), root, version)
