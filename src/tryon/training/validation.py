"""Validation while training: a fixed set of pairs rendered with the ``fast`` preset by
the UNet being trained, as an image grid (masked person, garment, result, ground truth
per row), with SSIM, and LPIPS where its weights are present, against the ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage

from tryon.debug.steps import agnostic_image
from tryon.diffusion.images import image_to_tensor, mask_to_tensor, tensor_to_images
from tryon.diffusion.models import DiffusionModels
from tryon.diffusion.pipeline import CatVTONPipeline
from tryon.diffusion.sampling import preset
from tryon.training.samples import TrainingSample
from tryon.types import Image

VALIDATION_DIR = "validation"


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
        np.hstack([np.asarray(agnostic_image(s.person, s.mask)), s.garment, result, s.person])
        for s, result in zip(samples, rendered, strict=True)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.vstack(rows)).save(out)
    return _scores(rendered, [s.person for s in samples])


def _scores(results: Sequence[Image], truths: Sequence[Image]) -> dict[str, float]:
    """Mean SSIM, and LPIPS where its published weights are in the evaluation cache
    (``tryon eval``'s metrics; none without the ``eval`` extra)."""
    try:
        from tryon.evaluation import metrics
        from tryon.evaluation.backbones import load_lpips
        from tryon.evaluation.weights import BACKBONES, LPIPS_LINEAR, default_cache_dir, missing
    except ImportError:
        return {}
    pairs = list(zip(results, truths, strict=True))
    scores = {"ssim": float(np.mean([metrics.ssim(r, t) for r, t in pairs]))}
    cache = default_cache_dir()
    if not missing(cache, [BACKBONES["squeeze"], LPIPS_LINEAR["squeeze"]]):
        model = load_lpips("squeeze", cache)
        scores["lpips"] = float(np.mean([metrics.lpips(r, t, model) for r, t in pairs]))
    return scores
