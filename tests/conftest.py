"""Shared fixtures: the real sample photos and one warp engine per test session.

The photo set is chosen once, in ``tests/photos.py``; its names are re-exported here
for the test modules that import them from ``tests.conftest``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.photos import FULL_BODY, GARMENTS, PHOTOS, SELFIES, WARP_PAIRS
from tryon import TryOn, TryOnResult
from tryon.engines.warp import WarpEngine

os.environ.setdefault("GLOG_minloglevel", "2")

__all__ = ["FULL_BODY", "GARMENTS", "PHOTOS", "SELFIES"]


@pytest.fixture(scope="session")
def tryon() -> TryOn:
    return TryOn(engine="warp")


@pytest.fixture(scope="session")
def warp_results(tryon: TryOn) -> dict[tuple[str, str], TryOnResult]:
    """The warp engine's try-on of every pair of ``WARP_PAIRS``, by (person, garment) name,
    made once for the body, warp, compose and engine tests."""
    garments = {g.name: tryon.analyze_garment(g) for g in GARMENTS}
    return {(p.name, g.name): tryon.run(p, garments[g.name]) for p, g in WARP_PAIRS}


@pytest.fixture(scope="session")
def warp_engine(tryon: TryOn) -> WarpEngine:
    """The session's warp engine (its MediaPipe models are loaded once)."""
    engine = tryon.engine
    assert isinstance(engine, WarpEngine)
    return engine


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny weights directory (HF layout, CatVTON key layout), written once."""
    # Imported here: torch loads only for the tests that use diffusion weights.
    from tests.diffusion.tiny import write_weights

    root = tmp_path_factory.mktemp("weights")
    write_weights(root)
    return root
