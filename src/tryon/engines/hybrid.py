"""The ``hybrid`` engine: the warp engine's composite, then diffusion on its seams only.

The warp engine places the garment with its print and colour exact. The diffusion model
then repaints only the refine mask (a band around the garment's outline, uncovered
old-garment pixels and exposed skin), on the crop that holds it, starting from the
composite noised to ``strength`` and running a few steps. The repainted pixels are
blended in with a feathered weight that is zero outside the refine mask, so every other
pixel is the composite's, and outside the agnostic mask the input photo's, bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tryon.closing import Closeable
from tryon.diffusion.models import DiffusionModels
from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
from tryon.diffusion.sampling import SamplerConfig
from tryon.engines.refine_mask import RefineMaskConfig, blend_weight, refine_mask
from tryon.engines.warp import PAINTED_SKIN, WarpEngine
from tryon.errors import TryOnError
from tryon.ops import masks as M
from tryon.types import Category, GarmentAdapter, GarmentAnalysis, Image, Mask, TryOnResult

REFINE_SAMPLER = SamplerConfig(
    "refine", steps=10, solver="dpm++2m", eta=0.0, vae_sample=False, precision="half"
)
"""Image-to-image refinement: DPM-Solver++ 2M, posterior means, bfloat16 on a GPU."""


@dataclass(frozen=True)
class HybridConfig:
    """Settings of the ``hybrid`` engine.

    Attributes:
        strength: noise level the composite is taken to before denoising (0: none,
            1: pure noise).
        steps: denoising steps run.
        mask: widths of the refine mask's band and feather.
        margin: context kept around the refine mask in the crop, x image height.
        crop_area: pixels the crop is scaled to for the model (keeping its aspect).
        diffusion: the diffusion model's settings (version, seed, device); its preset
            defaults to ``REFINE_SAMPLER``.
    """

    strength: float = 0.5
    steps: int = 10
    mask: RefineMaskConfig = field(default_factory=RefineMaskConfig)
    margin: float = 0.04
    crop_area: int = 512 * 384
    diffusion: RenderConfig = field(default_factory=lambda: RenderConfig(preset=REFINE_SAMPLER))

    def __post_init__(self) -> None:
        if not 0 < self.strength <= 1:
            raise TryOnError(f"hybrid strength must be in (0, 1], got {self.strength}")
        if self.steps < 1:
            raise TryOnError(f"hybrid steps must be at least 1, got {self.steps}")


@dataclass(frozen=True)
class Refined:
    """The refinement of one composite.

    Attributes:
        image: the refined image, (H, W, 3) RGB uint8.
        mask: (H, W) bool refine mask; no pixel outside it differs from the composite.
        weight: (H, W) float32 blend weight of the repainted pixels (0 outside ``mask``).
        warnings: the model's (e.g. the garment's adapter tuned on other weights).
    """

    image: Image
    mask: Mask
    weight: npt.NDArray[np.float32]
    warnings: list[str] = field(default_factory=list)


class HybridEngine(Closeable):
    """Warp, then diffusion on the seams.

    Args:
        weights: weights directory (as for ``catvton``); ignored when ``models`` is given.
        config: engine settings.
        models: already loaded or built diffusion models.
        warp: the warp engine to run first; made here when None (and then closed with
            the engine).
    """

    name = "hybrid"

    def __init__(
        self,
        weights: Path | None = None,
        config: HybridConfig | None = None,
        models: DiffusionModels | None = None,
        *,
        warp: WarpEngine | None = None,
    ) -> None:
        self.config = config or HybridConfig()
        # The diffusion weights first: a missing file is reported before MediaPipe loads.
        self.renderer = DiffusionRenderer(weights, self.config.diffusion, models, engine=self.name)
        self._owns_warp = warp is None
        self.warp = warp or WarpEngine()

    def close(self) -> None:
        """Stops the warp engine's threads when the engine made it."""
        if self._owns_warp:
            self.warp.close()

    def analyze_garment(
        self, garment: Image, category: Category | None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        return self.warp.analyze_garment(garment, category, cutout)

    def dress(
        self, person: Image, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        warped = self.warp.dress(person, garment, category)
        start = time.perf_counter()
        refined = self.refine(warped, garment.image, garment.adapter)
        timings = {**warped.timings, "refine": time.perf_counter() - start}
        # The repaint covers the painted skin: its warning no longer holds.
        kept = [w for w in warped.warnings if not w.startswith(PAINTED_SKIN)]
        warnings = kept + refined.warnings
        return replace(warped, image=refined.image, timings=timings, warnings=warnings)

    def refine(
        self, result: TryOnResult, garment: Image, adapter: GarmentAdapter | None = None
    ) -> Refined:
        """Repaints the refine mask of a warp result.

        Args:
            result: the warp engine's result (composite, masks, warped garment).
            garment: (h, w, 3) RGB uint8 garment photo (the diffusion model's condition).
            adapter: the garment's tuned adapter (None: the base model).
        """
        cfg = self.config
        details = result.warp_details
        mask = refine_mask(
            result.agnostic_mask,
            details.warped.alpha,
            result.body.person_mask,
            details.fill_mask,
            cfg.mask,
        )
        composite = result.image
        h = composite.shape[0]
        box = M.bounding_box(mask, pad=max(8, round(cfg.margin * h)))
        if box is None:
            return Refined(composite.copy(), mask, np.zeros(mask.shape, np.float32))
        crop, crop_mask = composite[box], mask[box]
        rendered = self.renderer.refine(
            crop,
            M.dilate(crop_mask, 2.0),
            garment,
            area=cfg.crop_area,
            strength=cfg.strength,
            steps=cfg.steps,
            adapter=adapter,
        )
        painted = rendered.images[0]
        weight = blend_weight(mask, cfg.mask)
        w = weight[box][..., None]
        blended = np.clip(np.round(crop * (1 - w) + painted * w), 0, 255).astype(np.uint8)
        image = composite.copy()
        image[box] = np.where(crop_mask[..., None], blended, crop)
        return Refined(image, mask, weight, rendered.warnings[0])
