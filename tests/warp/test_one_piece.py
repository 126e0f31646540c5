"""One-pieces with legs: a jumpsuit is fitted as a top over trousers; dungarees (a bib
and straps, worn over a top) are refused by the warp with a clear reason.

The photos are made from the sample garments: the short-sleeved shirt's upper part
sewn onto the jeans' waistband (a jumpsuit), or a bib of the jeans' denim with two
straps (dungarees), on the photos' own light backdrop.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.garment.test_kind import DUNGAREES, JUMPSUIT, LONG_SLEEVED_JUMPSUIT
from tests.photos import PERSON, SAMPLES
from tryon import Category, TryOn
from tryon.errors import GarmentNotFoundError
from tryon.garment.landmarks import one_piece_landmarks, outline
from tryon.garment.segment import segment_product
from tryon.imageio import load_image
from tryon.types import Image, Joint, Piece

BACKDROP = (236, 236, 234)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _jeans() -> tuple[Image, np.ndarray]:
    image = load_image(SAMPLES / "garments" / "pants_1_front.jpg")
    return image, segment_product(image)


def _paste(canvas: Image, image: Image, mask: np.ndarray, dx: int, dy: int) -> None:
    ys, xs = np.nonzero(mask)
    canvas[ys + dy, xs + dx] = image[ys, xs]


def jumpsuit_photo() -> Image:
    """The shirt's upper 85 % at the width of the jeans' waistband, sewn onto it."""
    shirt = load_image(SAMPLES / "garments" / "shirts_2_front.jpg")
    shirt_mask = segment_product(shirt)
    jeans, jeans_mask = _jeans()
    _, sy0, _, sy1 = _box(shirt_mask)
    jx0, jy0, jx1, jy1 = _box(jeans_mask)
    cut = int(sy0 + 0.85 * (sy1 - sy0))
    hem = np.flatnonzero(shirt_mask[cut])
    waist = np.flatnonzero(jeans_mask[jy0 + 5])
    scale = (waist[-1] - waist[0]) / (hem[-1] - hem[0])
    shirt = cv2.resize(shirt, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.resize(shirt_mask.astype(np.uint8), None, fx=scale, fy=scale) > 0
    small[int(cut * scale) :] = False
    top = _box(small)
    height = (top[3] - top[1]) + (jy1 - jy0) + 80
    canvas = np.full((height, 1024, 3), BACKDROP, np.uint8)
    _paste(canvas, shirt, small, 512 - (top[0] + top[2]) // 2, 40 - top[1])
    _paste(canvas, jeans, jeans_mask, 512 - (jx0 + jx1) // 2, 40 + top[3] - top[1] - 8 - jy0)
    return canvas


def dungarees_photo() -> Image:
    """The jeans with a bib of their own denim and two straps above the waistband."""
    jeans, jeans_mask = _jeans()
    jx0, jy0, jx1, jy1 = _box(jeans_mask)
    width, rise = jx1 - jx0, int(0.34 * (jy1 - jy0))
    canvas = np.full((rise + (jy1 - jy0) + 80, 1024, 3), BACKDROP, np.uint8)
    _paste(canvas, jeans, jeans_mask, 512 - (jx0 + jx1) // 2, 40 + rise - jy0)
    denim = jeans[jy0 + 200 : jy0 + 200 + rise, jx0 + 60 : jx0 + 60 + int(0.3 * width)]
    bib = np.concatenate([denim, denim[:, ::-1]], 1)
    bib[: rise // 3, int(0.1 * width) : -int(0.1 * width)] = BACKDROP  # between the straps
    canvas[40 : 40 + rise, 512 - bib.shape[1] // 2 : 512 - bib.shape[1] // 2 + bib.shape[1]] = bib
    return canvas


def test_a_drawn_jumpsuit_is_a_top_over_trousers() -> None:
    landmarks, pieces, limbs = one_piece_landmarks(JUMPSUIT, outline(JUMPSUIT))
    assert landmarks.shoulder_r and landmarks.shoulder_l and landmarks.crotch
    assert landmarks.waist_r and landmarks.hem_r
    # The top's hem and the trousers' waistband meet at the waist, above the crotch.
    assert landmarks.hem_r[1] < landmarks.waist_r[1] + 3 < landmarks.crotch[1]
    assert {Piece.LEG_R, Piece.LEG_L} <= set(limbs)
    waist = int(landmarks.waist_r[1])
    assert set(np.unique(pieces[:waist])) <= {Piece.NONE, Piece.TORSO, *limbs}
    assert set(np.unique(pieces[waist + 2 :])) == {Piece.NONE, Piece.LEG_R, Piece.LEG_L}


def test_a_drawn_jumpsuit_with_sleeves_along_its_body_has_shoulders_and_legs() -> None:
    shape = outline(LONG_SLEEVED_JUMPSUIT)
    landmarks, _, limbs = one_piece_landmarks(LONG_SLEEVED_JUMPSUIT, shape)
    assert landmarks.shoulder_r and landmarks.shoulder_l and landmarks.crotch
    assert {Piece.LEG_R, Piece.LEG_L} <= set(limbs)


def test_drawn_dungarees_have_legs_and_no_shoulders() -> None:
    landmarks, _, limbs = one_piece_landmarks(DUNGAREES, outline(DUNGAREES))
    assert landmarks.crotch and landmarks.shoulder_r is None
    assert set(limbs) == {Piece.LEG_R, Piece.LEG_L}


@pytest.fixture(scope="module")
def jumpsuit(tryon: TryOn):  # type: ignore[no-untyped-def]
    return tryon.run(PERSON, jumpsuit_photo())


def test_a_jumpsuit_is_worn_from_the_shoulders_to_the_shoes(jumpsuit) -> None:  # type: ignore[no-untyped-def]
    r = jumpsuit
    assert r.category is Category.OVERALL
    kp, lm, h = r.body.keypoints, r.warp_details.warped.landmarks, r.image.shape[0]
    tol = 0.04 * h
    for point, joint in ((lm.shoulder_r, Joint.R_SHOULDER), (lm.shoulder_l, Joint.L_SHOULDER)):
        assert np.linalg.norm(np.subtract(point, kp.joint(joint))) < tol, joint
    for point, joint in ((lm.leg_hem_r, Joint.R_ANKLE), (lm.leg_hem_l, Joint.L_ANKLE)):
        assert np.linalg.norm(np.subtract(point, kp.joint(joint))) < 2 * tol, joint
    # The top's hem is at the trousers' waistband: one garment, no gap between them.
    hem_y = (lm.hem_r[1] + lm.hem_l[1]) / 2
    waist_y = (lm.waist_r[1] + lm.waist_l[1]) / 2
    assert abs(hem_y - waist_y) < tol
    warped = r.warp_details.warped
    covered = warped.alpha > 0.5
    cx = int(kp.joint(Joint.NECK)[0])
    column = covered[int(kp.joint(Joint.NECK)[1] + tol) : int(waist_y + 2 * tol), cx]
    assert column.mean() > 0.97
    drawn = set(np.unique(warped.pieces[covered]))
    assert {Piece.TORSO, Piece.LEG_R, Piece.LEG_L} <= drawn


def test_a_jumpsuit_changes_nothing_outside_the_agnostic_mask(jumpsuit) -> None:  # type: ignore[no-untyped-def]
    r = jumpsuit
    outside = ~r.agnostic_mask
    assert np.array_equal(r.image[outside], r.person[outside])


def test_dungarees_are_refused_by_the_warp_with_what_to_use(tryon: TryOn) -> None:
    with pytest.raises(GarmentNotFoundError) as refused:
        tryon.run(PERSON, dungarees_photo())
    message = str(refused.value)
    assert "no sleeves" in message and "worn over a top" in message
    assert "--engine catvton or hybrid" in message
