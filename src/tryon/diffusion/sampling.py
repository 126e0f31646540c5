"""Sampler presets: how many steps, which solver, which precision.

``compat`` is CatVTON's reference algorithm, draw for draw; the others trade exactness
for speed and say so in their name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from tryon.errors import TryOnError

Solver = Literal["ddim", "dpm++2m"]
Precision = Literal["fp32", "half"]


@dataclass(frozen=True)
class SamplerConfig:
    """How the diffusion model is sampled.

    Attributes:
        name: preset name (recorded next to outputs).
        steps: denoising steps.
        guidance: classifier-free guidance scale (<= 1 turns guidance off).
        solver: "ddim" (the reference's scheduler) or "dpm++2m" (DPM-Solver++ 2M, good
            images in far fewer steps).
        eta: DDIM noise (1.0: the reference's stochastic DDIM; one draw per step).
        vae_sample: True draws the VAE latents from the encoder's posterior (the
            reference, from its own generator here); False takes the posterior mean.
        precision: "fp32", or "half": bfloat16 networks on a GPU (float32 on a CPU,
            where half precision is slower), latents kept in float32.
    """

    name: str
    steps: int = 50
    guidance: float = 2.5
    solver: Solver = "ddim"
    eta: float = 1.0
    vae_sample: bool = True
    precision: Precision = "fp32"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise TryOnError(f"sampler {self.name!r}: steps must be at least 1, got {self.steps}")
        if self.guidance < 0:
            raise TryOnError(f"sampler {self.name!r}: guidance must be >= 0, got {self.guidance}")

    def dtype(self, device: torch.device) -> torch.dtype:
        """The networks' dtype on ``device``."""
        if self.precision == "half" and device.type == "cuda":
            return torch.bfloat16
        return torch.float32


PRESETS: dict[str, SamplerConfig] = {
    p.name: p
    for p in (
        # The reference: DDIM eta 1, 50 steps, CFG 2.5, sampled VAE latents, float32.
        SamplerConfig("compat"),
        # DPM-Solver++ 2M in 16 steps, posterior means, bfloat16 on a GPU.
        SamplerConfig(
            "fast", steps=16, solver="dpm++2m", eta=0.0, vae_sample=False, precision="half"
        ),
        # 8 steps: previews.
        SamplerConfig(
            "draft", steps=8, solver="dpm++2m", eta=0.0, vae_sample=False, precision="half"
        ),
    )
}
DEFAULT_PRESET = "compat"


def preset(name: str | SamplerConfig) -> SamplerConfig:
    """Returns the preset called ``name`` (a ``SamplerConfig`` is returned as is).

    Raises:
        TryOnError: no such preset, listing the valid names.
    """
    if isinstance(name, SamplerConfig):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise TryOnError(f"unknown diffusion preset {name!r}: use one of {known}") from None
