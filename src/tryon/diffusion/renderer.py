"""The diffusion renderer: CatVTON's model behind one call per batch of photos.

It holds what every diffusion engine needs around the pipeline: the garment latent
cache, the seeded generators, the working sizes (photos of any size are scaled to the
model's area and padded), the warnings about sizes far from the training size, the
image-to-image refinement of a crop, and the garments' tuned adapters
(``tryon.diffusion.adapters``: each person of a batch gets its garment's adapter, or
none, and a garment without one renders as if no adapter existed). The ``catvton``
engine renders whole masks with it, the ``hybrid`` engine refines seams, the service
renders jobs in batches.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from tryon.diffusion.adapters import LoadedAdapter, applying, read_adapter
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
from tryon.diffusion.sampling import DEFAULT_PRESET, Precision, SamplerConfig, preset
from tryon.diffusion.weights import DEFAULT_VERSION, AttentionWeights, attention_weights
from tryon.errors import TryOnError
from tryon.types import GarmentAdapter, Image, Mask

GARMENT_CACHE_SIZE = 32
"""Garment posteriors kept per renderer (one per garment and working size)."""

ADAPTER_CACHE_SIZE = 8
"""Garment adapters kept loaded per renderer, most recently used first."""


@dataclass(frozen=True)
class RenderConfig:
    """Settings of the diffusion model's rendering.

    Attributes:
        version: the attention weights: a published CatVTON version ("mix-48k-1024",
            "vitonhd-16k-512", "dresscode-16k-512"), or trained ones: their folder's name
            under the weights folder (or its ``CatVTON/``), or their path (a folder holding
            ``attention/model.safetensors``, or the file); see
            ``tryon.diffusion.weights.attention_weights``.
        preset: sampler preset name ("compat", "fast", "draft") or a ``SamplerConfig``.
        seed: seed of the sampling noise; the same inputs and seed give the same image.
        area: pixels the person photo is scaled to (keeping its aspect ratio); None uses
            the size the weights were trained at (1024x768 or 512x384 for the published
            versions; a trained folder's ``training.json`` says its own).
        device: "cuda", "cpu", ...; None picks the GPU when there is one.
    """

    version: str | Path = DEFAULT_VERSION
    preset: str | SamplerConfig = DEFAULT_PRESET
    seed: int = 0
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


class DiffusionRenderer:
    """CatVTON's model with its garment cache and seeded draws.

    Args:
        weights: weights directory (see ``tryon.diffusion.weights``); ignored when
            ``models`` is given.
        config: rendering settings.
        models: already loaded or built models (tests, services sharing one copy).
        engine: the engine's name, for the error when no weights are given.

    Raises:
        TryOnError: neither weights nor models, or the weights are incomplete.
    """

    def __init__(
        self,
        weights: Path | None = None,
        config: RenderConfig | None = None,
        models: DiffusionModels | None = None,
        *,
        engine: str = "catvton",
    ) -> None:
        self.config = config or RenderConfig()
        if models is None and weights is None:
            raise TryOnError(f"the {engine} engine needs a weights directory (--weights DIR)")
        folder = Path(weights) if weights is not None else None
        self.version: AttentionWeights = attention_weights(self.config.version, folder)
        self.sampler = preset(self.config.preset)
        if models is None:
            assert folder is not None
            models = load_models(folder, self.config.version)
        self.pipeline = CatVTONPipeline(models, self.sampler, pick_device(self.config.device))
        self._garments: OrderedDict[tuple[str, int, int], GarmentLatent] = OrderedDict()
        self._adapters: OrderedDict[str, LoadedAdapter] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def training_area(self) -> int:
        return self.version.height * self.version.width

    def render(
        self,
        persons: list[Image],
        garments: list[Image],
        masks: list[Mask],
        adapters: Sequence[GarmentAdapter | None] | None = None,
        *,
        sampler: SamplerConfig | None = None,
        seed: int | None = None,
    ) -> Rendered:
        """The diffusion model's try-on for caller-given masks (no body analysis).

        Args:
            persons: (H, W, 3) RGB uint8 photos, any sizes.
            garments: (h, w, 3) RGB uint8 garment photos, one per person.
            masks: (H, W) bool, where each person's garment goes.
            adapters: each garment's tuned adapter, or None (default: none at all). It
                changes that person's output only: the others of the batch are rendered
                bit for bit as without it.
            sampler: this call's sampler (steps, solver, guidance...; None: the config's
                preset). The networks keep the precision they were loaded in.
            seed: this call's seed (None: the config's).

        Returns:
            Raw model outputs at each photo's size (not repainted) and warnings.

        Raises:
            AdapterError: an adapter's file is unreadable or does not fit the model.
        """
        chosen = list(adapters) if adapters is not None else [None] * len(persons)
        if not len(persons) == len(garments) == len(masks) == len(chosen):
            raise TryOnError("render needs one garment, one mask and one adapter per person")
        loaded = [self.adapter(a) for a in chosen]
        sizes = []
        for person, mask in zip(persons, masks, strict=True):
            if mask.shape != person.shape[:2]:
                raise TryOnError(
                    f"mask is {mask.shape[0]}x{mask.shape[1]} but the person photo is "
                    f"{person.shape[0]}x{person.shape[1]}; give a mask of the photo's size"
                )
            sizes.append(working_size(image_hw(person), self.config.area or self.training_area))
        pipeline = self.pipeline if sampler is None else self.pipeline_for(sampler)
        images: list[Image | None] = [None] * len(persons)
        for size in dict.fromkeys(sizes):
            group = [i for i, s in enumerate(sizes) if s == size]
            outputs = self._render_group(
                [persons[i] for i in group],
                [garments[i] for i in group],
                [masks[i] for i in group],
                size,
                tuple(loaded[i][0] for i in group),
                (pipeline, self.config.seed if seed is None else seed),
            )
            for i, out in zip(group, outputs, strict=True):
                images[i] = from_working(out, size, image_hw(persons[i]))
        return Rendered(
            images=[im for im in images if im is not None],
            warnings=[
                self.size_warnings(s) + notes for s, (_, notes) in zip(sizes, loaded, strict=True)
            ],
        )

    def refine(
        self,
        crop: Image,
        mask: Mask,
        garment: Image,
        *,
        area: int,
        strength: float,
        steps: int,
        adapter: GarmentAdapter | None = None,
    ) -> Rendered:
        """Image-to-image: ``crop`` noised to ``strength`` and denoised for ``steps``
        inside ``mask``, conditioned on ``garment``.

        Args:
            crop: (h, w, 3) RGB uint8 image to refine.
            mask: (h, w) bool, where the model may repaint.
            garment: RGB uint8 garment photo (the model's condition).
            area: pixels the crop is scaled to for the model (keeping its aspect).
            adapter: the garment's tuned adapter, or None.

        Returns:
            One (h, w, 3) RGB uint8 image, the model's output at the crop's size, and its
            warnings (an adapter tuned on other weights, left out).
        """
        size = working_size(image_hw(crop), area)
        latent = self.garment_latent(garment, size.padded)
        noise, vae = self.generators()
        lora, notes = self.adapter(adapter)
        with applying(self.pipeline.models.unet, (lora,)):
            out = self.pipeline.refine(
                image_to_tensor([to_working(crop, size)]),
                mask_to_tensor([mask_to_working(mask, size)]),
                latent,
                strength=strength,
                steps=steps,
                generator=noise,
                vae_generator=vae,
            )
        return Rendered([from_working(tensor_to_images(out)[0], size, image_hw(crop))], [notes])

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

    def adapter(self, adapter: GarmentAdapter | None) -> tuple[LoadedAdapter | None, list[str]]:
        """A garment's adapter loaded for this model (cached by its digest), and warnings.

        An adapter tuned on other attention weights than this renderer's is left out,
        with a warning: its update was learnt against those weights.

        Raises:
            AdapterError: its file is unreadable or does not fit the model.
        """
        if adapter is None:
            return None, []
        if adapter.version != self.version.name:
            return None, [
                f"the adapter of garment {adapter.garment} was tuned on the {adapter.version} "
                f"weights, this model runs {self.version.name}: it was left out; tune it again "
                "on these weights"
            ]
        with self._lock:
            lora = self._adapters.get(adapter.digest)
            if lora is not None:
                self._adapters.move_to_end(adapter.digest)
                return lora, []
        lora = read_adapter(adapter, self.pipeline.models.unet, self.pipeline.device)
        with self._lock:
            self._adapters[adapter.digest] = lora
            while len(self._adapters) > ADAPTER_CACHE_SIZE:
                self._adapters.popitem(last=False)
        return lora, []

    def generators(self, seed: int | None = None) -> tuple[torch.Generator, torch.Generator]:
        """Fresh generators for the sampling noise and the VAE draws, from ``seed``
        (None: the config's)."""
        device = self.pipeline.device
        seed = self.config.seed if seed is None else seed
        noise = torch.Generator(device).manual_seed(seed)
        vae = torch.Generator(device).manual_seed(seed + 1)
        return noise, vae

    def pipeline_for(self, sampler: SamplerConfig) -> CatVTONPipeline:
        """A pipeline sampling the loaded networks with ``sampler``'s steps, solver and
        guidance, at the precision they were loaded in (their dtype is not changed)."""
        loaded: Precision = "half" if self.pipeline.dtype == torch.bfloat16 else "fp32"
        same = replace(sampler, precision=loaded)
        return CatVTONPipeline(self.pipeline.models, same, self.pipeline.device, move=False)

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
        self,
        persons: list[Image],
        garments: list[Image],
        masks: list[Mask],
        size: WorkingSize,
        adapters: tuple[LoadedAdapter | None, ...],
        sampling: tuple[CatVTONPipeline, int],
    ) -> list[Image]:
        pipeline, seed = sampling
        person = image_to_tensor([to_working(p, size) for p in persons])
        mask = mask_to_tensor([mask_to_working(m, size) for m in masks])
        latent = concat_garments([self.garment_latent(g, size.padded) for g in garments])
        noise, vae = self.generators(seed)
        with applying(self.pipeline.models.unet, adapters):
            return tensor_to_images(pipeline(person, mask, latent, noise, vae))
