"""CatVTON's sampling loop on diffusers' UNet, VAE and schedulers.

Tensors in, tensors out; image preparation lives in ``tryon.diffusion.images``. With the
``compat`` preset the loop is the reference algorithm, draw for draw:

1. VAE-encode the masked person and the garment, sampling each posterior (person first);
2. concatenate along the **height** axis: person on top, garment below (latents, mask
   ``[mask; 0]`` and masked latents ``[masked person; garment]``);
3. initial noise (B, 4, 2h, w) from the generator, garment half included;
4. classifier-free guidance with the garment latent zeroed in the unconditional branch,
   batch order ``[uncond, cond]``, ``eps = u + g (c - u)``;
5. UNet input ``[latents, mask, masked latents]`` on channels (9), no text;
6. DDIM with eta 1: one variance draw per step from the generator;
7. decode the top half.

The garment's posterior is computed once per garment (``encode_garment``) and reused:
sampling it again costs one draw, not an encoder pass, and keeps the draw order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from diffusers.utils.torch_utils import randn_tensor

from tryon.diffusion.models import DiffusionModels
from tryon.diffusion.sampling import SamplerConfig
from tryon.errors import TryOnError

CONCAT_DIM = -2
"""Person and garment are stacked along the height axis, as CatVTON was trained."""

Scheduler: TypeAlias = DDIMScheduler | DPMSolverMultistepScheduler


@dataclass(frozen=True)
class GarmentLatent:
    """A garment's VAE posterior at one image size (compute once, reuse).

    Attributes:
        posterior: the encoder's diagonal Gaussian, parameters (B, 8, H/8, W/8).
        height: image height it was encoded at, pixels.
        width: image width, pixels.
    """

    posterior: DiagonalGaussianDistribution
    height: int
    width: int

    @property
    def batch(self) -> int:
        return int(self.posterior.mean.shape[0])


def concat_garments(latents: Sequence[GarmentLatent]) -> GarmentLatent:
    """Stacks garment posteriors of the same size into one batch."""
    sizes = {(g.height, g.width) for g in latents}
    if len(sizes) != 1:
        raise TryOnError(f"garment latents of different sizes cannot be batched: {sorted(sizes)}")
    params = torch.cat([g.posterior.parameters for g in latents])
    return GarmentLatent(DiagonalGaussianDistribution(params), latents[0].height, latents[0].width)


class CatVTONPipeline:
    """Runs CatVTON's try-on sampling.

    Args:
        models: UNet (CatVTON attention installed), VAE, DDIM scheduler.
        config: sampler preset.
        device: where to run; the models are moved there in the preset's dtype.
        move: False leaves the models where and as they are (a training run's UNet, whose
            frozen and trained parts have different dtypes: sample under autocast).
    """

    def __init__(
        self,
        models: DiffusionModels,
        config: SamplerConfig,
        device: torch.device | str = "cpu",
        *,
        move: bool = True,
    ) -> None:
        self.device = torch.device(device)
        self.dtype = config.dtype(self.device)
        self.models = models.to(self.device, self.dtype) if move else models
        self.config = config
        self.scaling = float(models.vae.config.scaling_factor)

    def new_scheduler(self) -> Scheduler:
        """A fresh scheduler of the preset's kind (schedulers keep per-run state)."""
        base = self.models.scheduler.config
        if self.config.solver == "ddim":
            return DDIMScheduler.from_config(base)
        return DPMSolverMultistepScheduler.from_config(
            base, algorithm_type="dpmsolver++", solver_order=2
        )

    @torch.no_grad()
    def encode_garment(self, garment: torch.Tensor) -> GarmentLatent:
        """Encodes garment images once.

        Args:
            garment: (B, 3, H, W) float in [-1, 1], RGB, H and W multiples of 8.
        """
        _check_images(garment, "garment")
        dist = self.models.vae.encode(garment.to(self.device, self.dtype)).latent_dist
        return GarmentLatent(dist, int(garment.shape[-2]), int(garment.shape[-1]))

    @torch.no_grad()
    def encode(
        self, images: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, DiagonalGaussianDistribution]:
        """Scaled latents of ``images`` ((B, 3, H, W) in [-1, 1]) and their posterior."""
        dist = self.models.vae.encode(images.to(self.device, self.dtype)).latent_dist
        return self.latent(dist, generator), dist

    def latent(
        self, dist: DiagonalGaussianDistribution, generator: torch.Generator | None
    ) -> torch.Tensor:
        """A scaled latent from a posterior: a draw (compat) or its mean."""
        z = dist.sample(generator) if self.config.vae_sample else dist.mode()
        return z * self.scaling

    @torch.no_grad()
    def __call__(
        self,
        person: torch.Tensor,
        mask: torch.Tensor,
        garment: GarmentLatent,
        generator: torch.Generator | None = None,
        vae_generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Dresses a batch of people.

        Args:
            person: (B, 3, H, W) float in [-1, 1], RGB, H and W multiples of 8.
            mask: (B, 1, H, W) float, 1 where the garment goes (binarised at 0.5).
            garment: the garments' posteriors, batch B (or 1, shared), same H and W.
            generator: initial noise and the DDIM draws.
            vae_generator: the VAE posterior draws (the reference uses the global RNG,
                which a generator seeded the same way reproduces).

        Returns:
            (B, 3, H, W) float32 in [0, 1] on the CPU.
        """
        person, mask, garment = self._check(person, mask, garment)
        binary = (mask >= 0.5).to(self.dtype)
        masked_person = person * (binary < 0.5)
        masked_latent, _ = self.encode(masked_person, vae_generator)
        garment_latent = self.latent(garment.posterior, vae_generator)
        mask_latent = F.interpolate(binary, size=masked_latent.shape[-2:], mode="nearest")
        scheduler = self.new_scheduler()
        scheduler.set_timesteps(self.config.steps, device=self.device)
        noise = self._noise(masked_latent, generator)
        latents = noise * scheduler.init_noise_sigma
        return self._denoise(
            latents,
            scheduler,
            scheduler.timesteps,
            masked_latent,
            garment_latent,
            mask_latent,
            generator,
        )

    @torch.no_grad()
    def refine(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        garment: GarmentLatent,
        strength: float,
        steps: int,
        generator: torch.Generator | None = None,
        vae_generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Repaints ``mask`` of a nearly finished image, starting from the image itself.

        The image's latent is noised to ``strength`` (0: unchanged, 1: pure noise) and
        denoised in ``steps`` steps with the try-on conditioning (masked image, mask,
        garment), as image-to-image sampling does.

        Args:
            image: (B, 3, H, W) float in [-1, 1], the composite to refine.
            mask: (B, 1, H, W) float, 1 where pixels may be repainted.
            garment: the garments' posteriors at the same H and W.
            strength: noise level to start from, in (0, 1].
            steps: denoising steps actually run.

        Returns:
            (B, 3, H, W) float32 in [0, 1] on the CPU.
        """
        if not 0 < strength <= 1:
            raise TryOnError(f"refine strength must be in (0, 1], got {strength}")
        if steps < 1:
            raise TryOnError(f"refine steps must be at least 1, got {steps}")
        image, mask, garment = self._check(image, mask, garment)
        binary = (mask >= 0.5).to(self.dtype)
        both = torch.cat([image * (binary < 0.5), image])
        latents_both, _ = self.encode(both, vae_generator)
        masked_latent, start = latents_both.chunk(2)
        garment_latent = self.latent(garment.posterior, vae_generator)
        mask_latent = F.interpolate(binary, size=masked_latent.shape[-2:], mode="nearest")
        scheduler = self.new_scheduler()
        total = max(steps, math.ceil(steps / strength))
        scheduler.set_timesteps(total, device=self.device)
        timesteps = scheduler.timesteps[total - steps :]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(total - steps)
        clean = torch.cat([start, _batched(garment_latent, start.shape[0])], dim=CONCAT_DIM)
        noise = self._noise(start, generator)
        latents = scheduler.add_noise(clean.float(), noise, timesteps[:1])
        return self._denoise(
            latents, scheduler, timesteps, masked_latent, garment_latent, mask_latent, generator
        )

    def _noise(
        self, person_latent: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        b, c, h, w = person_latent.shape
        shape = (b, c, 2 * h, w) if CONCAT_DIM == -2 else (b, c, h, 2 * w)
        return randn_tensor(shape, generator=generator, device=self.device, dtype=torch.float32)

    def _denoise(
        self,
        latents: torch.Tensor,
        scheduler: Scheduler,
        timesteps: torch.Tensor,
        masked_latent: torch.Tensor,
        garment_latent: torch.Tensor,
        mask_latent: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        batch = masked_latent.shape[0]
        garment_latent = _batched(garment_latent, batch)
        cond = torch.cat([masked_latent, garment_latent], dim=CONCAT_DIM)
        mask_cat = torch.cat([mask_latent, torch.zeros_like(mask_latent)], dim=CONCAT_DIM)
        guided = self.config.guidance > 1.0
        if guided:
            uncond = torch.cat([masked_latent, torch.zeros_like(garment_latent)], dim=CONCAT_DIM)
            cond = torch.cat([uncond, cond])
            mask_cat = torch.cat([mask_cat, mask_cat])
        extra = {"eta": self.config.eta} if isinstance(scheduler, DDIMScheduler) else {}
        for t in timesteps:
            model_in = torch.cat([latents] * 2) if guided else latents
            model_in = scheduler.scale_model_input(model_in, t)
            unet_in = torch.cat([model_in.to(self.dtype), mask_cat, cond], dim=1)
            eps = self.models.unet(unet_in, t, encoder_hidden_states=None, return_dict=False)[
                0
            ].float()
            if guided:
                eps_uncond, eps_cond = eps.chunk(2)
                eps = eps_uncond + self.config.guidance * (eps_cond - eps_uncond)
            latents = scheduler.step(
                eps, t, latents, generator=generator, return_dict=False, **extra
            )[0]
        person = latents.split(latents.shape[CONCAT_DIM] // 2, dim=CONCAT_DIM)[0]
        # (1 / s) * x, not x / s: the reference's expression, so compat stays bit-identical.
        decoded = self.models.vae.decode((1 / self.scaling * person).to(self.dtype)).sample
        return (decoded.float() / 2 + 0.5).clamp(0, 1).cpu()

    def _check(
        self, image: torch.Tensor, mask: torch.Tensor, garment: GarmentLatent
    ) -> tuple[torch.Tensor, torch.Tensor, GarmentLatent]:
        _check_images(image, "person")
        b, _, h, w = image.shape
        if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[0] != b or mask.shape[-2:] != (h, w):
            raise TryOnError(f"mask must be ({b}, 1, {h}, {w}), got {tuple(mask.shape)}")
        if (garment.height, garment.width) != (h, w):
            raise TryOnError(
                f"garment latent was encoded at {garment.height}x{garment.width}, the person "
                f"is {h}x{w}; encode the garment at the person's size"
            )
        if garment.batch not in (1, b):
            raise TryOnError(f"{garment.batch} garments for {b} people: give 1 or {b}")
        return image.to(self.device, self.dtype), mask.to(self.device, self.dtype), garment


def _batched(latent: torch.Tensor, batch: int) -> torch.Tensor:
    return latent if latent.shape[0] == batch else latent.expand(batch, -1, -1, -1)


def _check_images(images: torch.Tensor, role: str) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise TryOnError(f"{role} images must be (B, 3, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if h % 8 or w % 8:
        raise TryOnError(f"{role} images must have sides that are multiples of 8, got {h}x{w}")
