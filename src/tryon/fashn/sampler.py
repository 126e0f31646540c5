"""FASHN VTON v1.5's sampler: Euler steps of a rectified flow with classifier-free guidance.

Convention: t = 0 is noise, t = 1 is data; ``x <- x + (t_next - t) * v``. The reference's
loop, reproduced operation for operation so that the same weights, inputs and seed give
the same bits:

* the noise is one ``randn`` of (N, 3, H, W) in the model dtype on the model device,
  from a generator seeded with ``seed`` (the reference seeds the global RNG and draws
  first; both give the same numbers on the CPU, and this leaves the global RNG alone);
* the schedule is a shifted linear grid computed in float32 torch ops (``rf_schedule``);
  step sizes are differences of its values in Python floats (float64);
* each step is one batched forward of 2N samples, conditioned then unconditioned
  (conditions zeroed, null class); the guided velocity ``v_u + g (v_c - v_u)`` and the
  Euler update run in the model dtype; the last ``skip_cfg_last_steps`` steps use
  ``v_c`` alone (the unconditional half is still computed, as in the reference);
* the result is clamped to [-1, 1] in float32 and converted to uint8 by truncation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import torch

from tryon.errors import TryOnError

TIME_SHIFT_MU = 1.5
"""The schedule's shift: t' = e^-mu / (e^-mu + 1/t - 1) on the descending grid."""


@dataclass(frozen=True)
class FashnSampling:
    """How the try-on transformer is sampled.

    Attributes:
        steps: Euler steps.
        guidance: classifier-free guidance scale (1.5 in the reference).
        skip_cfg_last_steps: the last steps that use the conditional velocity alone
            (the reference's guard against over-saturated colours).
        seed: seed of the initial noise.
    """

    steps: int = 30
    guidance: float = 1.5
    skip_cfg_last_steps: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise TryOnError(f"FASHN sampling: steps must be at least 1, got {self.steps}")
        if self.skip_cfg_last_steps < 0:
            raise TryOnError(
                f"FASHN sampling: skip_cfg_last_steps must be >= 0, got {self.skip_cfg_last_steps}"
            )


PRESETS: dict[str, FashnSampling] = {
    # The reference's defaults, draw for draw.
    "compat": FashnSampling(),
    # 20 steps: the reference's own recommendation for fast sampling (its docstring:
    # 20 fast, 30 balanced, 50 quality); 2/3 of compat's time on the same schedule.
    "fast": FashnSampling(steps=20),
    # 50 steps: the reference's recommendation for quality.
    "quality": FashnSampling(steps=50),
}


@dataclass(frozen=True)
class FashnInputs:
    """The model's conditions, prepared: on the model device, in the model dtype.

    Attributes:
        ca_image: (N, 3, H, W) person image (or its masked version) in [-1, 1].
        person_pose: (N, 1, H, W) person pose raster in [-1, 1] (background -1).
        garment_image: (N, 3, H, W) garment image in [-1, 1].
        garment_pose: (N, 1, H, W) garment pose raster in [-1, 1].
        category: (N,) int64: 1 tops, 2 bottoms, 3 one-pieces.
    """

    ca_image: torch.Tensor
    person_pose: torch.Tensor
    garment_image: torch.Tensor
    garment_pose: torch.Tensor
    category: torch.Tensor

    def __post_init__(self) -> None:
        n, _, h, w = self.ca_image.shape
        expected = {
            "ca_image": (n, 3, h, w),
            "person_pose": (n, 1, h, w),
            "garment_image": (n, 3, h, w),
            "garment_pose": (n, 1, h, w),
            "category": (n,),
        }
        for field in fields(self):
            shape = tuple(getattr(self, field.name).shape)
            if shape != expected[field.name]:
                raise TryOnError(
                    f"FASHN inputs: {field.name} has shape {shape}, expected {expected[field.name]}"
                )
        if self.category.dtype != torch.int64:
            raise TryOnError(f"FASHN inputs: category must be int64, got {self.category.dtype}")

    def repeated(self, times: int) -> FashnInputs:
        """Each sample's inputs ``times`` times in a row (the reference's ``num_samples``):
        sample i's copies are rows ``i * times`` ... ``i * times + times - 1``; with one
        sample, its inputs repeated as the reference repeats them."""
        return FashnInputs(
            *(getattr(self, f.name).repeat_interleave(times, dim=0) for f in fields(self))
        )

    def doubled(self) -> FashnInputs:
        """The inputs repeated twice along the batch (CFG's conditional and null halves)."""
        return FashnInputs(*(torch.cat([getattr(self, f.name)] * 2) for f in fields(self)))


def rf_schedule(steps: int) -> torch.Tensor:
    """The reference's time grid: ``steps + 1`` float32 values ascending from 0 to 1.

    ``linspace(1, 0, steps + 1)`` shifted by e^-mu / (e^-mu + 1/t - 1) (mu = 1.5), in
    float32 torch ops exactly as the reference evaluates it, then reversed. It is the
    Flux/SD3 shift (e^mu ~ 4.48) applied to sigma = 1 - t.

    Returns:
        (steps + 1,) float32, t[0] = 0 (noise), t[-1] = 1 (data).
    """
    grid = torch.linspace(1, 0, steps + 1)
    shift = math.exp(-TIME_SHIFT_MU)
    return (shift / (shift + (1 / grid - 1))).flip(0)


def noise(inputs: FashnInputs, seed: int) -> torch.Tensor:
    """The initial noise: (N, 3, H, W) standard normal in the inputs' dtype and device,
    from a generator seeded with ``seed`` (the global RNG is not touched)."""
    image = inputs.ca_image
    generator = torch.Generator(device=image.device).manual_seed(seed)
    return torch.randn(image.shape, generator=generator, dtype=image.dtype, device=image.device)


VelocityModel = Callable[..., torch.Tensor]
"""A ``FashnTransformer`` or anything called like its ``forward``."""


@torch.inference_mode()
def sample(
    model: VelocityModel,
    inputs: FashnInputs,
    sampling: FashnSampling,
    *,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Samples try-on images: Euler steps from noise (t = 0) to data (t = 1) with CFG.

    Args:
        model: the transformer (in the inputs' dtype, on their device).
        inputs: the prepared conditions, N samples.
        sampling: steps, guidance, last steps without guidance, seed.
        on_step: called after each step with (steps done, steps in all).

    Returns:
        (N, 3, H, W) float32 images in [-1, 1].
    """
    image = inputs.ca_image
    n, dtype, device = image.shape[0], image.dtype, image.device
    x = noise(inputs, sampling.seed)
    times = rf_schedule(sampling.steps).tolist()
    doubled = inputs.doubled()
    keep = torch.cat([torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)])
    keep = keep.to(device)
    guided_steps = sampling.steps - sampling.skip_cfg_last_steps
    for step, (t, t_next) in enumerate(itertools.pairwise(times)):
        t_batch = torch.full((2 * n,), t, dtype=dtype, device=device)
        velocity = model(
            torch.cat([x, x]),
            t_batch,
            doubled.ca_image,
            doubled.person_pose,
            doubled.garment_image,
            doubled.garment_pose,
            doubled.category,
            keep,
        )
        v_c, v_u = velocity.split(n)
        guided = v_c if step >= guided_steps else v_u + sampling.guidance * (v_c - v_u)
        x = x + (t_next - t) * guided
        if on_step is not None:
            on_step(step + 1, sampling.steps)
    return x.to(dtype=torch.float32).clamp(-1.0, 1.0)


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] to uint8, truncating as the reference does (``(x + 1) / 2``,
    times 255, cast to uint8).

    Args:
        x: (N, 3, H, W) float images (values outside [-1, 1] are clamped).

    Returns:
        (N, H, W, 3) uint8 RGB.
    """
    x = x.detach().to(dtype=torch.float32).clamp(-1.0, 1.0)
    pixels = ((x + 1) * 0.5).mul(255).byte()
    return pixels.permute(0, 2, 3, 1).cpu().numpy()
