"""Diffusion jobs in the service: the catvton and fashn engines split into the parts that
scale apart.

A diffusion job is: the garment's analysis (``GarmentBackend``: the catalog, or the
photo analysed), the person's agnostic mask (the person side every engine shares, here), the
model's rendering (``DiffusionBackend``: a GPU's work, with per-step progress; catvton's
model takes a ``RenderRequest``, fashn's a ``FashnRequest``), then the repaint and the
encoding (here). On one machine the backends run in this process (``LocalGarments``,
``LocalDiffusion``); on Ray Serve they are deployments (``tryon.scale``) and the same job
code calls them through handles.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tryon.catalog import Catalog, UnknownGarmentError
from tryon.engines.person import Analyzers, MaskedPerson
from tryon.errors import TryOnError
from tryon.imageio import load_image
from tryon.pipeline import TryOn
from tryon.service.api_errors import APIError
from tryon.service.formats import FORMATS, encode
from tryon.service.garment_lookup import garment_analysis
from tryon.service.jobs import JobResult, JobSpec, Progress
from tryon.service.mask_field import check_mask_size, decode_mask
from tryon.service.metrics import Metrics
from tryon.service.settings import ServiceSettings
from tryon.types import Category, GarmentAdapter, GarmentAnalysis, Image, Mask

if TYPE_CHECKING:
    from tryon.engines.fashn import FashnConfig, FashnPair
    from tryon.fashn.model import FashnTransformer

StepCallback = Callable[[int, int], None]
BatchProgress = Callable[[list[int], int, int], None]
"""Reports (indices of the batch's requests concerned, step, total): a batch of
requests with different settings runs as one model call per group."""


@dataclass(frozen=True)
class DiffusionSettings:
    """A job's own diffusion settings (the ``preset``, ``steps`` and ``seed`` fields of
    ``POST /v1/jobs``); None: the server's.

    Attributes:
        preset: a preset name of the job's engine.
        steps: denoising (catvton) or sampling (fashn) steps, 1-100.
        seed: seed of the noise, >= 0.
    """

    preset: str | None = None
    steps: int | None = None
    seed: int | None = None

    def as_options(self) -> dict[str, Any]:
        """The settings given, as a job spec's options."""
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> DiffusionSettings:
        """The settings a job spec's options hold."""
        return cls(options.get("preset"), options.get("steps"), options.get("seed"))


def grouped(settings: list[DiffusionSettings]) -> list[list[int]]:
    """The indices of the requests sharing each distinct settings, in order of arrival."""
    return [[i for i, s in enumerate(settings) if s == one] for one in dict.fromkeys(settings)]


@dataclass(frozen=True)
class RenderRequest:
    """One person to dress by the diffusion model.

    Attributes:
        person: (H, W, 3) RGB uint8 photo.
        garment: (h, w, 3) RGB uint8 garment photo.
        mask: (H, W) bool, where the garment goes (the agnostic mask).
        adapter: the garment's tuned adapter (from the catalog), or None.
        settings: the job's own preset, steps and seed.
    """

    person: Image
    garment: Image
    mask: Mask
    adapter: GarmentAdapter | None = None
    settings: DiffusionSettings = DiffusionSettings()


@dataclass(frozen=True)
class Rendering:
    """The diffusion model's answer for one ``RenderRequest``.

    Attributes:
        image: (H, W, 3) RGB uint8, the raw model output at the photo's size.
        warnings: e.g. a size far from the model's training size.
        batch: how many requests the model ran in the same batch.
        seconds: the batch's model time.
    """

    image: Image
    warnings: list[str]
    batch: int
    seconds: float


@dataclass(frozen=True)
class FashnRequest:
    """One person to dress by the fashn model.

    Attributes:
        pair: the person photo, the garment's analysis, the category and the poses
            drawn when the model's replica has no DWPose.
        settings: the job's own preset, steps and seed.
    """

    pair: FashnPair
    settings: DiffusionSettings = DiffusionSettings()


Request = TypeVar("Request")
Request_contra = TypeVar("Request_contra", contravariant=True)


class DiffusionBackend(Protocol[Request_contra]):
    """Renders one request (blocking), reporting each denoising step."""

    def render(self, request: Request_contra, progress: StepCallback) -> Rendering: ...


class BatchModel(Protocol[Request]):
    """A model rendering a batch of requests in one call, with step reports."""

    def render_batch(self, requests: list[Request], progress: BatchProgress) -> list[Rendering]: ...


class GarmentBackend(Protocol):
    """A garment's analysis, from the catalog or from its photo (blocking)."""

    def analysis(
        self, garment: bytes | None, garment_id: str | None, category: str
    ) -> GarmentAnalysis: ...


class LocalGarments:
    """``GarmentBackend`` in this process."""

    def __init__(self, tryon: TryOn, catalog: Catalog) -> None:
        self.tryon = tryon
        self.catalog = catalog

    def analysis(
        self, garment: bytes | None, garment_id: str | None, category: str
    ) -> GarmentAnalysis:
        return garment_analysis(self.tryon, self.catalog, garment, garment_id, category)


@contextmanager
def step_reports(model: Any, total: int, report: StepCallback) -> Iterator[None]:
    """Calls ``report(step, total)`` after each forward pass of ``model`` (a torch
    module: the UNet runs once per denoising step, both guidance branches batched)."""
    done = 0

    def hook(*_: object) -> None:
        nonlocal done
        done += 1
        report(min(done, total), total)

    handle = model.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


class BatchRenderer:
    """The catvton engine's model, rendering batches of requests with step reports.

    Args:
        settings: weights folder and the diffusion settings (preset, steps, area, ...).
        models: already built models (tests); by default loaded from the weights folder.
    """

    def __init__(self, settings: ServiceSettings, models: Any = None) -> None:
        from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
        from tryon.diffusion.sampling import preset

        sampler = preset(settings.diffusion_preset)
        if settings.diffusion_steps is not None:
            sampler = replace(sampler, steps=settings.diffusion_steps)
        config = RenderConfig(
            version=settings.diffusion_version,
            preset=sampler,
            area=settings.diffusion_area,
            device=settings.diffusion_device,
        )
        if models is None and settings.weights_dir is None:
            raise TryOnError("the catvton engine needs a weights folder (--weights DIR)")
        # Only the model runs here: a GPU replica neither analyses bodies nor garments.
        self.renderer = DiffusionRenderer(settings.weights_dir, config, models=models)
        self.sampler = sampler

    def sampler_for(self, settings: DiffusionSettings) -> Any:
        """The ``SamplerConfig`` of a job: its preset (else the server's), its steps
        (else its preset's, or the server's steps with the server's preset)."""
        from tryon.diffusion.sampling import preset

        sampler = self.sampler if settings.preset is None else preset(settings.preset)
        if settings.steps is not None:
            sampler = replace(sampler, steps=settings.steps)
        return sampler

    def render_batch(
        self, requests: list[RenderRequest], progress: BatchProgress
    ) -> list[Rendering]:
        """Renders ``requests``: one call of the model per group of requests with the
        same settings (and per working size)."""
        start = time.perf_counter()
        renderings: list[Rendering | None] = [None] * len(requests)
        for group in grouped([r.settings for r in requests]):
            chosen = [requests[i] for i in group]
            settings = chosen[0].settings
            sampler = self.sampler_for(settings)

            def report(step: int, total: int, group: list[int] = group) -> None:
                progress(group, step, total)

            with step_reports(self.renderer.pipeline.models.unet, sampler.steps, report):
                rendered = self.renderer.render(
                    [r.person for r in chosen],
                    [r.garment for r in chosen],
                    [r.mask for r in chosen],
                    [r.adapter for r in chosen],
                    sampler=sampler,
                    seed=settings.seed,
                )
            seconds = time.perf_counter() - start
            for i, image, warnings in zip(group, rendered.images, rendered.warnings, strict=True):
                renderings[i] = Rendering(image, warnings, len(chosen), seconds)
        return [r for r in renderings if r is not None]


class FashnBatchRenderer:
    """The fashn engine's model, rendering batches of requests with step reports.

    Args:
        settings: the weights folder and the device (``diffusion_device``).
        config: the engine's settings (None: the released model, its "compat"
            sampling, on ``settings.diffusion_device`` or the GPU when there is one).
        model: an already built transformer (tests); by default loaded from the weights
            folder.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        config: FashnConfig | None = None,
        model: FashnTransformer | None = None,
    ) -> None:
        from tryon.diffusion.renderer import pick_device
        from tryon.engines.fashn import FashnConfig, FashnRenderer

        if config is None:
            config = FashnConfig(device=str(pick_device(settings.diffusion_device)))
        if model is None and settings.weights_dir is None:
            raise TryOnError("the fashn engine needs a weights folder (--weights DIR)")
        # Only the model (and DWPose) runs here: no body or garment analysis.
        self.renderer = FashnRenderer(settings.weights_dir, config, model)

    def sampling_for(self, settings: DiffusionSettings) -> Any:
        """The ``FashnSampling`` of a job: its preset (else the engine's), its steps and
        seed (else the preset's)."""
        from tryon.fashn.sampler import PRESETS

        config = self.renderer.config
        chosen = config.resolved_sampling if settings.preset is None else PRESETS[settings.preset]
        changes = {"steps": settings.steps, "seed": settings.seed}
        return replace(chosen, **{k: v for k, v in changes.items() if v is not None})

    def render_batch(
        self, requests: list[FashnRequest], progress: BatchProgress
    ) -> list[Rendering]:
        """Renders ``requests``: one call of the sampler per group of requests with the
        same settings (one batch on the canvas)."""
        start = time.perf_counter()
        notes = [self.renderer.pose_warning] if self.renderer.pose_warning else []
        renderings: list[Rendering | None] = [None] * len(requests)
        for group in grouped([r.settings for r in requests]):

            def report(step: int, total: int, group: list[int] = group) -> None:
                progress(group, step, total)

            sampling = self.sampling_for(requests[group[0]].settings)
            pairs = [requests[i].pair for i in group]
            images = self.renderer.render(pairs, sampling, on_step=report)
            seconds = time.perf_counter() - start
            for i, image in zip(group, images, strict=True):
                renderings[i] = Rendering(image, list(notes), len(group), seconds)
        return [r for r in renderings if r is not None]


class LocalDiffusion(Generic[Request]):
    """``DiffusionBackend`` in this process: one request at a time (no batching)."""

    def __init__(self, renderer: BatchModel[Request]) -> None:
        self.renderer = renderer
        self._lock = threading.Lock()

    def render(self, request: Request, progress: StepCallback) -> Rendering:
        with self._lock:
            return self.renderer.render_batch([request], lambda _, s, t: progress(s, t))[0]


@dataclass(frozen=True)
class Backends:
    """Where a diffusion job's garment analysis and rendering run.

    Attributes:
        garments: the garment analysis.
        diffusion: catvton's model (None: its weights are not there).
        fashn: fashn's model (None: its weights are not there).
    """

    garments: GarmentBackend
    diffusion: DiffusionBackend[RenderRequest] | None
    fashn: DiffusionBackend[FashnRequest] | None = None


def local_backends(
    settings: ServiceSettings,
    tryon: TryOn,
    catalog: Catalog,
    fashn: FashnConfig | None = None,
) -> Backends:
    """The backends of a service on one machine: the models whose weights are in
    ``settings.weights_dir`` (see ``tryon.service.offered_engines.runnable_job_engines``),
    loaded in this process.

    Args:
        settings: the weights folder and the diffusion settings.
        tryon: the warp engine, whose analysers analyse garments.
        catalog: the garment catalog.
        fashn: the fashn engine's settings (None: the released model's).

    Raises:
        TryOnError, WeightsError: the weights of an engine chosen cannot be loaded.
    """
    from tryon.service.offered_engines import runnable_job_engines

    engines = runnable_job_engines(settings)
    catvton = LocalDiffusion(BatchRenderer(settings)) if "catvton" in engines else None
    fashn_model = (
        LocalDiffusion(FashnBatchRenderer(settings, fashn)) if "fashn" in engines else None
    )
    return Backends(LocalGarments(tryon, catalog), catvton, fashn_model)


def run_diffusion_job(
    spec: JobSpec,
    progress: Progress,
    *,
    analyzers: Analyzers,
    backends: Backends,
    settings: ServiceSettings,
    metrics: Metrics,
) -> JobResult:
    """Runs one catvton or fashn job (blocking): garment, agnostic mask (or the job's
    ``mask``), model, repaint, encoding.

    Progress is the model's denoising (or sampling) steps.

    Raises:
        TryOnError, APIError: bad input (the job's error).
        WorkerLostError: the diffusion backend died under the job.
    """
    from tryon.engines.catvton import repaint

    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        analysis = backends.garments.analysis(spec.garment, spec.garment_id, spec.category)
    except UnknownGarmentError as exc:  # removed from the catalog while queued
        raise APIError(404, "UnknownGarmentError", str(exc)) from None
    timings["garment"] = time.perf_counter() - start
    t0 = time.perf_counter()
    person = load_image(spec.person, role="person photo")
    chosen = Category(spec.category) if spec.category != "auto" else analysis.category
    masked = analyzers.mask_person(person, chosen)
    if spec.mask is not None:  # the client's area instead of the agnostic mask
        given = decode_mask(spec.mask)
        check_mask_size(given, (person.shape[0], person.shape[1]))
        masked = replace(masked, agnostic_mask=given)
    timings["analysis"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    rendering = render(spec, masked, analysis, backends, analyzers, progress)
    timings["diffusion"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    image = repaint(person, rendering.image, masked.agnostic_mask)
    output = FORMATS[spec.output]
    data = encode(image, output, settings.output_quality)
    timings["encode"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - start
    metrics.observe_stages(spec.engine, timings)
    headers = {
        "X-Tryon-Category": chosen.value,
        "X-Tryon-Timings": json.dumps({k: round(v, 4) for k, v in timings.items()}),
        "X-Tryon-Warnings": json.dumps(rendering.warnings),
        "X-Tryon-Batch": str(rendering.batch),
    }
    return JobResult(data, output.media_type, headers)


def render(
    spec: JobSpec,
    person: MaskedPerson,
    garment: GarmentAnalysis,
    backends: Backends,
    analyzers: Analyzers,
    progress: Progress,
) -> Rendering:
    """The model's output for the job's engine (raw, at the photo's size).

    Raises:
        APIError: 400 when this server has not loaded the engine's model.
    """
    settings = DiffusionSettings.from_options(spec.options)
    if spec.engine == "fashn":
        from tryon.engines.fashn import fashn_pair

        if backends.fashn is None:
            raise not_loaded(spec.engine)
        # The replica may lack DWPose: the MediaPipe poses go along to fall back on.
        pair = fashn_pair(person, garment, analyzers, fallbacks=True)
        return backends.fashn.render(FashnRequest(pair, settings), progress)
    if backends.diffusion is None:
        raise not_loaded(spec.engine)
    request = RenderRequest(
        person.image, garment.image, person.agnostic_mask, garment.adapter, settings
    )
    return backends.diffusion.render(request, progress)


def not_loaded(engine: str) -> APIError:
    return APIError(400, "EngineUnavailableError", f"engine {engine} is not loaded")
