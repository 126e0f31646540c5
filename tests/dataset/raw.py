"""A small raw photo folder made from the real photos, with bad files in it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import PHOTOS

PEOPLE = ("p1_studio.jpg", "p2_studio.jpg", "p2_walking.jpg")
GARMENTS = ("shirts_1_front.jpg", "jackets_1_front.jpg", "pants_1_front.jpg")


def make_raw(root: Path) -> Path:
    """``root/people`` and ``root/garments``.

    ``garments/p2_walking.jpg`` is a photo of the same woman in the same jacket (p2_studio):
    the garment she wears in ``people/p2_walking.jpg``, so that pair is paired. Bad files:
    a text file named .jpg, and a shirt product photo among the people (no person).
    """
    people, garments = root / "people", root / "garments"
    people.mkdir(parents=True)
    garments.mkdir(parents=True)
    for name in PEOPLE:
        shutil.copy(PHOTOS / "people" / name, people / name)
    for name in GARMENTS:
        shutil.copy(PHOTOS / "garments" / name, garments / name)
    shutil.copy(PHOTOS / "people" / "p2_studio.jpg", garments / "p2_walking.jpg")
    (people / "notes.jpg").write_text("not a photo\n")
    shutil.copy(PHOTOS / "garments" / "shirts_1_front.jpg", people / "shirt_only.jpg")
    return root
