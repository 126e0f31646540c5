"""``tryon serve --ray``: deploys the service on a Ray cluster and waits."""

from __future__ import annotations

import logging
import time

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
        serve.start(http_options={"host": host, "port": port})
        serve.run(application, name=APP_NAME, route_prefix="/")
        print(f"tryon: serving on http://{host}:{port}/ with Ray Serve; Ctrl-C stops", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        serve.delete(APP_NAME)
        ray.shutdown()
    return 0
