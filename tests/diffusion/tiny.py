"""Tiny models of the real classes (same block types as SD-1.5 inpainting and the VAE)
with seeded random weights, and a tiny CatVTON attention checkpoint in its key layout.

The configs are ``tryon.diffusion.models.MODEL_SIZES["micro"]`` (two levels, four
self-attention modules: 20 attention tensors), which ``benchmarks/make_random_weights.py``
also writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tryon.diffusion.models import (
    MODEL_SIZES,
    DiffusionModels,
    build_models,
    random_attention_state,
    save_weights,
)
from tryon.diffusion.weights import DEFAULT_VERSION, WeightsPaths

TINY_UNET: dict[str, Any]
TINY_VAE: dict[str, Any]
TINY_UNET, TINY_VAE = MODEL_SIZES["micro"]
"""The unit tests' UNet and VAE configs. Self-attention modules: down_blocks.0 (1),
up_blocks.1 (2), mid_block (1)."""


def tiny_models(seed: int = 0) -> DiffusionModels:
    """Tiny UNet and VAE with seeded random weights and CatVTON's processors installed."""
    return build_models(TINY_UNET, TINY_VAE, seed=seed)


def write_weights(root: Path, version: str = DEFAULT_VERSION, seed: int = 0) -> WeightsPaths:
    """Writes a complete tiny weights directory in the Hugging Face layout under ``root``."""
    models = tiny_models(seed)
    return save_weights(models, random_attention_state(models.unet), root, version)
