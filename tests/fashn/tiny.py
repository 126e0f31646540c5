"""A tiny FASHN transformer of the real structure (patch mixer, double and single blocks,
QK norms, RoPE over three axes) with seeded random weights, and matching inputs."""

from __future__ import annotations

from pathlib import Path

import torch

from tryon.fashn.model import FashnModelConfig, FashnTransformer
from tryon.fashn.sampler import FashnInputs

TINY = FashnModelConfig(
    height=16,
    width=12,
    hidden_size=64,
    num_heads=2,
    double_blocks=2,
    single_blocks=2,
    patch_size=4,
    axes_dim=(8, 12, 12),
    patch_mixer_depth=1,
)
"""4x3 tokens per stream, head_dim 32."""


def tiny_model(seed: int = 0, dtype: torch.dtype = torch.float32) -> FashnTransformer:
    """``TINY`` with seeded random weights; norm scales, biases and the unused buffer are
    random too (not ones and zeros), so a misplaced tensor shows."""
    with torch.random.fork_rng():  # seeded without touching the caller's RNG
        torch.manual_seed(seed)
        model = _randomised(FashnTransformer(TINY))
    return model.to(dtype).eval()


def _randomised(model: FashnTransformer) -> FashnTransformer:
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("norm_q.weight") or "norm_k" in name or "norm_added" in name:
                tensor.uniform_(0.5, 1.5)
            elif name.endswith(".bias") or name == "patch_mixer_token":
                tensor.normal_(0.0, 0.02)
    return model


def tiny_inputs(n: int = 1, seed: int = 1, dtype: torch.dtype = torch.float32) -> FashnInputs:
    """Seeded random conditions for ``TINY`` in [-1, 1], categories 1..3 in turn."""
    g = torch.Generator().manual_seed(seed)
    h, w = TINY.height, TINY.width

    def image(channels: int) -> torch.Tensor:
        return (torch.rand(n, channels, h, w, generator=g) * 2 - 1).to(dtype)

    category = torch.arange(n, dtype=torch.int64) % 3 + 1
    return FashnInputs(image(3), image(1), image(3), image(1), category)


def write_fashn_weights(root: Path, config: FashnModelConfig, seed: int = 3) -> Path:
    """Saves a seeded random transformer of shape ``config`` where the fashn engine looks
    for its checkpoint under the weights folder ``root``; returns the file."""
    from tryon.engines.fashn import model_path
    from tryon.fashn.weights import save_fashn_checkpoint

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = _randomised(FashnTransformer(config)).eval()
    path = model_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_fashn_checkpoint(model, path)
    return path
