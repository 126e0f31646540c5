"""``tryon serve``: the HTTP service with uvicorn.

Imports FastAPI and uvicorn only when the command runs, so ``tryon`` works without the
``service`` extra.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tryon.catalog.store import CATALOG_VARIABLE
from tryon.cli.common import Commands, add_shared_option, command_parser
from tryon.errors import TryOnError

if TYPE_CHECKING:
    from tryon.engines.fashn import FashnConfig
    from tryon.scale import ScaleConfig
    from tryon.service.settings import ServiceSettings

API_KEYS_VARIABLE = "TRYON_API_KEYS"
FASHN_PRESETS = ("compat", "fast", "quality")
"""The fashn engine's sampling presets (``tryon.fashn.sampler.PRESETS``, kept in step by
a test: importing it here would load torch for every ``tryon`` command)."""
FASHN_OPTIONS = ("fashn_preset", "fashn_steps", "fashn_dtype", "fashn_gpus")

DESCRIPTION = """\
Serves the try-on HTTP API and the web page: catalogue garments
(POST /v1/garments), dress person photos (POST /v1/tryon answers with the
image; POST /v1/jobs runs in the background with progress events). Open
http://HOST:PORT/ for the page and /docs for the API reference."""

EPILOG = f"""\
privacy:
  shoppers' photos stay in memory: they are never written to disk (unless
  --keep-uploads DIR), and job results are forgotten after --result-ttl.
  Logs carry request lines and error messages, never image data.

API keys:
  set {API_KEYS_VARIABLE}=key1,key2 (or --api-keys-file FILE, one key a line) and
  every /v1 request must carry one in the X-API-Key header.

example:
  tryon serve --port 8000 --catalog shop-catalog --workers 2
  tryon serve --ray --address auto --job-store redis://redis-host:6379/0 \\
      --catalog /mnt/shared/catalog --weights /mnt/shared/weights --max-batch-size 8
  tryon serve --ray --job-store redis://localhost:6379/0 --weights DIR \
      --gpus-per-replica 0.5 --fashn-gpus 0.5 --fashn-preset fast   # both on one GPU
"""


def register(commands: Commands) -> None:
    """Adds ``tryon serve`` to the ``tryon`` parser."""
    serve = command_parser(
        commands,
        "serve",
        summary="serve the HTTP API and the web page",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    add_server_options(serve)
    add_job_options(serve)
    add_try_on_options(serve)
    add_scale_out_options(serve)
    add_privacy_options(serve)
    serve.set_defaults(handler=serve_command)


def add_server_options(serve: argparse.ArgumentParser) -> None:
    """Where the service listens, its catalog, and how many requests it computes at once."""
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--catalog",
        metavar="DIR",
        help=f"the garment catalog folder (default: ${CATALOG_VARIABLE} or the per-user "
        "data folder)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes, each with its own engine and thread pool (default: %(default)s)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=2,
        help="try-ons computed at once per process (default: %(default)s)",
    )
    serve.add_argument(
        "--max-waiting",
        type=int,
        default=32,
        help="requests that may wait for a thread per process; beyond, 503 (default: %(default)s)",
    )


def add_job_options(serve: argparse.ArgumentParser) -> None:
    """Background jobs: how many run and wait, how long results live, where jobs are kept."""
    serve.add_argument(
        "--job-workers",
        type=int,
        default=1,
        help="jobs run at once per process (default: %(default)s)",
    )
    serve.add_argument(
        "--max-jobs",
        type=int,
        default=64,
        help="jobs queued or running; beyond, 503 (default: %(default)s)",
    )
    serve.add_argument(
        "--result-ttl",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long finished jobs and their results are kept (default: %(default)s)",
    )
    serve.add_argument(
        "--job-store",
        default="memory",
        metavar="WHERE",
        help="where jobs live: 'memory' (this process), 'sqlite:PATH' (shared by the "
        "--workers of one machine) or 'redis://HOST:PORT/DB' (shared by every machine; "
        "needed with --ray) (default: %(default)s)",
    )
    serve.add_argument(
        "--job-lease",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a job whose worker is silent this long is run again (default: %(default)s)",
    )
    serve.add_argument(
        "--job-attempts",
        type=int,
        default=2,
        help="runs a job gets when its workers die, then it fails with the reason "
        "(default: %(default)s)",
    )


def add_try_on_options(serve: argparse.ArgumentParser) -> None:
    """The try-ons themselves: cached people, answer quality, photo limits, the engines."""
    serve.add_argument(
        "--person-cache",
        type=int,
        default=8,
        metavar="N",
        help="person photos whose analysis is kept in memory while shoppers try garments "
        "on them, per process; 0 keeps none (default: %(default)s)",
    )
    serve.add_argument(
        "--person-cache-ttl",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long an unused person analysis is kept (default: %(default)s)",
    )
    serve.add_argument(
        "--quality",
        type=int,
        default=85,
        metavar="1-100",
        help="WebP, JPEG and AVIF quality of the answers (default: %(default)s; WebP at 85 "
        "is within 42 dB of the try-on and encodes in two thirds of the time of 90)",
    )
    serve.add_argument(
        "--max-upload-mb",
        type=float,
        default=20.0,
        help="largest uploaded photo (default: %(default)s)",
    )
    serve.add_argument(
        "--max-megapixels", type=float, default=50.0, help="largest photo (default: %(default)s)"
    )
    serve.add_argument("--samples", metavar="DIR", help="person photos offered by /v1/samples")
    add_shared_option(serve, "--weights", "diffusion engines' weights (runs the catvton engine)")
    serve.add_argument(
        "--diffusion-preset",
        default="compat",
        choices=("compat", "fast", "draft"),
        help="sampler preset of the catvton engine (default: %(default)s)",
    )
    serve.add_argument("--diffusion-steps", type=int, help="denoising steps, when not the preset's")


def add_scale_out_options(serve: argparse.ArgumentParser) -> None:
    """``--ray``: the cluster, the diffusion model's batches, and the replicas."""
    scale = serve.add_argument_group(
        "scale-out (Ray Serve; needs the scale extra)",
        "with --ray the service runs as Serve deployments: the HTTP ingress (warp in its "
        "threads), garment preprocessing, and the diffusion models (catvton, fashn: those "
        "whose weights are in --weights) on GPUs with dynamic batching. Use a Redis "
        "--job-store and a --catalog folder every node mounts.",
    )
    scale.add_argument("--ray", action="store_true", help="serve on a Ray cluster")
    scale.add_argument(
        "--address",
        metavar="ADDR",
        help="the Ray cluster to join ('auto', HOST:6379); default: start Ray on this machine",
    )
    scale.add_argument(
        "--max-batch-size", type=int, default=4, help="diffusion batch size (default: %(default)s)"
    )
    scale.add_argument(
        "--diffusion-start-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="a diffusion job no replica starts within this time fails with the reason "
        "(no GPU worker in the cluster, say) (default: %(default)s)",
    )
    scale.add_argument(
        "--batch-wait-ms",
        type=float,
        default=50.0,
        help="how long a batch waits to fill (default: %(default)s)",
    )
    scale.add_argument(
        "--max-ongoing-requests",
        type=int,
        help="requests a diffusion replica holds (default: twice the batch size)",
    )
    add_replica_options(scale)
    add_fashn_options(scale)


def add_fashn_options(scale: argparse._ArgumentGroup) -> None:
    """The fashn model deployment's sampling, dtype and GPUs (with ``--ray``)."""
    scale.add_argument(
        "--fashn-preset",
        choices=FASHN_PRESETS,
        help="sampling preset of the fashn engine: compat (the reference's 30 steps), "
        "fast (20), quality (50) (default: compat)",
    )
    scale.add_argument(
        "--fashn-steps", type=int, metavar="N", help="fashn sampling steps, when not the preset's"
    )
    scale.add_argument(
        "--fashn-dtype",
        choices=("auto", "float32", "bfloat16"),
        help="the fashn model's dtype (default: auto: bfloat16 on a GPU that supports it, "
        "else float32)",
    )
    scale.add_argument(
        "--fashn-gpus",
        type=float,
        metavar="GPUS",
        help="GPUs of a fashn replica (default: --gpus-per-replica); with both engines' "
        "weights each has its own replicas: 0.5 each shares one GPU",
    )


def add_replica_options(scale: argparse._ArgumentGroup) -> None:
    """How many replicas each Serve deployment runs, and the GPUs and CPUs they reserve."""
    scale.add_argument(
        "--diffusion-replicas",
        type=int,
        default=1,
        help="diffusion replicas, the minimum when autoscaling (default: %(default)s)",
    )
    scale.add_argument(
        "--diffusion-max-replicas",
        type=int,
        help="autoscale the diffusion replicas up to this many",
    )
    scale.add_argument(
        "--gpus-per-replica",
        type=float,
        default=1.0,
        help="GPUs of a diffusion replica (default: %(default)s)",
    )
    scale.add_argument(
        "--cpus-per-replica",
        type=float,
        default=1.0,
        help="CPUs each replica reserves (ingress, garment, diffusion) (default: %(default)s)",
    )
    scale.add_argument(
        "--garment-replicas", type=int, default=1, help="garment replicas (default: %(default)s)"
    )
    scale.add_argument(
        "--ingress-replicas",
        type=int,
        default=1,
        help="HTTP ingress replicas; more than one needs Redis (default: %(default)s)",
    )


def add_privacy_options(serve: argparse.ArgumentParser) -> None:
    """Shoppers' photos on disk, the API keys, and what the server logs."""
    serve.add_argument(
        "--keep-uploads",
        metavar="DIR",
        help="also write shoppers' person photos into DIR (off by default: they stay in memory)",
    )
    serve.add_argument("--api-keys-file", metavar="FILE", help="accepted API keys, one a line")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="server log level (default: %(default)s)",
    )


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    """The ``ServiceSettings`` the arguments describe."""
    from tryon.service.settings import ServiceSettings

    values: dict[str, Any] = {
        "max_concurrency": args.threads,
        "max_waiting": args.max_waiting,
        "job_workers": args.job_workers,
        "max_jobs": args.max_jobs,
        "result_ttl_s": args.result_ttl,
        "person_cache_entries": args.person_cache,
        "person_cache_ttl_s": args.person_cache_ttl,
        "output_quality": args.quality,
        "diffusion_start_timeout_s": args.diffusion_start_timeout,
        "job_store": args.job_store,
        "job_lease_s": args.job_lease,
        "job_attempts": args.job_attempts,
        "diffusion_preset": args.diffusion_preset,
        "diffusion_steps": args.diffusion_steps,
        "max_upload_bytes": int(args.max_upload_mb * 2**20),
        "max_pixels": int(args.max_megapixels * 1e6),
        "api_keys": api_keys(args.api_keys_file),
    }
    for option, name in (
        ("catalog", "catalog_dir"),
        ("samples", "samples_dir"),
        ("weights", "weights_dir"),
        ("keep_uploads", "keep_uploads_dir"),
    ):
        if getattr(args, option):
            values[name] = Path(getattr(args, option)).expanduser()
    try:
        return ServiceSettings(**values)
    except ValueError as exc:
        raise TryOnError(f"tryon serve: {exc}") from None


def scale_config_from_args(args: argparse.Namespace) -> ScaleConfig:
    """The ``ScaleConfig`` the ``--ray`` arguments describe."""
    from tryon.scale import ScaleConfig

    try:
        return ScaleConfig(
            address=args.address,
            max_batch_size=args.max_batch_size,
            batch_wait_s=args.batch_wait_ms / 1000,
            max_ongoing_requests=args.max_ongoing_requests,
            diffusion_replicas=args.diffusion_replicas,
            diffusion_max_replicas=args.diffusion_max_replicas,
            diffusion_gpus=args.gpus_per_replica,
            fashn_gpus=args.fashn_gpus,
            diffusion_cpus=args.cpus_per_replica,
            garment_cpus=args.cpus_per_replica,
            ingress_cpus=args.cpus_per_replica,
            garment_replicas=args.garment_replicas,
            ingress_replicas=args.ingress_replicas,
        )
    except ValueError as exc:
        raise TryOnError(f"tryon serve --ray: {exc}") from None


def fashn_config_from_args(
    args: argparse.Namespace, settings: ServiceSettings, config: ScaleConfig
) -> FashnConfig:
    """The fashn engine's settings the ``--fashn-*`` arguments describe, for replicas
    laid out by ``config`` (on the service's device, else a GPU when they reserve one)."""
    from tryon.engines.fashn import FashnConfig
    from tryon.fashn.sampler import PRESETS, FashnSampling

    preset = args.fashn_preset or "compat"
    sampling: FashnSampling | str = preset
    try:
        if args.fashn_steps is not None:
            sampling = replace(PRESETS[preset], steps=args.fashn_steps)
        return FashnConfig(
            sampling=sampling,
            device=config.fashn_device(settings.diffusion_device),
            dtype=args.fashn_dtype or "auto",
        )
    except TryOnError as exc:
        raise TryOnError(f"tryon serve --ray: {exc}") from None


def api_keys(path: str | None) -> tuple[str, ...]:
    """Keys from ``--api-keys-file`` and ``$TRYON_API_KEYS``."""
    keys = [k.strip() for k in os.environ.get(API_KEYS_VARIABLE, "").split(",")]
    if path:
        try:
            keys += [line.strip() for line in Path(path).read_text().splitlines()]
        except OSError as exc:
            raise TryOnError(f"--api-keys-file {path!r}: {exc.strerror}") from None
    return tuple(k for k in keys if k and not k.startswith("#"))


def serve_command(args: argparse.Namespace) -> int:
    """``tryon serve``: serves with uvicorn, or Ray Serve with ``--ray``, until interrupted."""
    if args.workers < 1:
        raise TryOnError(f"--workers must be at least 1, got {args.workers}")
    try:
        import uvicorn  # noqa: F401  (the service extra, checked before anything starts)

        from tryon.service.app import create_app  # noqa: F401
    except ImportError as exc:
        raise TryOnError(
            f"tryon serve needs the service extra ({exc.name} is missing): "
            "pip install 'tryon[service]'"
        ) from None
    settings = settings_from_args(args)
    if args.ray:
        return start_on_ray(settings, args)
    given = [f"--{n.replace('_', '-')}" for n in FASHN_OPTIONS if getattr(args, n) is not None]
    if given:
        raise TryOnError(f"{', '.join(given)}: for the fashn deployment of --ray only")
    return start_uvicorn(settings, args)


def start_on_ray(settings: ServiceSettings, args: argparse.Namespace) -> int:
    """Deploys the service on a Ray cluster (``--ray``) and serves until interrupted.

    Args:
        settings: The service's settings.
        args: The parsed ``tryon serve`` arguments (the scale-out ones, host and port).

    Returns:
        The exit code.
    """
    config = scale_config_from_args(args)
    fashn = fashn_config_from_args(args, settings, config)
    try:
        import ray.serve  # noqa: F401  (the scale extra, checked before anything starts)

        from tryon.scale.run import serve_on_ray
    except ImportError as exc:
        raise TryOnError(
            f"tryon serve --ray needs the scale extra ({exc.name} is missing): "
            "pip install 'tryon[scale]'"
        ) from None
    return serve_on_ray(settings, config, args.host, args.port, fashn)


def start_uvicorn(settings: ServiceSettings, args: argparse.Namespace) -> int:
    """Serves with uvicorn on this machine, in one process or ``--workers`` processes.

    Args:
        settings: The service's settings.
        args: The parsed ``tryon serve`` arguments (host, port, workers, log level).

    Returns:
        The exit code, once the server stops.
    """
    import uvicorn

    from tryon.service.app import create_app
    from tryon.service.settings import SETTINGS_VARIABLE

    if args.workers > 1 and settings.job_store == "memory":
        print(
            "tryon serve: with --workers and the in-memory job store each process knows only "
            "its own jobs (a job may answer 404 from another process); "
            "--job-store sqlite:PATH shares them",
            file=sys.stderr,
        )
    # MediaPipe's native log lines are filtered by the command line around the whole
    # command (worker processes inherit its stderr).
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    else:
        # Worker processes build their own app (and engine) from the settings.
        os.environ[SETTINGS_VARIABLE] = settings.to_json()
        uvicorn.run(
            "tryon.service.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
        )
    return 0
