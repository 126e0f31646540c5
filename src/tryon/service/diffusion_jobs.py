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
from tryon.service.metrics import Metrics
from tryon.service.settings import ServiceSettings
from tryon.types import Category, GarmentAdapter, GarmentAnalysis, Image, Mask

if TYPE_CHECKING:
    from tryon.engines.fashn import FashnConfig, FashnPair
    from tryon.fashn.model import FashnTransformer

StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderRequest:
    """One person to dress by the diffusion model.

    Attributes:
        person: (H, W, 3) RGB uint8 photo.
        garment: (h, w, 3) RGB uint8 garment photo.
        mask: (H, W) bool, where the garment goes (the agnostic mask).
        adapter: the garment's tuned adapter (from the catalog), or None.
    """

    person: Image
    garment: Image
    mask: Mask
    adapter: GarmentAdapter | None = None


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
    """

    pair: FashnPair


Request = TypeVar("Request")
Request_contra = TypeVar("Request_contra", contravariant=True)


class DiffusionBackend(Protocol[Request_contra]):
    """Renders one request (blocking), reporting each denoising step."""

    def render(self, request: Request_contra, progress: StepCallback) -> Rendering: ...


class BatchModel(Protocol[Request]):
    """A model rendering a batch of requests in one call, with step reports."""

    def render_batch(self, requests: list[Request], progress: StepCallback) -> list[Rendering]: ...


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
        self.steps = sampler.steps

    def render_batch(
        self, requests: list[RenderRequest], progress: StepCallback
    ) -> list[Rendering]:
        """Renders ``requests`` in one call of the model (one batch per working size)."""
        start = time.perf_counter()
        with step_reports(self.renderer.pipeline.models.unet, self.steps, progress):
            rendered = self.renderer.render(
                [r.person for r in requests],
                [r.garment for r in requests],
                [r.mask for r in requests],
                [r.adapter for r in requests],
            )
        seconds = time.perf_counter() - start
        return [
            Rendering(image, warnings, len(requests), seconds)
            for image, warnings in zip(rendered.images, rendered.warnings, strict=True)
        ]


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

    def render_batch(self, requests: list[FashnRequest], progress: StepCallback) -> list[Rendering]:
        """Renders ``requests`` in one call of the sampler (one batch on the canvas)."""
        start = time.perf_counter()
        images = self.renderer.render([r.pair for r in requests], on_step=progress)
        seconds = time.perf_counter() - start
        notes = [self.renderer.pose_warning] if self.renderer.pose_warning else []
        return [Rendering(image, list(notes), len(requests), seconds) for image in images]


class LocalDiffusion(Generic[Request]):
    """``DiffusionBackend`` in this process: one request at a time (no batching)."""

    def __init__(self, renderer: BatchModel[Request]) -> None:
        self.renderer = renderer
        self._lock = threading.Lock()

    def render(self, request: Request, progress: StepCallback) -> Rendering:
        with self._lock:
            return self.renderer.render_batch([request], progress)[0]


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
    """Runs one catvton or fashn job (blocking): garment, agnostic mask, model, repaint,
    encoding.

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
    if spec.engine == "fashn":
        from tryon.engines.fashn import fashn_pair

        if backends.fashn is None:
            raise not_loaded(spec.engine)
        # The replica may lack DWPose: the MediaPipe poses go along to fall back on.
        pair = fashn_pair(person, garment, analyzers, fallbacks=True)
        return backends.fashn.render(FashnRequest(pair), progress)
    if backends.diffusion is None:
        raise not_loaded(spec.engine)
    request = RenderRequest(person.image, garment.image, person.agnostic_mask, garment.adapter)
    return backends.diffusion.render(request, progress)


def not_loaded(engine: str) -> APIError:
    return APIError(400, "EngineUnavailableError", f"engine {engine} is not loaded")
