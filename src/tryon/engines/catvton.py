"""The ``catvton`` engine: CatVTON-compatible latent diffusion inside the agnostic mask.

The person side (body analysis, category check, agnostic mask) is the one every engine
shares (``tryon.engines.person``); the diffusion renderer paints the garment into the
mask. The default ``compat`` preset is CatVTON's reference algorithm; ``fast`` and
``draft`` trade exactness for speed. CatVTON's weights are CC BY-NC-SA 4.0
(non-commercial).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.diffusion.models import DiffusionModels
from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
from tryon.engines.person import AnalysingEngine, Analyzers, MaskedPerson, other_people_warnings
from tryon.errors import TryOnError
from tryon.types import (
    Category,
    DiffusionDetails,
    GarmentAnalysis,
    Image,
    Mask,
    TryOnResult,
)


@dataclass(frozen=True)
class CatVTONConfig(RenderConfig):
    """Settings of the ``catvton`` engine: the renderer's (``RenderConfig``: version,
    preset, seed, area, device) and what is done with its output.

    Attributes:
        repaint: blend the result into the photo through a feathered mask so that every
            pixel outside the agnostic mask is the input's (off: the raw model output,
            as CatVTON returns it).
    """

    repaint: bool = True


class CatVTONEngine(AnalysingEngine):
    """Try-on by CatVTON's diffusion model.

    Args:
        weights: weights directory (see ``tryon.diffusion.weights``); ignored when
            ``models`` is given.
        config: engine settings.
        models: already loaded or built models (tests, services sharing one copy).
        analyzers: body and garment analysers shared with other engines; made here
            when None (and then closed with the engine).
    """

    name = "catvton"

    def __init__(
        self,
        weights: Path | None = None,
        config: CatVTONConfig | None = None,
        models: DiffusionModels | None = None,
        *,
        analyzers: Analyzers | None = None,
    ) -> None:
        self.config = config or CatVTONConfig()
        # The diffusion weights first: a missing file is reported before MediaPipe loads.
        self.renderer = DiffusionRenderer(weights, self.config, models)
        super().__init__(analyzers)

    def dress(
        self, person: Image, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        return self.dress_batch([person], [garment], [category])[0]

    def dress_batch(
        self,
        persons: list[Image],
        garments: list[GarmentAnalysis],
        categories: list[Category | None],
    ) -> list[TryOnResult]:
        """Dresses several people at once (one model batch per working size).

        Args:
            persons: (H, W, 3) RGB uint8 photos (any sizes).
            garments: one analysed garment per person; a garment's tuned adapter
                (``GarmentAnalysis.adapter``, attached by the catalog) is applied to its
                people only.
            categories: one category per person (None: the garment's).
        """
        if not len(persons) == len(garments) == len(categories):
            raise TryOnError(
                f"{len(persons)} people, {len(garments)} garments and {len(categories)} "
                "categories: give one garment and one category per person"
            )
        start = time.perf_counter()
        masked = [
            self.analyzers.mask_person(person, category or garment.category)
            for person, garment, category in zip(persons, garments, categories, strict=True)
        ]
        analysis = (time.perf_counter() - start) / len(persons)
        t0 = time.perf_counter()
        rendered = self.renderer.render(
            persons,
            [g.image for g in garments],
            [m.agnostic_mask for m in masked],
            [g.adapter for g in garments],
        )
        diffusion = (time.perf_counter() - t0) / len(persons)
        return [
            self._result(
                person,
                garment,
                generated,
                warnings,
                timings={"analysis": analysis, "diffusion": diffusion},
            )
            for person, garment, generated, warnings in zip(
                masked, garments, rendered.images, rendered.warnings, strict=True
            )
        ]

    def _result(
        self,
        person: MaskedPerson,
        garment: GarmentAnalysis,
        generated: Image,
        warnings: list[str],
        *,
        timings: dict[str, float],
    ) -> TryOnResult:
        start = time.perf_counter()
        image, notes = generated, list(warnings)
        if self.config.repaint:
            image = repaint(person.image, generated, person.agnostic_mask)
        else:
            notes.append("repaint is off: pixels outside the mask come from the model")
        return TryOnResult(
            image=image,
            agnostic_mask=person.agnostic_mask,
            category=person.category,
            timings={**timings, "repaint": time.perf_counter() - start},
            person=person.image,
            body=person.body,
            garment=garment,
            warnings=notes + other_people_warnings(person.body),
            details=DiffusionDetails(generated),
        )


def repaint(person: Image, generated: Image, mask: Mask) -> Image:
    """Blends ``generated`` into ``person`` through ``mask`` blurred as CatVTON's repaint
    does (Gaussian, radius = height / 50, odd), then zeroed outside ``mask`` so every
    pixel outside it is the person's, bit for bit.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        generated: (H, W, 3) RGB uint8 model output at the photo's size.
        mask: (H, W) bool, the agnostic mask.
    """
    radius = person.shape[0] // 50
    radius += 1 - radius % 2
    # PIL's GaussianBlur(radius) is a Gaussian of standard deviation ``radius``.
    weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), radius) * mask
    w3 = weight[..., None]
    blended = np.round(person * (1 - w3) + generated * w3)
    return np.where(mask[..., None], np.clip(blended, 0, 255), person).astype(np.uint8)
