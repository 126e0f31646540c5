"""One local Ray cluster per test session (``num_cpus=2, num_gpus=1``: the GPU-pinned
model deployments, half a GPU each, are schedulable on a CPU machine), one redis-server,
and the service deployed on them with tiny catvton and fashn models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from tests.conftest import GARMENTS
from tests.fashn.tiny import TINY
from tests.service.conftest import SMALL_AREA, tiny_weights_dir
from tests.service.redis_server import RedisServer, free_port, redis_server
from tryon import TryOn
from tryon.catalog import Catalog

SCALE_EXTRA = "the scale-out tests need the scale extra (ray[serve])"
FASHN_CANVAS = replace(TINY, height=96, width=72, patch_size=12)
"""The tiny fashn model at a 96 x 72 canvas."""

__all__ = ["tiny_weights_dir"]  # a fixture shared with tests/service

STEPS = 8
FASHN_STEPS = 3
BATCH = 4


@dataclass(frozen=True)
class Deployed:
    """The service running on the session's Ray cluster.

    Attributes:
        url: the Serve HTTP proxy's base URL.
        redis: the job store's server.
        garment_id: a catalogued garment.
    """

    url: str
    redis: RedisServer
    garment_id: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)


@pytest.fixture(scope="session")
def ray_port() -> Iterator[int]:
    """A local Ray cluster with Serve's HTTP proxy on a free loopback port."""
    # Skipped here, not at import: a skip while a conftest is imported stops pytest.
    ray = pytest.importorskip("ray", reason=SCALE_EXTRA)
    serve = pytest.importorskip("ray.serve", reason=SCALE_EXTRA)
    port = free_port()
    ray.init(
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        object_store_memory=256 * 2**20,
        log_to_driver=False,
        namespace="tryon-tests",
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        yield port
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def scale_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = redis_server(tmp_path_factory.mktemp("redis"))
    yield server
    server.kill()


@pytest.fixture(scope="session")
def scale_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder with both tiny models: catvton's and fashn's."""
    from tests.diffusion.tiny import write_weights
    from tests.fashn.tiny import write_fashn_weights

    root = tmp_path_factory.mktemp("both-weights")
    write_weights(root)
    write_fashn_weights(root, FASHN_CANVAS)
    return root


@pytest.fixture(scope="session")
def deployed(
    ray_port: int,
    scale_redis: RedisServer,
    tryon: TryOn,
    scale_weights_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployed]:
    from ray import serve

    from tryon import cli
    from tryon.cli.serve import fashn_config_from_args
    from tryon.scale import ScaleConfig
    from tryon.scale.deployments import APP_NAME, build_application
    from tryon.service.settings import ServiceSettings

    catalog_dir = tmp_path_factory.mktemp("shared-catalog")
    shirt = next(g for g in GARMENTS if g.name.startswith("shirts"))
    garment_id = Catalog(catalog_dir, tryon=tryon).add(shirt).record.id
    settings = ServiceSettings(
        catalog_dir=catalog_dir,
        job_store=scale_redis.url,
        job_workers=BATCH,
        job_lease_s=10.0,
        job_attempts=2,
        weights_dir=scale_weights_dir,
        diffusion_steps=STEPS,
        diffusion_area=SMALL_AREA,
        diffusion_device="cpu",
    )
    config = ScaleConfig(
        max_batch_size=BATCH,
        batch_wait_s=0.5,
        diffusion_gpus=0.5,
        fashn_gpus=0.5,
        diffusion_cpus=0.25,
        garment_cpus=0.25,
        ingress_cpus=0.25,
    )
    # The fashn settings as `tryon serve --ray --fashn-steps N --fashn-dtype float32`
    # makes them, at the tiny model's shape.
    argv = ["serve", "--ray", "--fashn-steps", str(FASHN_STEPS), "--fashn-dtype", "float32"]
    fashn = fashn_config_from_args(cli.build_parser().parse_args(argv), settings, config)
    fashn = replace(fashn, model=FASHN_CANVAS)
    assert fashn.device == "cpu" and fashn.resolved_sampling.steps == FASHN_STEPS
    serve.run(build_application(settings, config, fashn), name=APP_NAME, route_prefix="/")
    yield Deployed(f"http://127.0.0.1:{ray_port}", scale_redis, garment_id)
    serve.delete(APP_NAME)
