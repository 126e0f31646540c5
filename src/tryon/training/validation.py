"""Validation while training: a fixed set of pairs rendered with the ``fast`` preset by
the UNet being trained, as an image grid (masked person, garment, result, ground truth
per row), with SSIM against the ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage

from tryon.diffusion.images import image_to_tensor, mask_to_tensor, tensor_to_images
from tryon.diffusion.models import DiffusionModels
from tryon.diffusion.pipeline import CatVTONPipeline
from tryon.diffusion.sampling import preset
from tryon.training.samples import TrainingSample
from tryon.types import Image

VALIDATION_DIR = "validation"
GREY = 128


def validate(
    models: DiffusionModels,
    samples: Sequence[TrainingSample],
    device: torch.device,
    seed: int,
    out: Path,
) -> dict[str, float]:
    """Renders ``samples`` and writes their grid to ``out``; returns the figures.

    The models are used as they are (their dtypes untouched): call it under the run's
    autocast when their parts differ in dtype.
    """
    # The preset's sampler in float32 arithmetic: the models keep their own dtypes.
    sampler = replace(preset("fast"), precision="fp32")
    pipeline = CatVTONPipeline(models, sampler, device, move=False)
    person = image_to_tensor([s.person for s in samples])
    mask = mask_to_tensor([s.mask for s in samples])
    garment = pipeline.encode_garment(image_to_tensor([s.garment for s in samples]))
    noise = torch.Generator(device).manual_seed(seed)
    rendered = tensor_to_images(pipeline(person, mask, garment, noise, None))
    rows = [
        np.hstack([_masked(s.person, s.mask), s.garment, result, s.person])
        for s, result in zip(samples, rendered, strict=True)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.vstack(rows)).save(out)
    return {"ssim": _ssim(rendered, [s.person for s in samples])}


def _masked(person: Image, mask: np.ndarray) -> Image:
    shown = person.copy()
    shown[mask] = GREY
    return shown


def _ssim(results: Sequence[Image], truths: Sequence[Image]) -> float:
    """Mean SSIM of the results against the ground truth (NaN without torchmetrics)."""
    try:
        from torchmetrics.functional.image import structural_similarity_index_measure
    except ImportError:
        return float("nan")
    a = image_to_tensor(list(results)) / 2 + 0.5
    b = image_to_tensor(list(truths)) / 2 + 0.5
    value = structural_similarity_index_measure(a, b, data_range=1.0)
    return float(value[0] if isinstance(value, tuple) else value)
