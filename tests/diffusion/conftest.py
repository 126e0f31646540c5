"""Fixtures of the diffusion tests: tiny models and a tiny weights directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.diffusion.tiny import write_weights
from tryon import TryOn
from tryon.engines.warp import WarpEngine


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny weights directory (HF layout, CatVTON key layout), written once."""
    root = tmp_path_factory.mktemp("weights")
    write_weights(root)
    return root


@pytest.fixture(scope="session")
def warp_engine(tryon: TryOn) -> WarpEngine:
    """The session's warp engine (its MediaPipe models are loaded once)."""
    engine = tryon.engine
    assert isinstance(engine, WarpEngine)
    return engine
