"""Which engines this server offers, how each answers (sync or as a job), under which
licence, with which sampler presets, and why an engine is not available."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from tryon.engines import ENGINES
from tryon.errors import UnknownEngineError
from tryon.service.api_errors import APIError
from tryon.service.settings import ServiceSettings

JOB_ENGINES = ("catvton", "hybrid", "fashn")
"""Diffusion engines: too slow to answer in one request, they run as jobs."""
SERVED_JOB_ENGINES = ("catvton", "fashn")
"""The job engines the service runs once their weights are in the weights folder."""
LICENCES: dict[str, str] = {
    "warp": "Apache-2.0 (the project's code; the MediaPipe models it runs: Apache-2.0)",
    "catvton": "CC BY-NC-SA 4.0: CatVTON's weights, non-commercial use only",
    "hybrid": "CC BY-NC-SA 4.0: CatVTON's weights, non-commercial use only",
    "fashn": "Apache-2.0 (FASHN VTON v1.5's and DWPose's weights)",
}
"""The terms each engine's results come under: those of the weights it runs."""


@dataclass(frozen=True)
class PresetInfo:
    """A diffusion engine's sampler preset as ``GET /v1/engines`` lists it.

    Attributes:
        name: what the ``preset`` field of ``POST /v1/jobs`` takes.
        steps: its denoising (catvton) or sampling (fashn) steps.
        seed: the seed of its noise (what a job without ``seed`` gets).
    """

    name: str
    steps: int
    seed: int

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "steps": self.steps, "seed": self.seed}


@dataclass(frozen=True)
class EngineInfo:
    """An engine as ``GET /v1/engines`` lists it.

    Attributes:
        name: what the ``engine`` field takes.
        mode: "sync" (``POST /v1/tryon`` answers with the image) or "job" (``POST
            /v1/jobs``, then the result when done).
        available: whether this server can run it now.
        reason: why not, when it cannot.
        licence: the terms of the weights it runs (whether a shop may use its
            results commercially).
        presets: the sampler presets a job may ask for (an available diffusion
            engine's; none for the others).
        default_preset: what a job that names no preset runs: the server's preset,
            with the server's steps (None: no presets).
    """

    name: str
    mode: Literal["sync", "job"]
    available: bool
    reason: str | None = None
    licence: str = ""
    presets: tuple[PresetInfo, ...] = ()
    default_preset: PresetInfo | None = None

    def as_json(self) -> dict[str, object]:
        default = self.default_preset
        return {
            "name": self.name,
            "mode": self.mode,
            "available": self.available,
            "reason": self.reason,
            "licence": self.licence,
            "presets": [preset.as_json() for preset in self.presets],
            "default_preset": default.as_json() if default is not None else None,
        }


def engine_presets(
    name: str, settings: ServiceSettings
) -> tuple[tuple[PresetInfo, ...], PresetInfo]:
    """The sampler presets of the diffusion engine ``name`` and the one a job without
    ``preset`` runs (imports torch: asked only of an engine that can run).

    catvton's seed is its renderer's (the presets have none); fashn's, each preset's.
    The server's ``diffusion_preset`` and ``diffusion_steps`` are catvton's default;
    fashn's is its "compat" preset.
    """
    if name == "fashn":
        from tryon.fashn.sampler import PRESETS as FASHN_PRESETS

        found = tuple(PresetInfo(key, p.steps, p.seed) for key, p in FASHN_PRESETS.items())
        return found, next(p for p in found if p.name == "compat")
    from tryon.diffusion.renderer import RenderConfig
    from tryon.diffusion.sampling import PRESETS

    seed = RenderConfig().seed
    found = tuple(PresetInfo(key, p.steps, seed) for key, p in PRESETS.items())
    server = next((p for p in found if p.name == settings.diffusion_preset), found[0])
    return found, replace(server, steps=settings.diffusion_steps or server.steps)


def missing_weights(name: str, weights: Path, settings: ServiceSettings) -> str | None:
    """Why the weights folder ``weights`` cannot run the job engine ``name`` (None: it can).

    Only files are looked at (nothing is loaded): catvton's base model, VAE and the
    configured attention weights; fashn's transformer.
    """
    from tryon.diffusion.weights import WeightsError, fetch_hint, missing_files

    if name == "fashn":
        from tryon.engines.fashn import model_path
        from tryon.fashn.weights import FASHN_FETCH_COMMAND

        path = model_path(weights)
        if path.is_file():
            return None
        return f"its weights are not in the weights folder (no {path}); run '{FASHN_FETCH_COMMAND}'"
    try:
        missing = missing_files(weights, settings.diffusion_version)
    except WeightsError as exc:
        return str(exc)
    if not missing:
        return None
    return f"its weights are not in the weights folder (no {missing[0]}); {fetch_hint(weights)}"


def list_engines(settings: ServiceSettings) -> list[EngineInfo]:
    """Every engine, the sync ones first."""
    infos = [
        EngineInfo(name, "sync", True, licence=LICENCES.get(name, ""))
        for name in ENGINES
        if name not in JOB_ENGINES
    ]
    for name in JOB_ENGINES:
        reason: str | None
        if settings.weights_dir is None:
            reason = (
                "weights not configured; start the server with --weights DIR pointing at the "
                "downloaded diffusion weights"
            )
        elif name not in ENGINES:
            reason = f"this installation of tryon has no {name} engine"
        elif name in SERVED_JOB_ENGINES:
            reason = missing_weights(name, settings.weights_dir, settings)
        else:
            reason = f"this server does not run the {name} engine yet (catvton and fashn run)"
        info = EngineInfo(name, "job", reason is None, reason, LICENCES.get(name, ""))
        if info.available:
            presets, default = engine_presets(name, settings)
            info = replace(info, presets=presets, default_preset=default)
        infos.append(info)
    return infos


def runnable_job_engines(settings: ServiceSettings) -> tuple[str, ...]:
    """The job engines whose models a service with ``settings`` loads.

    An engine whose weights are missing is left out while another one's are there;
    with none there, catvton is named, so that loading it says which file is missing.
    """
    if settings.weights_dir is None:
        return ()
    found = tuple(
        name
        for name in SERVED_JOB_ENGINES
        if missing_weights(name, settings.weights_dir, settings) is None
    )
    return found or ("catvton",)


def find_engine(settings: ServiceSettings, name: str) -> EngineInfo:
    """The engine called ``name``, if this server can run it.

    Raises:
        UnknownEngineError: no engine has that name.
        APIError: 400 when the engine exists but is not available here.
    """
    infos = {info.name: info for info in list_engines(settings)}
    info = infos.get(name.strip().lower())
    if info is None:
        raise UnknownEngineError(
            f"unknown engine {name!r}: engines are {', '.join(infos)} (see GET /v1/engines)"
        )
    if not info.available:
        raise APIError(
            400, "EngineUnavailableError", f"engine {info.name} is not available: {info.reason}"
        )
    return info
