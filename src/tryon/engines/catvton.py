"""The ``catvton`` engine: CatVTON-compatible latent diffusion inside the agnostic mask.

Body analysis, category and agnostic mask come from the warp engine's stages (or from
the caller, through ``render``); the diffusion model paints the garment into the mask.
The default ``compat`` preset is CatVTON's reference algorithm; ``fast`` and ``draft``
trade exactness for speed. CatVTON's weights are CC BY-NC-SA 4.0 (non-commercial).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from tryon.body.agnostic import agnostic_mask
from tryon.diffusion.images import (
    WorkingSize,
    from_working,
    garment_canvas,
    image_hw,
    image_to_tensor,
    mask_to_tensor,
    mask_to_working,
    tensor_to_images,
    to_working,
    working_size,
)
from tryon.diffusion.models import DiffusionModels, load_models
from tryon.diffusion.pipeline import CatVTONPipeline, GarmentLatent, concat_garments
from tryon.diffusion.sampling import DEFAULT_PRESET, SamplerConfig, preset
from tryon.diffusion.weights import DEFAULT_VERSION, CatVTONVersion, version
from tryon.engines.warp import WarpEngine, check_visible
from tryon.errors import TryOnError
from tryon.types import (
    Category,
    GarmentAnalysis,
    GarmentLandmarks,
    Image,
    Mask,
    TryOnResult,
    WarpedGarment,
)

GARMENT_CACHE_SIZE = 32
"""Garment posteriors kept per engine (one per garment and working size)."""


@dataclass(frozen=True)
class CatVTONConfig:
    """Settings of the ``catvton`` engine.

    Attributes:
        version: CatVTON attention weights: "mix-48k-1024", "vitonhd-16k-512" or
            "dresscode-16k-512".
        preset: sampler preset name ("compat", "fast", "draft") or a ``SamplerConfig``.
        seed: seed of the sampling noise; the same inputs and seed give the same image.
        repaint: blend the result into the photo through a feathered mask so that every
            pixel outside the agnostic mask is the input's (off: the raw model output,
            as CatVTON returns it).
        area: pixels the person photo is scaled to (keeping its aspect ratio); None uses
            the version's training size (1024x768 or 512x384).
        device: "cuda", "cpu", ...; None picks the GPU when there is one.
    """

    version: str = DEFAULT_VERSION
    preset: str | SamplerConfig = DEFAULT_PRESET
    seed: int = 0
    repaint: bool = True
    area: int | None = None
    device: str | None = None


@dataclass(frozen=True)
class Rendered:
    """Model outputs of one ``render`` call.

    Attributes:
        images: the people dressed, each at its photo's size (raw model output).
        warnings: one list per person (e.g. a size far from the training size).
    """

    images: list[Image]
    warnings: list[list[str]]


def pick_device(name: str | None) -> torch.device:
    """The device to run on: ``name``, else the GPU when there is one, else the CPU."""
    if name is not None:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class CatVTONEngine:
    """Try-on by CatVTON's diffusion model.

    Args:
        weights: weights directory (see ``tryon.diffusion.weights``); ignored when
            ``models`` is given.
        config: engine settings.
        models: already loaded or built models (tests, services sharing one copy).
        warp: the warp engine whose body and garment analysis is reused.
    """

    name = "catvton"

    def __init__(
        self,
        weights: Path | None = None,
        config: CatVTONConfig | None = None,
        models: DiffusionModels | None = None,
        warp: WarpEngine | None = None,
    ) -> None:
        self.config = config or CatVTONConfig()
        self.version: CatVTONVersion = version(self.config.version)
        self.sampler = preset(self.config.preset)
        if models is None:
            if weights is None:
                raise TryOnError("the catvton engine needs a weights directory (--weights DIR)")
            models = load_models(Path(weights), self.version.name)
        self.pipeline = CatVTONPipeline(models, self.sampler, pick_device(self.config.device))
        self.warp = warp or WarpEngine()
        self._garments: OrderedDict[tuple[str, int, int], GarmentLatent] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def training_area(self) -> int:
        return self.version.height * self.version.width

    def analyze_garment(
        self, garment: Image, category: Category | None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        return self.warp.analyze_garment(garment, category, cutout)

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
            garments: one analysed garment per person.
            categories: one category per person (None: the garment's).
        """
        if not len(persons) == len(garments) == len(categories):
            raise TryOnError(
                f"{len(persons)} people, {len(garments)} garments and {len(categories)} "
                "categories: give one garment and one category per person"
            )
        start = time.perf_counter()
        analysed = []
        for person, garment, category in zip(persons, garments, categories, strict=True):
            chosen = category or garment.category
            body = self.warp.body.analyze(person)
            check_visible(body, chosen)
            analysed.append((body, chosen, agnostic_mask(body, chosen, self.warp.agnostic_config)))
        analysis = (time.perf_counter() - start) / len(persons)
        t0 = time.perf_counter()
        rendered = self.render(persons, [g.image for g in garments], [a[2] for a in analysed])
        diffusion = (time.perf_counter() - t0) / len(persons)
        results = []
        for i, (person, garment, (body, chosen, mask)) in enumerate(
            zip(persons, garments, analysed, strict=True)
        ):
            t1 = time.perf_counter()
            image = rendered.images[i]
            warnings = list(rendered.warnings[i])
            if self.config.repaint:
                image = repaint(person, image, mask)
            else:
                warnings.append("repaint is off: pixels outside the mask come from the model")
            if body.other_people:
                warnings.append(
                    f"{body.other_people} other people are in the photo; dressed the most "
                    "prominent person"
                )
            h, w = mask.shape
            results.append(
                TryOnResult(
                    image=image,
                    agnostic_mask=mask,
                    category=chosen,
                    timings={
                        "analysis": analysis,
                        "diffusion": diffusion,
                        "repaint": time.perf_counter() - t1,
                    },
                    person=person,
                    body=body,
                    garment=garment,
                    warped=WarpedGarment(
                        np.zeros((h, w, 3), np.uint8),
                        np.zeros((h, w), np.float32),
                        np.zeros((h, w), np.uint8),
                        GarmentLandmarks(),
                    ),
                    shading=np.ones((h, w), np.float32),
                    fill_mask=np.zeros((h, w), bool),
                    warnings=warnings,
                )
            )
        return results

    def render(self, persons: list[Image], garments: list[Image], masks: list[Mask]) -> Rendered:
        """The diffusion model's try-on for caller-given masks (no body analysis).

        Args:
            persons: (H, W, 3) RGB uint8 photos, any sizes.
            garments: (h, w, 3) RGB uint8 garment photos, one per person.
            masks: (H, W) bool, where each person's garment goes.

        Returns:
            Raw model outputs at each photo's size (not repainted) and warnings.
        """
        if not len(persons) == len(garments) == len(masks):
            raise TryOnError("render needs one garment and one mask per person")
        sizes = []
        for person, mask in zip(persons, masks, strict=True):
            if mask.shape != person.shape[:2]:
                raise TryOnError(
                    f"mask is {mask.shape[0]}x{mask.shape[1]} but the person photo is "
                    f"{person.shape[0]}x{person.shape[1]}; give a mask of the photo's size"
                )
            sizes.append(working_size(image_hw(person), self.config.area or self.training_area))
        images: list[Image | None] = [None] * len(persons)
        for size in dict.fromkeys(sizes):
            group = [i for i, s in enumerate(sizes) if s == size]
            outputs = self._render_group(
                [persons[i] for i in group],
                [garments[i] for i in group],
                [masks[i] for i in group],
                size,
            )
            for i, out in zip(group, outputs, strict=True):
                images[i] = from_working(out, size, image_hw(persons[i]))
        return Rendered(
            images=[im for im in images if im is not None],
            warnings=[self.size_warnings(s) for s in sizes],
        )

    def garment_latent(self, garment: Image, size: tuple[int, int]) -> GarmentLatent:
        """The garment's posterior at working (height, width) ``size``, cached per garment."""
        digest = hashlib.sha1(garment.tobytes() + str(garment.shape).encode()).hexdigest()
        key = (digest, *size)
        with self._lock:
            if key in self._garments:
                self._garments.move_to_end(key)
                return self._garments[key]
        latent = self.pipeline.encode_garment(image_to_tensor([garment_canvas(garment, size)]))
        with self._lock:
            self._garments[key] = latent
            while len(self._garments) > GARMENT_CACHE_SIZE:
                self._garments.popitem(last=False)
        return latent

    def generators(self) -> tuple[torch.Generator, torch.Generator]:
        """Fresh generators for the sampling noise and the VAE draws, from the seed."""
        device = self.pipeline.device
        noise = torch.Generator(device).manual_seed(self.config.seed)
        vae = torch.Generator(device).manual_seed(self.config.seed + 1)
        return noise, vae

    def size_warnings(self, size: WorkingSize) -> list[str]:
        """Warns when the model runs far from the size its weights were trained at."""
        h, w = size.scaled
        th, tw = self.version.height, self.version.width
        warnings = []
        if not 0.5 <= (h * w) / (th * tw) <= 2.0:
            warnings.append(
                f"the model runs at {h}x{w}, far from the {th}x{tw} CatVTON {self.version.name} "
                "was trained at; expect washed-out or colour-shifted results"
            )
        if not 0.75 <= (h / w) / (th / tw) <= 1.34:
            warnings.append(
                f"the photo's aspect ratio ({h}x{w}) is far from the {th}x{tw} portrait "
                "CatVTON was trained on; crop the photo closer to 3:4 for better results"
            )
        return warnings

    def _render_group(
        self, persons: list[Image], garments: list[Image], masks: list[Mask], size: WorkingSize
    ) -> list[Image]:
        person = image_to_tensor([to_working(p, size) for p in persons])
        mask = mask_to_tensor([mask_to_working(m, size) for m in masks])
        latent = concat_garments([self.garment_latent(g, size.padded) for g in garments])
        noise, vae = self.generators()
        return tensor_to_images(self.pipeline(person, mask, latent, noise, vae))


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
