"""Per-garment adapters over HTTP: tuning one as a job, and how the API shows one.

``POST /v1/garments/{id}/adapter`` checks its form here (``parse_tune_form``: cheap, no
decoding, before any work starts) and queues a job of kind "tune"; a job worker runs it
with ``run_tune_job``: the catvton model is loaded from the weights folder for that job
alone (peft wraps its UNet while tuning runs, so the model serving try-ons is never
used), ``tryon.training.adapters.tune_garment`` reports each step as the job's progress,
and the adapter's record, JSON, is the job's result.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from tryon.catalog import AdapterRecord, Catalog, UnknownGarmentError
from tryon.engines.person import Analyzers
from tryon.service.api_errors import APIError
from tryon.service.jobs import JobResult, JobSpec, Progress, tune_spec
from tryon.service.settings import ServiceSettings
from tryon.service.uploads import UploadForm, check_image
from tryon.training.adapter_config import MIN_PHOTOS, TuneConfig

TUNE_ENGINE = "catvton"
"""The engine whose model a tuning job tunes (and whose try-ons apply the adapter)."""
MAX_PHOTOS = 20
"""Most on-model photos a tuning job takes (5 to 10 work best)."""
MAX_RANK = 64
MAX_STEPS = 5000
MIN_SIDE, MAX_SIDE = 32, 1024
"""Bounds of each side of the ``size`` field (multiples of 8)."""

_TUNING = threading.Lock()
"""One tuning at a time per process: each holds its own copy of the model."""


def adapter_json(record: AdapterRecord) -> dict[str, Any]:
    """A garment's adapter as the API shows it: how it was tuned, on what, and when."""
    c = record.config
    return {
        "rank": c["rank"],
        "alpha": c["alpha"],
        "steps": c.get("steps"),
        "learning_rate": c.get("learning_rate"),
        "size": c.get("size"),
        "version": c["version"],
        "photos": c.get("photos", []),
        "loss_first": c.get("loss_first"),
        "loss_last": c.get("loss_last"),
        "bytes": c.get("bytes"),
        "digest": c.get("digest"),
        "created": c.get("created"),
    }


def tuning_unavailable() -> APIError:
    return APIError(
        503,
        "TuningUnavailableError",
        "tuning an adapter needs the catvton engine's weights, and this server has none: "
        "start it with 'tryon serve --weights DIR' (or tune on a machine with the weights: "
        "'tryon catalog tune ID --photos ...')",
    )


def parse_tune_form(
    form: UploadForm, garment_id: str, settings: ServiceSettings, catalog: Catalog
) -> JobSpec:
    """Checks the form of ``POST /v1/garments/{id}/adapter`` (cheap: no decoding).

    Raises:
        APIError: 503 without weights; 400 (or 413, 415 as every upload) naming the
            field that is wrong.
        UnknownGarmentError: no such garment (404).
    """
    if settings.weights_dir is None:
        raise tuning_unavailable()
    catalog.get(garment_id)
    photos = form.every_file.get("photos", [])
    if len(photos) < MIN_PHOTOS:
        raise APIError(
            400,
            "ValidationError" if photos else "MissingFieldError",
            f"photos: an adapter needs at least {MIN_PHOTOS} on-model photos of the garment "
            f"(5 to 10 work best), got {len(photos)}; send each as a file field named 'photos'",
        )
    for number, photo in enumerate(photos, start=1):
        check_image(photo, f"photos: photo {number}", settings)
    defaults = TuneConfig()
    options: dict[str, Any] = {
        "rank": int_field(form, "rank", defaults.rank, MAX_RANK),
        "steps": int_field(form, "steps", defaults.steps, MAX_STEPS),
        "learning_rate": lr_field(form, defaults.learning_rate),
    }
    size = size_field(form)
    if size is not None:
        options["size"] = list(size)
    return tune_spec(TUNE_ENGINE, garment_id, photos, options)


def int_field(form: UploadForm, name: str, default: int, most: int) -> int:
    """A whole number from 1 to ``most``; ``default`` when absent."""
    text = form.text(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise APIError(
            400, "ValidationError", f"{name} must be a whole number from 1 to {most}, got {text!r}"
        )
    return value


def lr_field(form: UploadForm, default: float) -> float:
    """``lr``: the learning rate, a number above 0 and at most 1."""
    text = form.text("lr")
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise APIError(
            400,
            "ValidationError",
            f"lr must be a number above 0 and at most 1 (1e-4 is usual), got {text!r}",
        )
    return value


def size_field(form: UploadForm) -> tuple[int, int] | None:
    """``size``: HxW the photos are cropped to, e.g. 1024x768 (None: the weights' own)."""
    text = form.text("size")
    if text is None:
        return None
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        height = width = 0
    if not all(MIN_SIDE <= side <= MAX_SIDE and side % 8 == 0 for side in (height, width)):
        raise APIError(
            400,
            "ValidationError",
            f"size must be HxW, each side a multiple of 8 from {MIN_SIDE} to {MAX_SIDE} "
            f"(e.g. 1024x768), got {text!r}",
        )
    return height, width


def tune_config(options: dict[str, Any]) -> TuneConfig:
    """The tuning settings of a job's options."""
    size = options.get("size")
    return TuneConfig(
        rank=int(options["rank"]),
        steps=int(options["steps"]),
        learning_rate=float(options["learning_rate"]),
        size=(int(size[0]), int(size[1])) if size else None,
    )


def run_tune_job(
    spec: JobSpec,
    progress: Progress,
    *,
    catalog: Catalog,
    analyzers: Analyzers,
    settings: ServiceSettings,
) -> JobResult:
    """Tunes the adapter a job asks for (blocking) on a model of its own, and stores it.

    Progress is the optimiser's steps (step 0 while the model loads and the photos are
    analysed).

    Raises:
        APIError: 503 without weights; 404 when the garment was removed meanwhile.
        TrainingError: too few usable photos (each named with why) or bad settings.
    """
    # Imported here: torch, diffusers and peft load only when a tuning job runs.
    from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
    from tryon.training.adapters import tune_garment

    if settings.weights_dir is None:
        raise tuning_unavailable()
    if spec.garment_id is None:
        raise APIError(400, "ValidationError", "a tuning job needs a garment id")
    config = tune_config(spec.options)
    progress(0, config.steps)
    render = RenderConfig(version=settings.diffusion_version, device=settings.diffusion_device)
    with _TUNING:
        renderer = DiffusionRenderer(settings.weights_dir, render)
        try:
            result = tune_garment(
                catalog,
                spec.garment_id,
                spec.photos,
                renderer,
                analyzers,
                config,
                progress=lambda step, total, loss: progress(step, total),
            )
        except UnknownGarmentError as exc:  # removed from the catalog while queued
            raise APIError(404, "UnknownGarmentError", str(exc)) from None
        finally:
            del renderer  # the model goes with the job, its GPU memory too
            free_gpu_memory()
    document = {
        "garment_id": spec.garment_id,
        "adapter": adapter_json(result.adapter),
        "rejected": [{"name": r.name, "reason": r.reason} for r in result.rejected],
        "seconds": round(result.seconds, 3),
    }
    return JobResult(json.dumps(document).encode(), "application/json")


def free_gpu_memory() -> None:
    """Gives the GPU memory cached by torch back (the tuning model's, once it is gone)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
