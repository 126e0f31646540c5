"""Body analysis on the real photos: what the try-on must leave in front."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import PHOTOS
from tryon import TryOn
from tryon.body.frame import head_size
from tryon.imageio import load_image

PEOPLE = sorted((PHOTOS / "people").glob("*.jpg"))


def _head_below_chin(tryon: TryOn, name: str) -> float:
    """How far the head mask reaches below the face oval down its middle, in heads."""
    body = tryon.prepare_person(PHOTOS / "people" / name).body
    rows = np.flatnonzero(body.face_mask.any(1))
    cols = np.flatnonzero(body.face_mask.any(0))
    middle = (cols[0] + cols[-1]) // 2
    column = body.head_mask[:, middle - 2 : middle + 3].all(1)
    return float(np.flatnonzero(column).max() - rows[-1]) / head_size(body.keypoints)


@pytest.mark.parametrize("photo", [p.name for p in PEOPLE if p.name.startswith("p1_")])
def test_a_beard_below_the_chin_is_part_of_the_head(tryon: TryOn, photo: str) -> None:
    """The face mesh ends at the chin; a beard goes on below it and must stay in front
    of the new collar (not be cut off by it)."""
    assert _head_below_chin(tryon, photo) > 0.12


@pytest.mark.parametrize("photo", [p.name for p in PEOPLE if p.name.startswith("p2_")])
def test_a_shaven_chin_is_where_the_head_ends(tryon: TryOn, photo: str) -> None:
    """No beard: the neck below the chin is not taken for one."""
    assert _head_below_chin(tryon, photo) < 0.05


def test_prepare_person_reads_any_photo_source(tryon: TryOn) -> None:
    path = PEOPLE[0]
    from_path = tryon.prepare_person(path)
    from_bytes = tryon.prepare_person(path.read_bytes())
    from_array = tryon.prepare_person(load_image(path))
    assert np.array_equal(from_path.image, from_array.image)
    assert np.array_equal(from_path.body.head_mask, from_bytes.body.head_mask)
