"""Where the tests find real photos: decided once, here, for every test.

The photo set is the folder ``TRYON_PHOTOS`` names; without it, ``../shared/data/photos``
next to the project when that holds a full set, else the project's bundled ``samples/``.
A set holds ``people/`` and ``garments/`` and, whatever else, every photo of
``samples/`` under the same name (tests name some of them). A ``TRYON_PHOTOS`` set that
lacks one is refused here, with the names, when the tests load: no test skips itself
for a missing photo.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data" / "photos"
SAMPLE_PHOTOS = sorted(f"{p.parent.name}/{p.name}" for p in SAMPLES.glob("*/*.jpg"))


def missing_photos(folder: Path) -> list[str]:
    """The bundled samples' photos that ``folder`` lacks."""
    return [name for name in SAMPLE_PHOTOS if not (folder / name).is_file()]


def photos_dir() -> Path:
    chosen = os.environ.get("TRYON_PHOTOS")
    if not chosen:
        return SAMPLES if missing_photos(SHARED) else SHARED
    folder = Path(chosen)
    missing = missing_photos(folder)
    if missing:
        raise RuntimeError(
            f"TRYON_PHOTOS={chosen} lacks {', '.join(missing)}: a photo set for the tests "
            "holds every photo of samples/ (unset TRYON_PHOTOS to use samples/)"
        )
    return folder


PHOTOS = photos_dir()
FULL_BODY = sorted(p for p in (PHOTOS / "people").glob("*.jpg") if "selfie" not in p.name)
SELFIES = sorted((PHOTOS / "people").glob("*selfie*.jpg"))
GARMENTS = sorted(p for p in (PHOTOS / "garments").glob("*.jpg") if "_back" not in p.name)
WARP_PAIRS = list(itertools.product(FULL_BODY, GARMENTS))
"""Every full-body person with every garment: the pairs the stage tests look at."""


def person(name: str = "p1_studio.jpg") -> Path:
    return PHOTOS / "people" / name


def garment(name: str = "shirts_1_front.jpg") -> Path:
    return PHOTOS / "garments" / name


PERSON = person()
GARMENT = garment()
