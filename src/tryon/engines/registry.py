"""The engines by name, and how each is built (the diffusion ones import torch on demand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tryon.engines.base import Engine
from tryon.engines.warp import WarpEngine
from tryon.errors import TryOnError, UnknownEngineError

DIFFUSION_EXTRA = "pip install 'tryon[diffusion]'"


def _warp(weights: Path | None, attention: str | Path | None) -> Engine:
    if attention is not None:
        raise TryOnError("the warp engine uses no attention weights: drop --attention")
    return WarpEngine()


def _catvton(weights: Path | None, attention: str | Path | None) -> Engine:
    # Imported on demand: torch and diffusers are an optional extra and slow to import.
    _require_diffusion("catvton")
    from tryon.engines.catvton import CatVTONConfig, CatVTONEngine

    config = CatVTONConfig() if attention is None else CatVTONConfig(version=attention)
    return CatVTONEngine(_weights_dir(weights), config)


def _hybrid(weights: Path | None, attention: str | Path | None) -> Engine:
    _require_diffusion("hybrid")
    from tryon.engines.hybrid import HybridConfig, HybridEngine

    config = HybridConfig()
    if attention is not None:
        config = replace(config, diffusion=replace(config.diffusion, version=attention))
    return HybridEngine(_weights_dir(weights), config)


def _fashn(weights: Path | None, attention: str | Path | None) -> Engine:
    if attention is not None:
        raise TryOnError("the fashn engine uses no attention weights: drop --attention")
    _require_diffusion("fashn")
    from tryon.engines.fashn import FashnEngine

    return FashnEngine(_weights_dir(weights))


# Each factory takes the diffusion weights directory (None: the default one) and the
# attention weights (None: the default version); the warp engine needs neither.
ENGINES: dict[str, Callable[[Path | None, str | Path | None], Engine]] = {
    "warp": _warp,
    "catvton": _catvton,
    "hybrid": _hybrid,
    "fashn": _fashn,
}


def create_engine(
    name: str, weights: Path | None = None, *, attention: str | Path | None = None
) -> Engine:
    """Builds the engine registered under ``name``.

    Args:
        name: "warp", "catvton", "hybrid" or "fashn".
        weights: weights directory for "catvton", "hybrid" and "fashn" (None:
            ``$TRYON_WEIGHTS`` or ``~/.cache/tryon/weights``).
        attention: their attention weights: a published CatVTON version, or trained ones
            by folder name under ``weights`` or by path (None: the default version; see
            ``tryon.diffusion.weights.attention_weights``).

    Raises:
        UnknownEngineError: no engine has that name.
        TryOnError: the engine's weights or packages are missing (the message says how
            to get them).
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise UnknownEngineError(
            f"unknown engine {name!r}: available engines are {known}"
        ) from None
    return factory(weights, attention)


def _weights_dir(weights: Path | None) -> Path:
    from tryon.diffusion.weights import default_weights_dir

    return Path(weights).expanduser() if weights is not None else default_weights_dir()


def _require_diffusion(engine: str) -> None:
    try:
        import diffusers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise TryOnError(
            f"the {engine} engine needs PyTorch and diffusers: {DIFFUSION_EXTRA}"
        ) from None
