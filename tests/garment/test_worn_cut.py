"""The worn-garment cut: pure helpers on known values, and the cut of real photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import PHOTOS
from tryon import TryOn
from tryon.body.frame import body_frame
from tryon.garment.worn_cut import (
    _neck_zone,
    cut_worn_top,
    extend_below,
    flanked,
    mirror_about,
    reflect_fill,
    trim_rim,
)
from tryon.imageio import load_image
from tryon.ops import masks as M
from tryon.ops.color import rgb_to_lab
from tryon.types import Joint

PEOPLE = PHOTOS / "people"


def test_reflect_fill_mirrors_across_the_hole_edge() -> None:
    image = np.zeros((1, 6, 3), np.uint8)
    image[0, :, 0] = [10, 20, 30, 0, 0, 0]
    known = np.array([[True, True, True, False, False, False]])
    hole = ~known
    out = reflect_fill(image, known, hole)
    # Distance 1, 2 past the edge (x=2) take x=1, x=0; distance 3 has no mirror: edge.
    assert out[0, :, 0].tolist() == [10, 20, 30, 20, 10, 30]
    assert np.array_equal(out[known], image[known])


def test_reflect_fill_without_known_pixels_changes_nothing() -> None:
    image = np.full((4, 4, 3), 7, np.uint8)
    out = reflect_fill(image, np.zeros((4, 4), bool), np.ones((4, 4), bool))
    assert np.array_equal(out, image)


def test_mirror_about_a_vertical_line() -> None:
    mask = np.zeros((5, 9), bool)
    mask[1:3, 1] = True
    flipped = mirror_about(mask, (4.0, 0.0), (0.0, 1.0))
    assert np.flatnonzero(flipped.any(0)).tolist() == [7]
    assert np.array_equal(mirror_about(flipped, (4.0, 0.0), (0.0, 1.0)), mask)


def test_flanked_needs_garment_on_both_sides_within_reach() -> None:
    garment = np.zeros((2, 10), bool)
    garment[0, [1, 6]] = True
    garment[1, 1] = True
    out = flanked(garment, 5)
    assert out[0, 2:6].all() and not out[0, 7:].any()
    assert not out[1, 2:].any()


def test_extend_below_continues_the_bottom_columns_only_from_the_bottom_band() -> None:
    image = np.zeros((20, 4, 3), np.uint8)
    image[:10] = 255  # a "face" high up must never be copied down
    image[10:, :, 1] = np.arange(10, 20, dtype=np.uint8)[:, None]
    mask = np.zeros((20, 4), bool)
    mask[12:, 1:3] = True
    grown, grown_mask = extend_below(image, mask, 29.0)
    assert grown.shape == (31, 4, 3) and grown_mask.shape == (31, 4)
    assert grown_mask[20:, 1:3].all() and not grown_mask[20:, [0, 3]].any()
    assert (grown[20:] != 255).all()
    assert extend_below(image, mask, 10.0)[0] is image


@pytest.fixture(scope="module")
def cuts(tryon: TryOn) -> dict[str, tuple[np.ndarray, object, object]]:
    body = tryon.engine.analyzers.body  # type: ignore[attr-defined]
    out = {}
    for name in ("p2_studio", "p1_studio", "p2_selfie"):
        image = load_image(PEOPLE / f"{name}.jpg")
        analysis = body.analyze(image, role="garment photo")
        out[name] = (image, analysis, cut_worn_top(image, analysis))
    return out


def test_open_jacket_cut_has_no_jeans_face_or_hands_and_is_closed(cuts: dict) -> None:
    image, body, cut = cuts["p2_studio"]
    lab = rgb_to_lab(image)
    jeans = (lab[..., 2] < -6) & (lab[..., 0] > 40) & body.person_mask
    frame = body_frame(body.keypoints)
    below_hips = M.half_plane(
        jeans.shape, frame.hip_mid + frame.down * 0.1 * frame.torso_length, frame.down
    )
    assert (cut.visible & jeans).sum() < 50
    assert not (cut.mask & below_hips & jeans).any()
    assert not (cut.visible & (body.face_mask | body.hands_mask)).any()
    # The white top inside the open front is found, and covered with denim.
    assert cut.inner.sum() > 0.1 * cut.visible.sum()
    white = (lab[..., 0] > 80) & (np.hypot(lab[..., 1], lab[..., 2]) < 8)
    assert (cut.visible & white).sum() < 0.01 * cut.visible.sum()
    filled = rgb_to_lab(cut.image[cut.inner])
    assert np.median(filled[:, 0]) < 40
    kp = body.keypoints
    assert cut.mask[
        int(kp.joint(Joint.NECK)[1] + 0.5 * frame.torso_length), int(kp.joint(Joint.NECK)[0])
    ]


@pytest.mark.parametrize("name", ["p1_studio", "p2_selfie"])
def test_beige_hoodie_is_cut_whole_without_neck_skin(cuts: dict, name: str) -> None:
    image, body, cut = cuts[name]
    kp = body.keypoints
    core = (
        M.draw_polygon(
            cut.mask.shape,
            [kp.joint(j) for j in (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.L_HIP, Joint.R_HIP)],
        )
        & body.person_mask
        & ~body.hands_mask
        & ~body.head_mask
    )
    # The old colour-only skin test cut most of a skin-coloured hoodie away.
    assert (cut.visible & core).sum() > 0.95 * core.sum()
    neck = _neck_zone(body, cut.mask.shape) & ~body.head_mask
    reddish = rgb_to_lab(image)[..., 1] > 8
    assert (cut.visible & neck & reddish).sum() < 0.05 * (neck & reddish).sum() + 100
    assert not (cut.visible & body.face_mask).any()


@pytest.mark.parametrize("name", ["p1_studio", "p2_selfie"])
def test_the_back_of_the_neckline_is_completed_in_the_garments_shade(cuts: dict, name: str) -> None:
    _, body, cut = cuts[name]
    kp = body.keypoints
    neck = kp.joint(Joint.NECK)
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    column = cut.mask[:, int(neck[0])]
    # Under the wearer's chin the garment now starts at the back of the neckline: no
    # higher than a collar's top (17 % of the shoulder width above the shoulder line),
    # and not down at the front of the neckline, which left a notch the whole neck deep.
    top = int(np.argmax(column))
    assert neck[1] - 0.17 * sw - 2 <= top <= neck[1]
    back = cut.mask & ~cut.visible & _neck_zone(body, cut.mask.shape)
    assert back.sum() > 0.01 * sw * sw
    assert not (back & body.face_mask).any()
    # Its inside is darker than the garment around it, and of the garment's hue.
    inside = rgb_to_lab(cut.image[back])
    outside = rgb_to_lab(cut.image[cut.visible & M.dilate(back, 0.1 * sw) & ~back])
    assert np.median(inside[:, 0]) < np.median(outside[:, 0]) - 5
    assert np.abs(np.median(inside[:, 1:], 0) - np.median(outside[:, 1:], 0)).max() < 4


def test_trim_rim_drops_a_backdrop_sliver_along_the_edge_only() -> None:
    image = np.full((60, 60, 3), 240, np.uint8)  # a white backdrop
    image[20:, 5:55] = (120, 100, 90)  # a brown garment from row 20 down
    mask = np.zeros((60, 60), bool)
    mask[14:, 5:55] = True  # the cut took 6 rows of backdrop along its top
    trimmed = mask
    for _ in range(3):
        trimmed = trim_rim(image, trimmed, 3)
    assert not (trimmed & (np.arange(60) < 20)[:, None]).any()
    assert np.array_equal(trimmed[20:], mask[20:])  # the garment keeps every pixel


def test_worn_tops_have_no_backdrop_sliver_along_their_shoulders(cuts: dict) -> None:
    image, _, cut = cuts["p2_selfie"]
    lab = rgb_to_lab(image)
    # The wall behind the selfie is light and nearly grey; the hoodie is beige.
    wall = (lab[..., 0] > 85) & (np.hypot(lab[..., 1], lab[..., 2]) < 6)
    assert (cut.visible & wall).sum() < 0.001 * cut.visible.sum()
