"""Shared fixtures: the real sample photos and one warp engine per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tryon import TryOn

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]


def photos_dir() -> Path:
    """The shared photo set when present (every person and garment), else the bundled samples."""
    shared = Path(os.environ.get("TRYON_PHOTOS", ROOT.parent / "shared" / "data" / "photos"))
    return shared if (shared / "people").is_dir() else ROOT / "samples"


PHOTOS = photos_dir()
FULL_BODY = sorted(p for p in (PHOTOS / "people").glob("*.jpg") if "selfie" not in p.name)
SELFIES = sorted((PHOTOS / "people").glob("*selfie*.jpg"))
GARMENTS = sorted(p for p in (PHOTOS / "garments").glob("*.jpg") if "_back" not in p.name)


@pytest.fixture(scope="session")
def tryon() -> TryOn:
    return TryOn(engine="warp")
