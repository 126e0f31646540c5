"""The warp engine end to end on the real photos: what a caller relies on."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from tests.photos import FULL_BODY, GARMENT, GARMENTS, PERSON
from tests.photos import garment as garment_photo
from tests.photos import person as person_photo
from tryon import Category, TryOn, TryOnError
from tryon.compose.arms import find_bare_arms
from tryon.engines import WarpEngine
from tryon.engines.person import other_people_warnings
from tryon.imageio import load_image
from tryon.types import BodyAnalysis, Joint, Piece


def test_category_is_inferred_from_the_garment(warp_results) -> None:
    for (_, garment), r in warp_results.items():
        expected = Category.LOWER if garment.startswith("pants") else Category.UPPER
        assert r.category is expected, garment


def test_is_deterministic(tryon: TryOn) -> None:
    a = tryon.run(FULL_BODY[0], GARMENTS[0])
    b = tryon.run(FULL_BODY[0], GARMENTS[0])
    assert np.array_equal(a.image, b.image)


def test_a_prepared_person_gives_the_same_try_on_for_each_garment(tryon: TryOn) -> None:
    """The body, agnostic mask and scene made once per person and category give
    exactly the try-ons made from the photo itself, in any order of garments."""
    prepared = tryon.prepare_person(PERSON)
    for garment_path in (GARMENT, garment_photo("pants_1_front.jpg"), GARMENT):
        analysis = tryon.analyze_garment(garment_path)
        reused = tryon.run(prepared, analysis)
        fresh = tryon.run(PERSON, analysis)
        assert np.array_equal(reused.image, fresh.image)
        assert np.array_equal(reused.agnostic_mask, fresh.agnostic_mask)
        assert "body" not in reused.timings
    assert set(prepared.sides) == {Category.UPPER, Category.LOWER}


def test_a_prepared_person_is_refused_by_engines_that_cannot_reuse_it() -> None:
    class Other:
        name = "other"

    with pytest.raises(TryOnError, match="does not reuse person analyses"):
        TryOn(engine=Other()).prepare_person(PERSON)  # type: ignore[arg-type]


def test_an_engine_closes_its_own_threads_and_leaves_shared_analysers_open(tryon: TryOn) -> None:
    shared = tryon.engine.analyzers  # type: ignore[attr-defined]
    with WarpEngine(analyzers=shared) as engine:
        garment = engine.analyze_garment(load_image(GARMENT), None)
        before = engine.dress(load_image(PERSON), garment, None)
    with pytest.raises(RuntimeError, match="shutdown"):
        engine.dress(load_image(PERSON), before.garment, None)
    # The analysers belong to the session's engine: they still work.
    assert shared.body.analyze(load_image(PERSON)).keypoints.image_size == before.image.shape[:2]


def test_the_engine_changes_no_process_setting() -> None:
    """Process-wide settings are the entry point's (``tryon.configure_process``)."""
    probe = (
        "import cv2; cv2.setNumThreads(3); from tryon import TryOn; "
        "TryOn(engine='warp').close(); print(cv2.getNumThreads())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["3"]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, []),
        (1, ["1 other person is in the photo; dressed the most prominent person"]),
        (2, ["2 other people are in the photo; dressed the most prominent person"]),
    ],
)
def test_other_people_warning_agrees_with_the_count(count: int, expected: list[str]) -> None:
    body = cast(BodyAnalysis, SimpleNamespace(other_people=count))
    assert other_people_warnings(body) == expected


SHORT_SLEEVED = "shirts_2_front.jpg"


@pytest.mark.parametrize("person", ["p1_studio", "p2_studio"])
def test_short_sleeves_hang_on_the_arms_not_across_the_chest(tryon: TryOn, person: str) -> None:
    # A short sleeve that held its long seam while its axis swung down folded over the
    # chest; turned as a whole it stays outside the middle half between the shoulders.
    result = tryon.run(person_photo(f"{person}.jpg"), garment_photo(SHORT_SLEEVED))
    kp = result.body.keypoints
    x0, x1 = sorted([kp.joint(Joint.R_SHOULDER)[0], kp.joint(Joint.L_SHOULDER)[0]])
    margin = 0.25 * (x1 - x0)
    pieces = result.warp_details.warped.pieces
    for piece in (Piece.SLEEVE_R, Piece.SLEEVE_L):
        xs = np.nonzero(pieces == piece)[1]
        assert len(xs) > 1000
        assert np.mean((xs > x0 + margin) & (xs < x1 - margin)) < 0.005


def test_painted_skin_is_said_and_a_long_sleeve_paints_none(tryon: TryOn) -> None:
    person = person_photo("p2_studio.jpg")
    short = tryon.run(person, garment_photo(SHORT_SLEEVED))
    painted = [w for w in short.warnings if w.startswith("painted skin")]
    assert len(painted) == 1
    assert "the right arm and the left arm" in painted[0]
    long = tryon.run(person, garment_photo("shirts_1_front.jpg"))
    assert not [w for w in long.warnings if w.startswith("painted skin")]


def test_no_arm_is_painted_under_a_long_sleeve_when_the_forearms_are_out_of_the_photo(
    tryon: TryOn,
) -> None:
    # The selfie's hands are below the frame: a jacket's sleeves run out of it too, and
    # there is no bare forearm to paint (a tapering arm drawn under the sleeve from its
    # middle showed beside it, at the photo's edge, as a strip of skin).
    result = tryon.run(person_photo("p2_selfie.jpg"), garment_photo("jackets_1_front.jpg"))
    assert not [w for w in result.warnings if w.startswith("painted skin")]
    bare = find_bare_arms(result.body, result.warp_details.warped)
    assert not bare.limbs.any()
