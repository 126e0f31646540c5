"""Try-on engines: same inputs, same result type; looked up by name."""

from __future__ import annotations

from collections.abc import Callable

from tryon.engines.base import Engine
from tryon.engines.warp import WarpEngine
from tryon.errors import UnknownEngineError

ENGINES: dict[str, Callable[[], Engine]] = {"warp": WarpEngine}


def create_engine(name: str) -> Engine:
    """Builds the engine registered under ``name``.

    Raises:
        UnknownEngineError: no engine has that name.
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise UnknownEngineError(
            f"unknown engine {name!r}: available engines are {known}"
        ) from None
    return factory()


__all__ = ["ENGINES", "Engine", "WarpEngine", "create_engine"]
