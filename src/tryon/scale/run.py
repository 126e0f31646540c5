"""``tryon serve --ray``: deploys the service on a Ray cluster and waits."""

from __future__ import annotations

import logging
import time

from tryon.errors import TryOnError
from tryon.scale.config import ScaleConfig
from tryon.service.settings import ServiceSettings

log = logging.getLogger("tryon.scale")


def serve_on_ray(settings: ServiceSettings, config: ScaleConfig, host: str, port: int) -> int:
    """Joins the cluster at ``config.address`` (or starts Ray on this machine), deploys
    the service with Serve's HTTP proxy on ``host:port`` and runs until interrupted."""
    import ray
    from ray import serve

    from tryon.scale.deployments import APP_NAME, build_application

    application = build_application(settings, config)  # settings errors before Ray starts
    ray.init(address=config.address, namespace="tryon")
    try:
        check_gpus(float(ray.cluster_resources().get("GPU", 0.0)), config)
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


def check_gpus(available: float, config: ScaleConfig) -> None:
    """Refuses to wait forever for a GPU a local Ray will never have; on a cluster, GPU
    workers may join later, so it only warns.

    Raises:
        TryOnError: Ray runs on this machine only and it has fewer GPUs than one
            diffusion replica needs.
    """
    if available >= config.diffusion_gpus:
        return
    message = (
        f"the cluster has {available:g} GPUs and a diffusion replica needs "
        f"{config.diffusion_gpus:g}"
    )
    if config.address is None:
        raise TryOnError(
            f"{message}: run on a machine with a GPU, join a cluster with --address, or "
            "run the model on the CPU with --gpus-per-replica 0"
        )
    log.warning("%s; the diffusion replicas wait until GPU workers join (ray start)", message)
