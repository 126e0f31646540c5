"""Outfits: a top and a bottom (or a dress alone) put on in one try-on."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from tests.photos import garment, person
from tryon import TryOn
from tryon.imageio import load_image
from tryon.ops.working_size import WORKING_PIXELS
from tryon.pipeline import OutfitError, OutfitResult, dressing_order
from tryon.types import Category, GarmentAnalysis

PERSON = person("p1_studio.jpg")


@pytest.fixture(scope="module")
def shirt(tryon: TryOn) -> GarmentAnalysis:
    return tryon.analyze_garment(garment("shirts_1_front.jpg"))


@pytest.fixture(scope="module")
def trousers(tryon: TryOn) -> GarmentAnalysis:
    return tryon.analyze_garment(garment("pants_1_front.jpg"))


@pytest.fixture(scope="module")
def outfit(tryon: TryOn, shirt: GarmentAnalysis, trousers: GarmentAnalysis) -> OutfitResult:
    # Given top first: the bottom is still put on first.
    return tryon.run_outfit(PERSON, [shirt, trousers])


def changed(result_image: np.ndarray, photo: np.ndarray) -> np.ndarray:
    return np.any(result_image != photo, axis=2)


def test_the_bottom_goes_on_first_and_the_top_over_it(outfit: OutfitResult) -> None:
    lower, upper = outfit.pieces
    assert (lower.category, upper.category) == (Category.LOWER, Category.UPPER)
    assert outfit.category is Category.UPPER
    photo = load_image(PERSON)
    assert np.array_equal(outfit.person, photo)
    assert np.array_equal(upper.person, lower.image)  # the top was put on the new bottom
    assert np.array_equal(outfit.image, upper.image)
    # Both garments are there: each changed most of its own area.
    assert changed(outfit.image, photo)[lower.agnostic_mask & ~upper.agnostic_mask].mean() > 0.5
    assert changed(outfit.image, photo)[upper.agnostic_mask].mean() > 0.5
    # Where the top's area meets the trousers' (the waistband), the top lies over them.
    overlap = lower.agnostic_mask & upper.agnostic_mask
    assert overlap.sum() > 1000
    assert changed(outfit.image, lower.image)[overlap].mean() > 0.3


def test_nothing_outside_the_union_of_the_masks_changes(outfit: OutfitResult) -> None:
    lower, upper = outfit.pieces
    union = lower.agnostic_mask | upper.agnostic_mask
    assert np.array_equal(outfit.agnostic_mask, union)
    assert union.sum() > max(lower.agnostic_mask.sum(), upper.agnostic_mask.sum())
    photo = load_image(PERSON)
    assert np.array_equal(outfit.image[~union], photo[~union])


def test_timings_add_up_and_the_body_is_analysed_once(outfit: OutfitResult) -> None:
    lower, upper = outfit.pieces
    assert "body" not in lower.timings and "body" not in upper.timings
    assert outfit.timings["body"] > 0
    assert outfit.timings["warp"] == pytest.approx(lower.timings["warp"] + upper.timings["warp"])
    assert outfit.timings["total"] >= sum(
        v for k, v in outfit.timings.items() if k in ("garment", "read", "body", "warp")
    )


def test_a_prepared_person_gives_the_same_outfit(
    tryon: TryOn, shirt: GarmentAnalysis, trousers: GarmentAnalysis, outfit: OutfitResult
) -> None:
    prepared = tryon.prepare_person(PERSON)
    again = tryon.run_outfit(prepared, [trousers, shirt], ["lower", "auto"])
    assert np.array_equal(again.image, outfit.image)
    assert list(prepared.sides) == [Category.LOWER]  # kept for the next outfit
    single = tryon.run(prepared, trousers)
    assert np.array_equal(single.image, outfit.pieces[0].image)


def test_a_single_garment_is_the_plain_try_on(tryon: TryOn, shirt: GarmentAnalysis) -> None:
    one = tryon.run_outfit(PERSON, [shirt])
    plain = tryon.run(PERSON, shirt)
    assert np.array_equal(one.image, plain.image)
    assert np.array_equal(one.agnostic_mask, plain.agnostic_mask)
    assert len(one.pieces) == 1


def test_a_large_photo_outfit_is_put_back_once_at_full_size(
    tryon: TryOn, shirt: GarmentAnalysis, trousers: GarmentAnalysis
) -> None:
    photo = load_image(PERSON)
    big = cv2.resize(photo, (1536, 2752), interpolation=cv2.INTER_CUBIC)
    assert big.shape[0] * big.shape[1] > WORKING_PIXELS
    result = tryon.run_outfit(big, [shirt, trousers])
    assert result.image.shape == big.shape and result.agnostic_mask.shape == big.shape[:2]
    assert np.array_equal(result.image[~result.agnostic_mask], big[~result.agnostic_mask])
    assert changed(result.image, big).mean() > 0.1
    assert "restore" in result.timings
    lower, _ = result.pieces  # at the working size
    assert lower.image.shape[0] * lower.image.shape[1] <= WORKING_PIXELS


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ([Category.UPPER, Category.UPPER], "2 garments are tops (upper)"),
        ([Category.LOWER, Category.LOWER], "2 garments are bottoms (lower)"),
        ([Category.OVERALL, Category.UPPER], "a dress or other one-piece (overall) is worn alone"),
        ([Category.LOWER, Category.OVERALL], "a dress or other one-piece (overall) is worn alone"),
    ],
)
def test_garments_that_do_not_go_together_are_refused(
    categories: list[Category], message: str
) -> None:
    with pytest.raises(OutfitError, match=re.escape(message)):
        dressing_order(categories)


def test_dressing_order() -> None:
    assert dressing_order([Category.UPPER, Category.LOWER]) == [1, 0]
    assert dressing_order([Category.LOWER, Category.UPPER]) == [0, 1]
    assert dressing_order([Category.OVERALL]) == [0]


def test_refusals_come_before_any_work(
    tryon: TryOn, shirt: GarmentAnalysis, trousers: GarmentAnalysis
) -> None:
    with pytest.raises(OutfitError, match=r"one or two garments .* got 3"):
        tryon.run_outfit(PERSON, [shirt, trousers, shirt])
    with pytest.raises(OutfitError, match=r"one or two garments .* got 0"):
        tryon.run_outfit(PERSON, [])
    with pytest.raises(OutfitError, match="1 categories for 2 garments"):
        tryon.run_outfit(PERSON, [shirt, trousers], ["upper"])
    # Auto categories are checked once the garments are analysed: two tops.
    with pytest.raises(OutfitError, match="2 garments are tops"):
        tryon.run_outfit(PERSON, [shirt, garment("shirts_2_front.jpg")])
