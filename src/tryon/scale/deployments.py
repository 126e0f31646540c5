"""The Ray Serve deployments of the service and ``build_application``.

- ``Ingress``: the FastAPI app of ``tryon.service`` (``create_app``), as Serve's HTTP
  ingress. The warp engine runs in its thread pool, as on one machine: a hop to another
  replica would cost more than the try-on. Its job workers run diffusion jobs by calling
  the two deployments below through their handles.
- ``GarmentPreprocessor``: a garment's analysis (mask, landmarks, category), from the
  catalog (a folder every replica mounts) or from an uploaded photo (CPU).
- ``DiffusionModel``: the catvton model on a GPU, batching requests dynamically
  (``@serve.batch``) and streaming each denoising step back to its caller;
  ``FashnModel``: the fashn model (FASHN VTON v1.5, with DWPose when its files are in
  the weights folder) the same way. Each is deployed when its weights are in the weights
  folder.

Garment artifacts (photo, mask, landmarks) live in the catalog folder, which must be one
shared directory (NFS or the like) mounted at the same path on every node: they are
written once by one replica (an atomic rename under a lock file) and read by all, and a
filesystem keeps megabytes of images out of Redis's memory. Each diffusion replica keeps
the garments' VAE latents it computed in memory.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator

from tryon.catalog import Catalog
from tryon.errors import TryOnError
from tryon.pipeline import TryOn
from tryon.process import configure_process
from tryon.scale.config import ScaleConfig
from tryon.service.api_errors import APIError
from tryon.service.diffusion_jobs import (
    Backends,
    BatchModel,
    BatchRenderer,
    FashnBatchRenderer,
    FashnRequest,
    Rendering,
    RenderRequest,
    StepCallback,
)
from tryon.service.garment_lookup import garment_analysis
from tryon.service.jobs import WorkerLostError
from tryon.service.offered_engines import runnable_job_engines
from tryon.service.settings import ServiceSettings
from tryon.types import GarmentAnalysis

if TYPE_CHECKING:
    from tryon.engines.fashn import FashnConfig

log = logging.getLogger("tryon.scale")

APP_NAME = "tryon"
INGRESS_ONGOING = 1024
"""Requests one ingress replica holds at once (mostly server-sent event streams)."""
HEALTH_CHECK_S = 2.0
"""How often Serve checks that each diffusion replica is alive."""

# serve.batch's annotations cover plain functions, not batched async generator methods.
dynamic_batch: Any = serve.batch


@dataclass(frozen=True)
class StepEvent:
    """A denoising step done for a request's batch.

    Attributes:
        step: steps done.
        total: steps in all.
        batch: requests in the batch.
    """

    step: int
    total: int
    batch: int


class BatchedModel:
    """A model on one GPU rendering batches of requests (``@serve.batch``), streaming
    each step back to the callers of the batch.

    Args:
        renderer: the model.
        max_batch_size: requests in one batch.
        batch_wait_s: how long a batch waits to fill once it has a request.
    """

    def __init__(self, renderer: BatchModel[Any], max_batch_size: int, batch_wait_s: float) -> None:
        self.renderer = renderer
        self._render_batch.set_max_batch_size(max_batch_size)
        self._render_batch.set_batch_wait_timeout_s(batch_wait_s)

    async def generate(self, request: Any) -> AsyncIterator[StepEvent | Rendering | None]:
        """A ``StepEvent`` after each step of the request's group, None after a step of
        another group of its batch, then the ``Rendering``."""
        async for event in self._render_batch(request):
            yield event

    def batch_settings(self) -> tuple[int, float]:
        """(max batch size, batch wait) as this replica runs them."""
        wrapper: Any = self._render_batch
        return wrapper._get_max_batch_size(), wrapper._get_batch_wait_timeout_s()

    @dynamic_batch(max_batch_size=4, batch_wait_timeout_s=0.05)
    async def _render_batch(
        self, requests: list[Any]
    ) -> AsyncIterator[list[StepEvent | Rendering | None]]:
        loop = asyncio.get_running_loop()
        steps: asyncio.Queue[tuple[list[int], int, int] | None] = asyncio.Queue()

        def on_step(group: list[int], step: int, total: int) -> None:
            loop.call_soon_threadsafe(steps.put_nowait, (group, step, total))

        def render() -> list[Rendering]:
            try:
                return self.renderer.render_batch(requests, on_step)
            finally:
                loop.call_soon_threadsafe(steps.put_nowait, None)

        # The model runs on a thread, so the event loop goes on streaming and batching.
        rendered = loop.run_in_executor(None, render)
        while (step := await steps.get()) is not None:
            # A batch runs one model call per group of requests with the same settings:
            # the others of the batch get None (skipped by their callers).
            group, done, total = step
            event = StepEvent(done, total, len(group))
            yield [event if i in group else None for i in range(len(requests))]
        yield list(await rendered)


class DiffusionModel(BatchedModel):
    """The catvton model on one GPU, rendering batches of ``RenderRequest``.

    Args:
        settings_json: the service settings (weights and diffusion settings), as JSON.
        max_batch_size: requests in one batch.
        batch_wait_s: how long a batch waits to fill once it has a request.
    """

    def __init__(self, settings_json: str, max_batch_size: int, batch_wait_s: float) -> None:
        renderer = BatchRenderer(ServiceSettings.from_json(settings_json))
        super().__init__(renderer, max_batch_size, batch_wait_s)


class FashnModel(BatchedModel):
    """The fashn model on one GPU, rendering batches of ``FashnRequest``.

    Args:
        settings_json: the service settings (weights folder, device), as JSON.
        config: the engine's settings (None: the released model's).
        max_batch_size: requests in one batch.
        batch_wait_s: how long a batch waits to fill once it has a request.
    """

    def __init__(
        self,
        settings_json: str,
        config: FashnConfig | None,
        max_batch_size: int,
        batch_wait_s: float,
    ) -> None:
        renderer = FashnBatchRenderer(ServiceSettings.from_json(settings_json), config)
        super().__init__(renderer, max_batch_size, batch_wait_s)


class GarmentPreprocessor:
    """Garment analysis on CPU replicas, reading and filling the shared catalog.

    Args:
        settings_json: the service settings (the catalog folder), as JSON.
    """

    def __init__(self, settings_json: str) -> None:
        # A replica is a process of its own: it takes the settings ``tryon serve`` takes.
        configure_process()
        settings = ServiceSettings.from_json(settings_json)
        self.tryon = TryOn(engine="warp")
        self.catalog = Catalog(settings.catalog_dir, tryon=self.tryon)

    def prepare(
        self, garment: bytes | None, garment_id: str | None, category: str
    ) -> GarmentAnalysis:
        """The garment's analysis (see ``tryon.service.garment_lookup.garment_analysis``)."""
        return garment_analysis(self.tryon, self.catalog, garment, garment_id, category)


class RayGarments:
    """``GarmentBackend`` calling the ``GarmentPreprocessor`` deployment."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle

    def analysis(
        self, garment: bytes | None, garment_id: str | None, category: str
    ) -> GarmentAnalysis:
        return _unwrapped(
            lambda: self.handle.prepare.remote(garment, garment_id, category).result()
        )


class RayDiffusion:
    """``DiffusionBackend`` streaming from a ``DiffusionModel`` or ``FashnModel``
    deployment.

    Args:
        handle: the deployment's handle.
        start_timeout_s: how long a job waits for a replica to send its first step;
            then it fails with the reason (a cluster with no GPU worker would
            otherwise keep it running for ever).
    """

    def __init__(self, handle: DeploymentHandle, start_timeout_s: float = 600.0) -> None:
        self.handle = handle.options(stream=True)
        self.start_timeout_s = start_timeout_s

    def render(self, request: RenderRequest | FashnRequest, progress: StepCallback) -> Rendering:
        def stream() -> Rendering:
            events = cast(DeploymentResponseGenerator, self.handle.generate.remote(request))
            for event in _first_within(events, self.start_timeout_s):
                if isinstance(event, Rendering):
                    return event
                if event is not None:
                    progress(event.step, event.total)
            raise WorkerLostError("the diffusion replica ended the stream without a result")

        return _unwrapped(stream)


_END = object()


def _first_within(events: DeploymentResponseGenerator, timeout_s: float) -> Any:
    """Yields the stream's events; the first must come within ``timeout_s``.

    Raises:
        APIError: 503 when no replica started the job in time (the stream is cancelled).
    """
    arrived: queue.Queue[Any] = queue.Queue()

    def pump() -> None:
        try:
            for event in events:
                arrived.put(event)
            arrived.put(_END)
        except BaseException as exc:  # handed to the job's thread, raised there
            arrived.put(exc)

    threading.Thread(target=pump, name="tryon-diffusion-stream", daemon=True).start()
    timeout: float | None = timeout_s
    while True:
        try:
            item = arrived.get(timeout=timeout)
        except queue.Empty:
            events.cancel()
            raise APIError(
                503,
                "DiffusionUnavailableError",
                f"no diffusion replica started the job within {timeout_s:.0f} s: check that "
                "the cluster has a GPU worker with a free GPU ('ray status'), then submit "
                "the job again",
            ) from None
        timeout = None  # a replica has it: steps follow as fast as it runs
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _unwrapped(call: Callable[[], Any]) -> Any:
    """Runs a handle call; a dead replica becomes ``WorkerLostError`` (the job is tried
    again), an error of the request itself is raised as it was raised in the replica."""
    try:
        return call()
    except (RayActorError, ActorUnavailableError) as exc:
        raise WorkerLostError(f"the replica running the job died ({type(exc).__name__})") from None
    except RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, (TryOnError, APIError)):
            raise cause from None
        if isinstance(cause, (RayActorError, ActorUnavailableError)):
            raise WorkerLostError(
                f"the replica running the job died ({type(cause).__name__})"
            ) from None
        raise


@serve.ingress()
class Ingress:
    """The HTTP API on Ray Serve: ``create_app`` with diffusion jobs sent to the
    deployments.

    Args:
        settings_json: the service settings, as JSON.
        diffusion: the ``DiffusionModel`` deployment (None: catvton's weights are not there).
        garments: the ``GarmentPreprocessor`` deployment.
        fashn: the ``FashnModel`` deployment (None: fashn's weights are not there).
    """

    def __init__(
        self,
        settings_json: str,
        diffusion: DeploymentHandle | None,
        garments: DeploymentHandle,
        fashn: DeploymentHandle | None = None,
    ) -> None:
        configure_process()
        self.settings = ServiceSettings.from_json(settings_json)
        timeout = self.settings.diffusion_start_timeout_s
        self.backends = Backends(
            RayGarments(garments),
            RayDiffusion(diffusion, timeout) if diffusion is not None else None,
            RayDiffusion(fashn, timeout) if fashn is not None else None,
        )

    def __serve_build_asgi_app__(self) -> Any:
        from tryon.service.app import create_app

        return create_app(self.settings, backends=self.backends)


def model_deployment(name: str, gpus: float, config: ScaleConfig) -> Any:
    """The options of a GPU model deployment called ``name``."""
    return serve.deployment(
        name=name,
        max_ongoing_requests=config.diffusion_ongoing,
        ray_actor_options={"num_gpus": gpus, "num_cpus": config.diffusion_cpus},
        # A dead replica is noticed and replaced within seconds; the model runs on a
        # thread, so a busy replica still answers its health checks.
        health_check_period_s=HEALTH_CHECK_S,
        **config.diffusion_scaling(),
    )


def diffusion_application(settings: ServiceSettings, config: ScaleConfig) -> Any:
    """The ``DiffusionModel`` deployment, bound (an application of its own, or a part of
    ``build_application``'s)."""
    return model_deployment("DiffusionModel", config.diffusion_gpus, config)(DiffusionModel).bind(
        settings.to_json(), config.max_batch_size, config.batch_wait_s
    )


def fashn_application(
    settings: ServiceSettings, config: ScaleConfig, fashn: FashnConfig | None = None
) -> Any:
    """The ``FashnModel`` deployment, bound (``fashn``: the engine's settings; None: the
    released model's)."""
    return model_deployment("FashnModel", config.fashn_replica_gpus, config)(FashnModel).bind(
        settings.to_json(), fashn, config.max_batch_size, config.batch_wait_s
    )


def build_application(
    settings: ServiceSettings, config: ScaleConfig, fashn: FashnConfig | None = None
) -> Any:
    """The Serve application: ingress, garment preprocessing and the models whose
    weights are in the weights folder (catvton's, fashn's or both).

    Args:
        settings: the service settings.
        config: replicas, resources and batching.
        fashn: the fashn engine's settings (None: the released model's).

    Raises:
        TryOnError: settings that cannot work on a cluster.
    """
    if settings.weights_dir is None:
        raise TryOnError(
            "tryon serve --ray runs the diffusion engines (catvton, fashn): give --weights DIR"
        )
    if config.ingress_replicas > 1 and settings.job_store == "memory":
        raise TryOnError(
            "several ingress replicas need a shared job store: --job-store redis://HOST:PORT/0"
        )
    text = settings.to_json()
    engines = runnable_job_engines(settings)
    diffusion = diffusion_application(settings, config) if "catvton" in engines else None
    fashn_model = fashn_application(settings, config, fashn) if "fashn" in engines else None
    garments = serve.deployment(
        name="GarmentPreprocessor",
        num_replicas=config.garment_replicas,
        ray_actor_options={"num_cpus": config.garment_cpus},
    )(GarmentPreprocessor).bind(text)
    ingress = serve.deployment(
        name="Ingress",
        num_replicas=config.ingress_replicas,
        # Every open event stream is an ongoing request; warp work is bounded by the
        # service's own pool (503 beyond), so this only caps idle streams.
        max_ongoing_requests=INGRESS_ONGOING,
        ray_actor_options={"num_cpus": config.ingress_cpus},
    )(Ingress)
    return ingress.bind(text, diffusion, garments, fashn_model)
