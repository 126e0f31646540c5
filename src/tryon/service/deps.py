"""What the routes share (engine, catalog, pool, jobs, metrics) and how they get it.

One ``Services`` per app, built once by ``create_app``; routes receive it, or parts of
it, through FastAPI dependencies.
"""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Request

from tryon.allocator import release_free_memory
from tryon.catalog import Catalog
from tryon.pipeline import TryOn
from tryon.service.api_errors import APIError
from tryon.service.jobs import (
    JobQueue,
    JobResult,
    JobSpec,
    JobStore,
    Progress,
    StoreSettings,
    open_job_store,
)
from tryon.service.metrics import Metrics
from tryon.service.people import PersonCache
from tryon.service.pool import WorkPool
from tryon.service.settings import ServiceSettings
from tryon.service.work import run_job

if TYPE_CHECKING:
    from tryon.engines.person import Analyzers
    from tryon.service.diffusion_jobs import Backends


@dataclass(frozen=True)
class Services:
    """The long-lived parts of one service process.

    Attributes:
        settings: how the service runs.
        tryon: the engine instance, created once per process and shared by all requests.
        catalog: the garment catalog.
        metrics: Prometheus metrics.
        pool: the bounded thread pool for synchronous requests.
        store: job state, events and results.
        jobs: the worker threads running jobs.
        people: person photos analysed while shoppers try garments on them.
        owns_engine: whether ``tryon`` was made for the service (then closed with it).
    """

    settings: ServiceSettings
    tryon: TryOn
    catalog: Catalog
    metrics: Metrics
    pool: WorkPool
    store: JobStore
    jobs: JobQueue
    people: PersonCache
    owns_engine: bool = False

    def engine(self, name: str) -> TryOn:
        """The instance of the engine ``name`` (only the warp engine runs so far)."""
        if name != self.tryon.engine.name:
            raise APIError(400, "EngineUnavailableError", f"engine {name} is not loaded")
        return self.tryon

    def close(self) -> None:
        """Stops the job workers and the pool (running work finishes first), then the
        engine's threads when the service made it."""
        self.jobs.close()
        self.pool.close()
        if self.owns_engine:
            self.tryon.close()


def build_services(
    settings: ServiceSettings, tryon: TryOn | None = None, backends: Backends | None = None
) -> Services:
    """Creates the engine (unless given), the catalog, the pool and the job workers.

    Args:
        settings: how the service runs.
        tryon: the warp engine to share (tests); by default one is created.
        backends: where diffusion jobs run (Ray Serve deployments); by default, in this
            process when ``settings.weights_dir`` is set, else nowhere.
    """
    owns_engine = tryon is None
    tryon = tryon or TryOn(engine="warp")
    people = PersonCache(settings.person_cache_entries, settings.person_cache_ttl_s)
    catalog = Catalog(settings.catalog_dir, tryon=tryon)
    metrics = Metrics()
    pool = WorkPool(
        settings.max_concurrency,
        max_waiting=settings.max_waiting,
        retry_after_s=settings.retry_after_s,
        metrics=metrics,
        on_idle=release_free_memory,
    )
    store = open_job_store(
        settings.job_store,
        StoreSettings(settings.result_ttl_s, settings.job_lease_s, settings.job_attempts),
    )
    if backends is None and settings.weights_dir is not None:
        from tryon.service.diffusion_jobs import local_backends

        backends = local_backends(settings, tryon, catalog)
    execute = functools.partial(
        job_runner,
        tryon=tryon,
        catalog=catalog,
        settings=settings,
        metrics=metrics,
        backends=backends,
        people=people,
    )
    jobs = JobQueue(
        store,
        execute,
        workers=settings.job_workers,
        max_jobs=settings.max_jobs,
        retry_after_s=settings.retry_after_s,
        metrics=metrics,
        purge_every_s=min(30.0, settings.result_ttl_s / 4),
    )
    return Services(settings, tryon, catalog, metrics, pool, store, jobs, people, owns_engine)


def job_runner(
    spec: JobSpec,
    progress: Progress,
    *,
    tryon: TryOn,
    catalog: Catalog,
    settings: ServiceSettings,
    metrics: Metrics,
    backends: Backends | None,
    people: PersonCache,
) -> JobResult:
    """Runs one job with the engine it names (a tuning job: ``tryon.service.adapters``).

    Raises:
        APIError: 400 when the job's engine is not loaded here.
        TypeError: a diffusion or tuning job, and ``tryon`` is not the warp engine.
    """
    if spec.kind == "tune":
        from tryon.service.adapters import run_tune_job

        return run_tune_job(
            spec, progress, catalog=catalog, analyzers=warp_analyzers(tryon), settings=settings
        )
    if spec.engine == "warp":
        return run_job(
            spec,
            progress,
            tryon=tryon,
            catalog=catalog,
            settings=settings,
            metrics=metrics,
            people=people,
        )
    if backends is None:
        raise APIError(400, "EngineUnavailableError", f"engine {spec.engine} is not loaded")
    from tryon.service.diffusion_jobs import run_diffusion_job

    return run_diffusion_job(
        spec,
        progress,
        analyzers=warp_analyzers(tryon),
        backends=backends,
        settings=settings,
        metrics=metrics,
    )


def warp_analyzers(tryon: TryOn) -> Analyzers:
    """The body analysers of the service's own engine, the warp engine.

    Raises:
        TypeError: ``tryon`` is not the warp engine.
    """
    from tryon.engines.warp import WarpEngine

    if not isinstance(tryon.engine, WarpEngine):
        raise TypeError(
            f"the service's own engine must be the warp engine, not {tryon.engine.name}"
        )
    return tryon.engine.analyzers


def get_services(request: Request) -> Services:
    """The app's ``Services``."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def require_api_key(
    services: ServicesDep,
    x_api_key: Annotated[
        str | None, Header(description="API key, when the server has keys")
    ] = None,
) -> None:
    """Refuses the request with 401 unless it carries a configured key (when keys are set).

    Raises:
        APIError: 401 missing or wrong key.
    """
    keys = services.settings.api_keys
    if not keys:
        return
    if x_api_key is None:
        raise APIError(401, "UnauthorizedError", "this server needs an API key: send X-API-Key")
    given = x_api_key.encode()
    if not any(hmac.compare_digest(given, key.encode()) for key in keys):
        raise APIError(401, "UnauthorizedError", "the X-API-Key sent is not valid")
