"""Settings of the HTTP service: one frozen record, defaults that work out of the box."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tryon.catalog import default_catalog_dir
from tryon.imageio import MAX_PIXELS

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = Path(__file__).resolve().parent / "static"
SETTINGS_VARIABLE = "TRYON_SERVICE_SETTINGS"
"""Environment variable through which ``tryon serve --workers N`` hands the settings to
its worker processes (JSON of ``ServiceSettings.to_json``)."""


def repo_samples_dir() -> Path | None:
    """The project's ``samples/`` folder when running from a checkout, else None."""
    candidate = PACKAGE_ROOT.parents[1] / "samples"
    return candidate if candidate.is_dir() else None


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs.

    Attributes:
        catalog_dir: the garment catalog folder (default: ``$TRYON_CATALOG`` or the
            per-user data folder, see ``tryon.catalog.default_catalog_dir``).
        samples_dir: person photos offered by ``GET /v1/samples`` (default: the
            project's ``samples/`` folder when it exists); None offers none.
        static_dir: the web page's files, served at ``/`` and ``/static/``.
        max_upload_bytes: largest accepted uploaded file, bytes (larger: 413).
        max_pixels: largest accepted image, pixels (larger: 413, refused before decoding).
        max_concurrency: try-ons computed at once by this process (its thread pool).
        max_waiting: requests allowed to wait for the pool; beyond, 503 + Retry-After.
        retry_after_s: the Retry-After sent with 503, seconds.
        job_workers: threads running jobs (``POST /v1/jobs``).
        max_jobs: jobs queued or running at once; beyond, 503 + Retry-After.
        result_ttl_s: seconds a finished job (its result included) is kept, then
            forgotten.
        job_store: where jobs live: "memory", "sqlite:PATH" or "redis://HOST:PORT/DB"
            (see ``tryon.service.jobs.select``).
        job_lease_s: seconds a job's worker may go silent before the job is taken back.
        job_attempts: runs a job gets when its workers die; then it fails with a reason.
        api_keys: accepted ``X-API-Key`` values; empty: no key needed.
        keep_uploads_dir: when set, shoppers' person photos are also written there (for
            debugging with consent); by default they never touch the disk.
        weights_dir: where the diffusion engines' weights are (None: not configured,
            and those engines are listed as unavailable).
        diffusion_version: CatVTON's attention weights (see ``tryon.diffusion.weights``).
        diffusion_preset: sampler preset of the catvton engine ("compat", "fast", "draft").
        diffusion_steps: denoising steps, when not the preset's.
        diffusion_area: pixels the person photo is scaled to for the model (None: the
            version's training size).
        diffusion_device: "cuda", "cpu", ... (None: the GPU when there is one).
        diffusion_start_timeout_s: on Ray, how long a diffusion job waits for a replica
            to start it; then it fails with the reason.
        output_quality: WebP, JPEG and AVIF quality, 1-100. On the sample try-ons
            (768x1024), WebP at 85 decodes to 41.7 dB PSNR of the try-on, 100 KB, in
            19 ms; at 90, 43.3 dB, 125 KB, in 30 ms: a third of a loaded server's CPU
            went into encoding at 90.
        person_cache_entries: person photos whose analysis is kept in memory while a
            shopper tries garments on them (see ``tryon.service.people``); 0: none.
        person_cache_ttl_s: seconds an unused person analysis is kept.
    """

    catalog_dir: Path = field(default_factory=default_catalog_dir)
    samples_dir: Path | None = field(default_factory=repo_samples_dir)
    static_dir: Path = STATIC_DIR
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = MAX_PIXELS
    max_concurrency: int = 2
    max_waiting: int = 32
    retry_after_s: int = 2
    job_workers: int = 1
    max_jobs: int = 64
    result_ttl_s: float = 600.0
    job_store: str = "memory"
    job_lease_s: float = 30.0
    job_attempts: int = 2
    api_keys: tuple[str, ...] = ()
    keep_uploads_dir: Path | None = None
    weights_dir: Path | None = None
    diffusion_version: str = "mix-48k-1024"
    diffusion_preset: str = "compat"
    diffusion_steps: int | None = None
    diffusion_area: int | None = None
    diffusion_device: str | None = None
    diffusion_start_timeout_s: float = 600.0
    output_quality: int = 85
    person_cache_entries: int = 8
    person_cache_ttl_s: float = 300.0

    def __post_init__(self) -> None:
        for name in (
            "max_upload_bytes",
            "max_pixels",
            "max_concurrency",
            "job_workers",
            "job_attempts",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_waiting", "max_jobs", "retry_after_s", "person_cache_entries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in (
            "result_ttl_s",
            "job_lease_s",
            "person_cache_ttl_s",
            "diffusion_start_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 1 <= self.output_quality <= 100:
            raise ValueError(f"output_quality must be 1-100, got {self.output_quality}")

    def to_json(self) -> str:
        """The settings as JSON (paths as strings)."""
        document: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            document[name] = value
        return json.dumps(document)

    @classmethod
    def from_json(cls, text: str) -> ServiceSettings:
        """Reads what ``to_json`` wrote."""
        document = json.loads(text)
        paths = {"catalog_dir", "samples_dir", "static_dir", "keep_uploads_dir", "weights_dir"}
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in document:
                continue
            value = document[spec.name]
            if spec.name in paths and value is not None:
                value = Path(value)
            elif spec.name == "api_keys":
                value = tuple(value)
            values[spec.name] = value
        return cls(**values)

    @classmethod
    def from_env(cls) -> ServiceSettings:
        """The settings handed over in ``$TRYON_SERVICE_SETTINGS``, else the defaults."""
        text = os.environ.get(SETTINGS_VARIABLE)
        return cls.from_json(text) if text else cls()
