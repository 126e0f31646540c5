"""The warp engine's look on every bundled sample pair, against stored expected values.

The invariant tests (``test_warp_engine.py``) pass for many different looks; these pin
the one the engine gives today, so that a change to the look is a deliberate, reviewed
update of ``expected_looks.json`` rather than an accident.

What is compared, per pair of ``samples/people/*.jpg`` x ``samples/garments/*.jpg``
(the bundled samples, whatever ``TRYON_PHOTOS`` says: the values belong to these
files, and each file's SHA-256 is stored with them), through the public API only
(``TryOn.prepare_person`` and ``TryOn.run``; ``result.image``, ``result.agnostic_mask``,
``result.category``, ``result.warnings``):

- ``category`` and ``warnings`` exactly;
- the agnostic mask: its bounding box (the "box", within 2 pixels), its area (within
  0.5 %) and an 8 x 8 thumbnail of the share of each box cell it covers (within 0.02);
- ``thumbnail``: the result inside the box, area-averaged to 8 x 8 cells of mean RGB
  (within 2 grey levels): the garment's colour, shading and placement, coarsely;
- ``crops``: seven small squares at named spots of the box (``SPOTS``: collar, chest,
  belly, hem and sleeves of a top; waist, thighs, knees and shins of trousers; "_r" is
  the person's right, the left of the image), each a side of 6 % of the box's height,
  area-averaged to 3 x 3 cells of mean RGB (within 2 grey levels), plus the standard
  deviation of its grey values, its "contrast" (within 1 level): a blur, a sharper
  warp, a moved seam or pattern shows there.

Averaging over cells of many pixels keeps the values steady under changes of a grey
level here and there (rounding); a visible change of the garment (its colour or
brightness by a few levels, a blur, a shift of a few pixels, another shape of the mask)
moves them past the tolerance. Pairs the engine refuses store the error's type.

Updating the expectations, after a change to the look has been made on purpose::

    TRYON_UPDATE_EXPECTED=1 pytest tests/test_expected_looks.py

rewrites ``tests/engines/expected_looks.json`` from the current code and then fails every test
that reads it, saying so: an update never passes silently. Review the change (``git diff
tests/engines/expected_looks.json``: one line per row of numbers), look at the new try-ons, rerun
without the variable and commit the file with the change that made it, saying why the
look changed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tryon import TryOn, TryOnError

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PEOPLE = sorted((SAMPLES / "people").glob("*.jpg"))
GARMENTS = sorted((SAMPLES / "garments").glob("*.jpg"))
PAIRS = list(itertools.product(PEOPLE, GARMENTS))
EXPECTED = Path(__file__).with_name("expected_looks.json")
UPDATE = os.environ.get("TRYON_UPDATE_EXPECTED", "") not in ("", "0")

# Spots as (x, y) fractions of the agnostic mask's box; "_r" is the person's right. Placed
# where the sample try-ons change the photo: nearly all their crops lie in changed pixels
# (not the selfies' collar spot: their box begins on the face).
SPOTS = {
    "upper": {
        "collar": (0.50, 0.12),
        "chest_r": (0.38, 0.30),
        "chest_l": (0.62, 0.30),
        "belly": (0.50, 0.60),
        "hem": (0.50, 0.86),
        "sleeve_r": (0.20, 0.50),
        "sleeve_l": (0.80, 0.50),
    },
    "lower": {
        "waist": (0.45, 0.12),
        "thigh_r": (0.35, 0.30),
        "thigh_l": (0.65, 0.30),
        "knee_r": (0.35, 0.55),
        "knee_l": (0.68, 0.60),
        "shin_r": (0.36, 0.72),
        "shin_l": (0.71, 0.72),
    },
}
SPOTS["overall"] = SPOTS["upper"]
CROP_SIDE = 0.06  # of the box's height
CROP_CELLS = 3
THUMBNAIL = 8

BOX_TOLERANCE = 2  # pixels
AREA_TOLERANCE = 0.005  # share of the mask's area
COVER_TOLERANCE = 0.02  # share of a mask thumbnail cell
LEVEL_TOLERANCE = 2.0  # grey levels of a cell's mean
CONTRAST_TOLERANCE = 1.0  # grey levels of a crop's standard deviation


def pair_id(person: Path, garment: Path) -> str:
    return f"{person.stem}+{garment.stem}"


def _cell_means(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Area average of an (H, W, ...) array over a rows x cols grid of near-equal cells."""
    ys = np.linspace(0, values.shape[0], rows + 1).round().astype(int)
    xs = np.linspace(0, values.shape[1], cols + 1).round().astype(int)
    out = np.empty((rows, cols, *values.shape[2:]))
    for i, j in itertools.product(range(rows), range(cols)):
        cell = values[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].astype(np.float64)
        out[i, j] = cell.reshape(-1, *values.shape[2:]).mean(0)
    return out


def _rounded(values: np.ndarray, digits: int = 1) -> list[Any]:
    return list(np.round(values, digits).tolist())


def _crop(image: np.ndarray, box: list[int], spot: tuple[float, float]) -> np.ndarray:
    y0, y1, x0, x1 = box
    side = max(CROP_CELLS * 3, round(CROP_SIDE * (y1 - y0) / CROP_CELLS) * CROP_CELLS)
    h, w = image.shape[:2]
    left = min(max(round(x0 + spot[0] * (x1 - x0) - side / 2), 0), w - side)
    top = min(max(round(y0 + spot[1] * (y1 - y0) - side / 2), 0), h - side)
    return image[top : top + side, left : left + side]


def measure(image: np.ndarray, mask: np.ndarray, category: str) -> dict[str, Any]:
    """The stored values of one try-on (see the module's docstring)."""
    ys, xs = np.nonzero(mask)
    box = [int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1]
    y0, y1, x0, x1 = box
    crops = {}
    for name, spot in SPOTS[category].items():
        crop = _crop(image, box, spot)
        grey = crop.astype(np.float64) @ [0.299, 0.587, 0.114]
        crops[name] = {
            "cells": _rounded(_cell_means(crop, CROP_CELLS, CROP_CELLS).reshape(CROP_CELLS, -1)),
            "contrast": round(float(grey.std()), 1),
        }
    thumbnail = _cell_means(image[y0:y1, x0:x1], THUMBNAIL, THUMBNAIL)
    return {
        "mask": {
            "box": box,
            "area": int(mask.sum()),
            "cover": _rounded(_cell_means(mask[y0:y1, x0:x1], THUMBNAIL, THUMBNAIL), 2),
        },
        "thumbnail": _rounded(thumbnail.reshape(THUMBNAIL, -1)),
        "crops": crops,
    }


def _far(name: str, expected: Any, found: Any, tolerance: float, rgb: bool = False) -> list[str]:
    """Values farther apart than ``tolerance``, said with the worst one (rows of RGB
    triplets when ``rgb``: the worst cell's row, column and channel)."""
    a, b = np.asarray(expected, float), np.asarray(found, float)
    if a.shape != b.shape:
        return [f"{name}: shape {b.shape}, expected {a.shape}"]
    gap = np.abs(a - b)
    if gap.max() <= tolerance:
        return []
    worst = np.unravel_index(gap.argmax(), gap.shape)
    where = f"cell {worst[0]}, {worst[1] // 3} {'RGB'[worst[1] % 3]}" if rgb else str(worst)
    return [
        f"{name}: {int((gap > tolerance).sum())} of {gap.size} values off by more than "
        f"{tolerance} (worst at {where}: {b[worst]:g}, expected {a[worst]:g})"
    ]


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What of ``found`` is farther from ``expected`` than the tolerances; empty: the same."""
    if "error" in expected or "error" in found:
        return [] if expected == found else [f"got {found}, expected {expected}"]
    out = []
    for key in ("category", "warnings"):
        if found[key] != expected[key]:
            out.append(f"{key}: {found[key]!r}, expected {expected[key]!r}")
    if out:
        return out
    mask, want = found["mask"], expected["mask"]
    out += _far("mask box (y0, y1, x0, x1)", want["box"], mask["box"], BOX_TOLERANCE)
    if abs(mask["area"] - want["area"]) > AREA_TOLERANCE * want["area"]:
        out.append(f"mask area: {mask['area']} pixels, expected {want['area']}")
    out += _far("mask cover", want["cover"], mask["cover"], COVER_TOLERANCE)
    out += _far("thumbnail", expected["thumbnail"], found["thumbnail"], LEVEL_TOLERANCE, True)
    for name, crop in expected["crops"].items():
        got = found["crops"][name]
        out += _far(f"crop {name}", crop["cells"], got["cells"], LEVEL_TOLERANCE, True)
        out += _far(f"crop {name} contrast", crop["contrast"], got["contrast"], CONTRAST_TOLERANCE)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def look_of(tryon: TryOn, person: Any, garment: Path) -> dict[str, Any]:
    """The stored values of one try-on, or its refusal."""
    try:
        result = tryon.run(person, garment)
    except TryOnError as error:
        return {"error": type(error).__name__}
    category = result.category.value
    return {
        "category": category,
        "warnings": list(result.warnings),
        **measure(result.image, result.agnostic_mask, category),
    }


def all_looks(tryon: TryOn) -> dict[str, dict[str, Any]]:
    """Every sample pair's look, each person analysed once."""
    looks = {}
    for person in PEOPLE:
        try:
            prepared: Any = tryon.prepare_person(person)
        except TryOnError as error:
            refused = {"error": type(error).__name__}
            looks.update({pair_id(person, g): dict(refused) for g in GARMENTS})
            continue
        for garment in GARMENTS:
            looks[pair_id(person, garment)] = look_of(tryon, prepared, garment)
    return looks


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with one line per row of numbers, for readable diffs."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        items = [f"{pad} {json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "[\n" + ",\n".join(f"{pad} {json.dumps(row)}" for row in value) + f"\n{pad}]"
    return json.dumps(value)


@pytest.fixture(scope="module")
def looks(tryon: TryOn) -> dict[str, dict[str, Any]]:
    return all_looks(tryon)


@pytest.fixture(scope="module")
def expected(looks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if UPDATE:
        data = {
            "about": "Expected looks of the warp engine; see tests/test_expected_looks.py.",
            "photos": {f"{p.parent.name}/{p.name}": _digest(p) for p in PEOPLE + GARMENTS},
            "pairs": looks,
        }
        EXPECTED.write_text(dumps(data) + "\n")
        pytest.fail(
            f"TRYON_UPDATE_EXPECTED is set: rewrote {EXPECTED.name} from the current code. "
            "Review `git diff` of it, then rerun without the variable."
        )
    return dict(json.loads(EXPECTED.read_text()))


def test_the_expectations_are_of_these_photos(expected: dict[str, Any]) -> None:
    """A changed or added sample photo needs new expectations, not a look to blame."""
    found = {f"{p.parent.name}/{p.name}": _digest(p) for p in PEOPLE + GARMENTS}
    assert found == expected["photos"], "the sample photos changed: update the expectations"
    assert sorted(expected["pairs"]) == sorted(pair_id(p, g) for p, g in PAIRS)


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_the_look_is_as_expected(
    looks: dict[str, dict[str, Any]], expected: dict[str, Any], person: Path, garment: Path
) -> None:
    key = pair_id(person, garment)
    assert key in expected["pairs"], f"no expected look for {key}: update the expectations"
    found = differences(expected["pairs"][key], looks[key])
    if found:
        pytest.fail(f"{key} looks different:\n  " + "\n  ".join(found), pytrace=False)


def test_a_prepared_person_looks_as_the_photo_itself(
    tryon: TryOn, looks: dict[str, dict[str, Any]]
) -> None:
    """The expectations are made from each person prepared once; the photo given to
    ``run`` directly must look the same (here for the first pair of each person)."""
    for person in PEOPLE:
        key = pair_id(person, GARMENTS[0])
        assert look_of(tryon, person, GARMENTS[0]) == looks[key], key


def test_the_comparison_sees_a_changed_look(looks: dict[str, dict[str, Any]]) -> None:
    """The checker itself: a look two levels brighter, or a crop moved, is a difference;
    the same values are none."""
    key, look = next((k, v) for k, v in looks.items() if "error" not in v)
    assert differences(look, look) == []
    brighter = json.loads(json.dumps(look))
    brighter["thumbnail"] = (np.asarray(look["thumbnail"]) + 2.5).tolist()
    assert any(d.startswith("thumbnail") for d in differences(look, brighter)), key
    moved = json.loads(json.dumps(look))
    moved["mask"]["box"][0] += 3
    assert any(d.startswith("mask box") for d in differences(look, moved)), key
    refused = {"error": "BodyNotVisibleError"}
    assert differences(refused, refused) == []
    assert differences(refused, look) != []
