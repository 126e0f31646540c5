"""Shared fixtures: the real sample photos and one warp engine per test session.

The photo set is chosen once, in ``tests/photos.py``; its names are re-exported here
for the test modules that import them from ``tests.conftest``.
"""

from __future__ import annotations

import os

import pytest

from tests.photos import FULL_BODY, GARMENTS, PHOTOS, SELFIES
from tryon import TryOn

os.environ.setdefault("GLOG_minloglevel", "2")

__all__ = ["FULL_BODY", "GARMENTS", "PHOTOS", "SELFIES"]


@pytest.fixture(scope="session")
def tryon() -> TryOn:
    return TryOn(engine="warp")
