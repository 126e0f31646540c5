"""Where the tests find real photos.

``TRYON_PHOTOS`` overrides; otherwise ``../shared/data/photos`` next to the project,
falling back to the project's bundled ``samples/``. Both hold ``people/`` and
``garments/``.
"""

from __future__ import annotations

import os
from pathlib import Path

PHOTOS = Path(
    os.environ.get(
        "TRYON_PHOTOS", Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
    )
)
if not PHOTOS.is_dir():
    PHOTOS = Path(__file__).resolve().parents[1] / "samples"

PERSON = PHOTOS / "people" / "p1_studio.jpg"
GARMENT = PHOTOS / "garments" / "shirts_1_front.jpg"


def person(name: str = "p1_studio.jpg") -> Path:
    return PHOTOS / "people" / name


def garment(name: str = "shirts_1_front.jpg") -> Path:
    return PHOTOS / "garments" / name
