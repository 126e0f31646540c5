"""VAE latents computed once per training run: each pair's posteriors are kept and a
latent is drawn from them at every step, so the VAE never runs in the training loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

from tryon.diffusion.images import image_to_tensor, mask_to_tensor
from tryon.training.samples import TrainingSample

ENCODE_BATCH = 4
"""Pairs encoded per VAE call while the cache fills."""


@dataclass(frozen=True)
class LatentBatch:
    """A batch's latents, drawn from the cached posteriors and scaled.

    Attributes:
        person: (B, 4, h, w) the person photo's latent (the target's top half).
        masked: (B, 4, h, w) the masked person photo's latent (the condition).
        garment: (B, 4, h, w) the garment's latent.
        mask: (B, 1, h, w) the agnostic mask at latent size, 1 where the garment goes.
    """

    person: torch.Tensor
    masked: torch.Tensor
    garment: torch.Tensor
    mask: torch.Tensor


class LatentCache:
    """Posterior parameters (mean and log-variance) of every pair, on one device.

    Args:
        samples: the training pairs.
        vae: the frozen VAE (used here only).
        device: where the cache lives and the draws are made.
        dtype: the VAE's dtype while encoding.
    """

    def __init__(
        self,
        samples: Sequence[TrainingSample],
        vae: AutoencoderKL,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.scaling = float(vae.config.scaling_factor)
        person, masked, garment, masks = [], [], [], []
        with torch.no_grad():
            for start in range(0, len(samples), ENCODE_BATCH):
                chunk = samples[start : start + ENCODE_BATCH]
                images = image_to_tensor([s.person for s in chunk]).to(device, dtype)
                mask = mask_to_tensor([s.mask for s in chunk]).to(device, dtype)
                garments = image_to_tensor([s.garment for s in chunk]).to(device, dtype)
                person.append(_parameters(vae, images))
                masked.append(_parameters(vae, images * (mask < 0.5)))
                garment.append(_parameters(vae, garments))
                masks.append(mask)
        self.person = torch.cat(person)
        self.masked = torch.cat(masked)
        self.garment = torch.cat(garment)
        mask = torch.cat(masks)
        self.mask = F.interpolate(mask, size=self.person.shape[-2:], mode="nearest").float()

    def __len__(self) -> int:
        return int(self.person.shape[0])

    def draw(self, indices: torch.Tensor, generator: torch.Generator) -> LatentBatch:
        """The latents of the pairs at ``indices``, each sampled from its posterior."""

        def sample(parameters: torch.Tensor) -> torch.Tensor:
            posterior = DiagonalGaussianDistribution(parameters[indices])
            return posterior.sample(generator) * self.scaling

        return LatentBatch(
            person=sample(self.person),
            masked=sample(self.masked),
            garment=sample(self.garment),
            mask=self.mask[indices],
        )


def _parameters(vae: AutoencoderKL, images: torch.Tensor) -> torch.Tensor:
    """The encoder's posterior parameters (B, 8, h, w), float32."""
    return vae.encode(images).latent_dist.parameters.float()
