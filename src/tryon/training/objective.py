"""CatVTON's training objective: epsilon-prediction MSE over the height-concatenated
latent, with garment dropout and DREAM (training.md).

The UNet sees what the inference gives it (``tryon.diffusion.pipeline``): on channels
``[noisy latent, mask, masked latent]``, each stacked along the height, person on top
and garment below; the mask is ``[agnostic mask; 0]``. A dropped pair's garment half of
the condition is zeroed exactly as the inference's unconditional branch zeroes it; its
target stays the whole latent's noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, UNet2DConditionModel

from tryon.diffusion.pipeline import CONCAT_DIM
from tryon.training.latents import LatentBatch


@dataclass(frozen=True)
class StepDraws:
    """The random draws of one training step (all from the run's generator).

    Attributes:
        noise: (B, 4, 2h, w) the noise added to the concatenated latent.
        timesteps: (B,) int64 diffusion timesteps in [0, T).
        keep_garment: (B,) bool, False for the pairs whose garment is dropped.
    """

    noise: torch.Tensor
    timesteps: torch.Tensor
    keep_garment: torch.Tensor


def draw_step(
    batch: LatentBatch, train_timesteps: int, dropout: float, generator: torch.Generator
) -> StepDraws:
    """Noise, timesteps and garment dropout for ``batch``, in that order."""
    target = concat(batch.person, batch.garment)
    device = target.device
    noise = torch.randn(target.shape, generator=generator, device=device, dtype=torch.float32)
    b = target.shape[0]
    timesteps = torch.randint(0, train_timesteps, (b,), generator=generator, device=device)
    keep = torch.rand((b,), generator=generator, device=device) >= dropout
    return StepDraws(noise, timesteps, keep)


def concat(top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
    """Person half on top, garment half below (the inference's layout)."""
    return torch.cat([top, bottom], dim=CONCAT_DIM)


def condition(batch: LatentBatch, keep_garment: torch.Tensor) -> torch.Tensor:
    """The UNet's last 5 input channels: ``[mask; 0]`` and ``[masked person; garment]``,
    the garment zeroed where ``keep_garment`` is False (the unconditional branch)."""
    keep = keep_garment.to(batch.garment.dtype)[:, None, None, None]
    masked = concat(batch.masked, batch.garment * keep)
    mask = concat(batch.mask, torch.zeros_like(batch.mask))
    return torch.cat([mask.to(masked.dtype), masked], dim=1)


def dream_update(
    noisy: torch.Tensor,
    noise: torch.Tensor,
    predicted: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    power: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """DREAM's correction: with s = sqrt(1 - alpha_bar_t) and delta = s**p (noise - pred),
    the noisy latent becomes ``noisy + s * delta`` and the target ``noise + delta``.

    Args:
        noisy: (B, 4, H, w) the noisy latent (the UNet's first 4 input channels).
        noise: the noise added to it.
        predicted: the UNet's prediction of ``noise`` (made without gradients).
        alphas_cumprod: (B,) alpha_bar at each pair's timestep.
        power: the exponent p.
    """
    s = (1.0 - alphas_cumprod).sqrt()[:, None, None, None]
    delta = (noise - predicted).detach() * s**power
    return noisy + s * delta, noise + delta


def training_loss(
    unet: UNet2DConditionModel,
    scheduler: DDIMScheduler,
    batch: LatentBatch,
    draws: StepDraws,
    dream_power: float,
) -> torch.Tensor:
    """The step's loss (a scalar): MSE between the UNet's noise prediction and the target
    over the whole concatenated latent (person and garment halves)."""
    clean = concat(batch.person, batch.garment)
    alphas = scheduler.alphas_cumprod.to(clean.device)[draws.timesteps]
    noisy = scheduler.add_noise(clean, draws.noise, draws.timesteps)
    cond = condition(batch, draws.keep_garment)
    target = draws.noise
    if dream_power > 0:
        with torch.no_grad():
            predicted = _predict(unet, noisy, cond, draws.timesteps)
        noisy, target = dream_update(noisy, draws.noise, predicted.float(), alphas, dream_power)
    predicted = _predict(unet, noisy, cond, draws.timesteps)
    return F.mse_loss(predicted.float(), target.float())


def _predict(
    unet: UNet2DConditionModel, noisy: torch.Tensor, cond: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """The UNet's noise prediction; under mixed precision the caller's autocast casts."""
    model_in = torch.cat([noisy, cond], dim=1)
    out: torch.Tensor = unet(model_in, t, encoder_hidden_states=None, return_dict=False)[0]
    return out
