"""What a flat garment is, from its outline: tops, dresses, trousers and one-pieces with
legs, and the refusal of a garment asked for as a category it does not fit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tryon.errors import GarmentNotFoundError
from tryon.garment.analyze import check_category
from tryon.garment.landmarks import GarmentKind, garment_kind, outline
from tryon.types import Category, Mask

SIZE = 400


def _draw(*polygons: list[tuple[int, int]]) -> Mask:
    canvas = np.zeros((SIZE, SIZE), np.uint8)
    for polygon in polygons:
        cv2.fillPoly(canvas, [np.array(polygon, np.int32)], 255)
    return canvas > 0


def _trousers(top: int = 60) -> list[tuple[int, int]]:
    # Waistband from x 130 to 270 at ``top``, legs down to 380, crotch at 170.
    return [(130, top), (270, top), (285, 380), (215, 380), (200, 170), (185, 380), (115, 380)]


T_SHIRT = _draw(
    [
        (150, 60),
        (250, 60),
        (330, 110),
        (300, 170),
        (270, 150),
        (270, 330),
        (130, 330),
        (130, 150),
        (100, 170),
        (70, 110),
    ]
)
DRESS = _draw([(160, 20), (240, 20), (250, 120), (300, 390), (100, 390), (150, 120)])
TROUSERS = _draw(_trousers())
SHORTS = _draw([(130, 150), (270, 150), (290, 300), (215, 300), (200, 230), (185, 300), (110, 300)])
# A bib between straps above the trousers' waist.
DUNGAREES = _draw(_trousers(), [(160, 10), (240, 10), (240, 60), (160, 60)])
# A bodice with sleeves spread out, above trouser legs.
JUMPSUIT = _draw(
    _trousers(150),
    [
        (160, 10),
        (240, 10),
        (340, 60),
        (320, 100),
        (270, 80),
        (270, 160),
        (130, 160),
        (130, 80),
        (80, 100),
        (60, 60),
    ],
)

# Long sleeves lying along the bodice, wider together than the seat, above trouser legs.
LONG_SLEEVED_JUMPSUIT = _draw(
    [(125, 190), (275, 190), (290, 380), (215, 380), (200, 240), (185, 380), (110, 380)],
    [
        (130, 20),
        (270, 20),
        (300, 40),
        (300, 200),
        (270, 200),
        (270, 195),
        (130, 195),
        (130, 200),
        (100, 200),
        (100, 40),
    ],
)


@pytest.mark.parametrize(
    ("mask", "kind"),
    [
        (T_SHIRT, GarmentKind.TOP),
        (DRESS, GarmentKind.DRESS),
        (TROUSERS, GarmentKind.TROUSERS),
        (SHORTS, GarmentKind.TROUSERS),
        (DUNGAREES, GarmentKind.LEGGED_ONE_PIECE),
        (JUMPSUIT, GarmentKind.LEGGED_ONE_PIECE),
        (LONG_SLEEVED_JUMPSUIT, GarmentKind.LEGGED_ONE_PIECE),
    ],
    ids=["t-shirt", "dress", "trousers", "shorts", "dungarees", "jumpsuit", "long-sleeved"],
)
def test_the_outline_tells_the_kind_of_garment(mask: Mask, kind: GarmentKind) -> None:
    assert garment_kind(mask, outline(mask)) is kind


@pytest.mark.parametrize(
    ("kind", "category", "ask"),
    [
        (GarmentKind.TOP, Category.OVERALL, "upper"),
        (GarmentKind.TOP, Category.LOWER, "upper"),
        (GarmentKind.DRESS, Category.UPPER, "overall"),
        (GarmentKind.TROUSERS, Category.UPPER, "lower"),
        (GarmentKind.TROUSERS, Category.OVERALL, "lower"),
        (GarmentKind.LEGGED_ONE_PIECE, Category.LOWER, "overall"),
        (GarmentKind.LEGGED_ONE_PIECE, Category.UPPER, "overall"),
    ],
)
def test_a_garment_asked_for_as_another_category_is_refused(
    kind: GarmentKind, category: Category, ask: str
) -> None:
    with pytest.raises(GarmentNotFoundError) as refused:
        check_category(kind, category)
    message = str(refused.value)
    assert f"cannot be worn as {category.value}" in message
    assert message.endswith(f"ask for the category {ask}, or auto")


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        (GarmentKind.TOP, Category.UPPER),
        (GarmentKind.DRESS, Category.OVERALL),
        (GarmentKind.TROUSERS, Category.LOWER),
        (GarmentKind.LEGGED_ONE_PIECE, Category.OVERALL),
    ],
)
def test_a_garment_asked_for_as_what_it_is_is_accepted(
    kind: GarmentKind, category: Category
) -> None:
    check_category(kind, category)
