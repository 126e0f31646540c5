"""``tryon serve --ray``: deploys the service on a Ray cluster and waits."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from tryon.errors import TryOnError
from tryon.scale.config import ScaleConfig
from tryon.service.settings import ServiceSettings

if TYPE_CHECKING:
    from tryon.engines.fashn import FashnConfig

log = logging.getLogger("tryon.scale")


def serve_on_ray(
    settings: ServiceSettings,
    config: ScaleConfig,
    host: str,
    port: int,
    fashn: FashnConfig | None = None,
) -> int:
    """Joins the cluster at ``config.address`` (or starts Ray on this machine), deploys
    the service with Serve's HTTP proxy on ``host:port`` and runs until interrupted.

    Args:
        settings: the service settings.
        config: replicas, resources and batching.
        host: the address Serve's HTTP proxy listens on.
        port: its port.
        fashn: the fashn engine's settings (None: the released model's).

    Returns:
        The exit code.
    """
    import ray
    from ray import serve

    from tryon.scale.deployments import APP_NAME, build_application
    from tryon.service.offered_engines import runnable_job_engines

    application = build_application(settings, config, fashn)  # errors before Ray starts
    ray.init(address=config.address, namespace="tryon")
    try:
        gpus = float(ray.cluster_resources().get("GPU", 0.0))
        check_gpus(gpus, config, runnable_job_engines(settings))
        serve.start(http_options={"host": host, "port": port})
        try:
            serve.run(application, name=APP_NAME, route_prefix="/")
            print(f"tryon: serving on http://{host}:{port}/ with Ray Serve; Ctrl-C stops")
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, SystemExit):
            log.info("stopping")
        finally:
            serve.delete(APP_NAME)
    finally:
        ray.shutdown()
    return 0


GPU_OPTIONS = {"catvton": "--gpus-per-replica", "fashn": "--fashn-gpus"}
"""The ``tryon serve`` option setting each model deployment's GPUs per replica."""


def check_gpus(available: float, config: ScaleConfig, engines: Collection[str]) -> None:
    """Refuses to wait forever for GPUs a local Ray will never have; on a cluster, GPU
    workers may join later, so it only warns.

    Args:
        available: GPUs in the cluster now.
        config: replicas and GPUs per replica.
        engines: the job engines deployed (``runnable_job_engines``): each model
            deployment's starting replicas count (catvton's and fashn's together).

    Raises:
        TryOnError: Ray runs on this machine only and it has fewer GPUs than the model
            deployments' starting replicas reserve.
    """
    needs = {name: gpus for name, gpus in config.model_gpus(engines).items() if gpus > 0}
    needed = sum(needs.values())
    if available >= needed:
        return
    parts = ", ".join(
        f"{name} {config.diffusion_replicas} x {gpus / config.diffusion_replicas:g}"
        for name, gpus in needs.items()
    )
    message = f"the cluster has {available:g} GPUs and the model replicas need {needed:g} ({parts})"
    if config.address is None:
        share = "share a GPU (--gpus-per-replica 0.5 --fashn-gpus 0.5), " if len(needs) > 1 else ""
        zero = " ".join(f"{GPU_OPTIONS[name]} 0" for name in needs)
        raise TryOnError(
            f"{message}: run on a machine with enough GPUs, join a cluster with --address, "
            f"{share}or run the model on the CPU with {zero}"
        )
    log.warning("%s; the model replicas wait until GPU workers join (ray start)", message)
