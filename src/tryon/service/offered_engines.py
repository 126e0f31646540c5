"""Which engines this server offers, how each answers (sync or as a job), under which
licence, and why an engine is not available."""

from __future__ import annotations

from dataclasses import dataclass
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
    """

    name: str
    mode: Literal["sync", "job"]
    available: bool
    reason: str | None = None
    licence: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": self.mode,
            "available": self.available,
            "reason": self.reason,
            "licence": self.licence,
        }


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
        infos.append(EngineInfo(name, "job", reason is None, reason, LICENCES.get(name, "")))
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
