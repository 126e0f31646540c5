"""Which engines this server offers, how each answers (sync or as a job), and why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tryon.engines import ENGINES
from tryon.errors import UnknownEngineError
from tryon.service.api_errors import APIError
from tryon.service.settings import ServiceSettings

JOB_ENGINES = ("catvton", "hybrid", "fashn")
"""Diffusion engines: too slow to answer in one request, they run as jobs (fashn's
weights are Apache-2.0; this server does not run it yet)."""
SERVED_JOB_ENGINES = ("catvton",)
"""The job engines the service runs once weights are configured."""


@dataclass(frozen=True)
class EngineInfo:
    """An engine as ``GET /v1/engines`` lists it.

    Attributes:
        name: what the ``engine`` field takes.
        mode: "sync" (``POST /v1/tryon`` answers with the image) or "job" (``POST
            /v1/jobs``, then the result when done).
        available: whether this server can run it now.
        reason: why not, when it cannot.
    """

    name: str
    mode: Literal["sync", "job"]
    available: bool
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": self.mode,
            "available": self.available,
            "reason": self.reason,
        }


def list_engines(settings: ServiceSettings) -> list[EngineInfo]:
    """Every engine, the sync ones first."""
    infos = [EngineInfo(name, "sync", True) for name in ENGINES if name not in JOB_ENGINES]
    for name in JOB_ENGINES:
        if settings.weights_dir is None:
            reason = (
                "weights not configured; start the server with --weights DIR pointing at the "
                "downloaded diffusion weights"
            )
        elif name not in ENGINES:
            reason = f"this installation of tryon has no {name} engine"
        elif name in SERVED_JOB_ENGINES:
            infos.append(EngineInfo(name, "job", True))
            continue
        else:
            reason = f"this server does not run the {name} engine yet (catvton runs)"
        infos.append(EngineInfo(name, "job", False, reason))
    return infos


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
