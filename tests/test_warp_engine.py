"""The warp engine end to end on the real photos: invariants a shopper relies on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.conftest import FULL_BODY, GARMENTS
from tests.photos import GARMENT, PERSON
from tests.photos import garment as garment_photo
from tryon import Category, TryOn
from tryon.imageio import load_image
from tryon.ops import masks as M
from tryon.ops.color import delta_e76, rgb_to_lab
from tryon.types import Joint, TryOnResult

PAIRS = list(itertools.product(FULL_BODY, GARMENTS))


@pytest.fixture(scope="module")
def results(tryon: TryOn) -> dict[tuple[str, str], TryOnResult]:
    garments = {g.name: tryon.analyze_garment(g) for g in GARMENTS}
    return {(p.name, g.name): tryon.run(p, garments[g.name]) for p, g in PAIRS}


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_output_keeps_size_and_every_pixel_outside_the_mask(results, person, garment) -> None:
    r = results[(person.name, garment.name)]
    original = load_image(person)
    assert r.image.shape == original.shape and r.image.dtype == np.uint8
    assert r.agnostic_mask.shape == original.shape[:2]
    outside = ~r.agnostic_mask
    assert np.array_equal(r.image[outside], original[outside])
    # And the try-on did something: a good share of the mask changed.
    changed = np.any(r.image != original, axis=-1) & r.agnostic_mask
    assert changed.sum() > 0.3 * r.agnostic_mask.sum()


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_landmarks_land_on_the_body(results, person, garment) -> None:
    r = results[(person.name, garment.name)]
    kp, lm, h = r.body.keypoints, r.warp_details.warped.landmarks, r.image.shape[0]
    tol = 0.04 * h
    if r.category is Category.LOWER:
        pairs = [(lm.leg_hem_r, Joint.R_ANKLE), (lm.leg_hem_l, Joint.L_ANKLE)]
        for point, joint in pairs:
            assert point is not None
            assert np.linalg.norm(np.subtract(point, kp.joint(joint))) < 2 * tol, joint
        waist_y = (lm.waist_r[1] + lm.waist_l[1]) / 2
        hip_y = (kp.joint(Joint.R_HIP)[1] + kp.joint(Joint.L_HIP)[1]) / 2
        assert abs(waist_y - hip_y) < 2.5 * tol
        return
    for point, joint in ((lm.shoulder_r, Joint.R_SHOULDER), (lm.shoulder_l, Joint.L_SHOULDER)):
        assert np.linalg.norm(np.subtract(point, kp.joint(joint))) < tol, joint
    for point, joint in ((lm.hem_r, Joint.R_HIP), (lm.hem_l, Joint.L_HIP)):
        assert abs(point[1] - kp.joint(joint)[1]) < tol, joint


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_garment_covers_the_torso_or_legs(results, person, garment) -> None:
    r = results[(person.name, garment.name)]
    kp, shape = r.body.keypoints, r.agnostic_mask.shape
    if r.category is Category.LOWER:
        region = np.zeros(shape, bool)
        for hip, knee, ankle in (
            (Joint.R_HIP, Joint.R_KNEE, Joint.R_ANKLE),
            (Joint.L_HIP, Joint.L_KNEE, Joint.L_ANKLE),
        ):
            region |= M.draw_stroke(shape, [kp.joint(hip), kp.joint(knee), kp.joint(ankle)], 2)
    else:
        region = M.draw_polygon(
            shape,
            [kp.joint(j) for j in (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.L_HIP, Joint.R_HIP)],
        )
    region &= ~(r.body.hands_mask | r.body.head_mask)
    coverage = (r.warp_details.warped.alpha[region] > 0.5).mean()
    assert coverage >= 0.85, f"garment covers {coverage:.0%}"


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_garment_colour_is_kept(results, person, garment) -> None:
    r = results[(person.name, garment.name)]
    shown = r.warp_details.warped.alpha > 0.99
    shown &= r.agnostic_mask & (r.image != r.person).any(-1)
    shading = r.warp_details.shading[shown][:, None]
    # Undo the shading in linear light, then compare mean colours.
    linear = (r.image[shown].astype(np.float32) / 255) ** 2.2 / np.maximum(shading, 1e-3)
    unshaded = np.clip(linear, 0, 1) ** (1 / 2.2)
    result_lab = rgb_to_lab(unshaded.reshape(-1, 1, 3)).reshape(-1, 3).mean(0)
    photo_lab = rgb_to_lab(r.garment.image[r.garment.mask]).mean(0)
    assert delta_e76(result_lab, photo_lab) <= 6.0


def test_category_is_inferred_from_the_garment(results) -> None:
    for (_, garment), r in results.items():
        expected = Category.LOWER if garment.startswith("pants") else Category.UPPER
        assert r.category is expected, garment


def test_is_deterministic(tryon: TryOn) -> None:
    a = tryon.run(FULL_BODY[0], GARMENTS[0])
    b = tryon.run(FULL_BODY[0], GARMENTS[0])
    assert np.array_equal(a.image, b.image)


def test_upper_mask_spares_head_hands_and_trousers(results) -> None:
    for r in results.values():
        if r.category is not Category.UPPER:
            continue
        assert not (r.agnostic_mask & r.body.face_mask).any()
        assert not (r.agnostic_mask & r.body.hands_mask).any()
        knees_y = min(
            r.body.keypoints.joint(Joint.R_KNEE)[1], r.body.keypoints.joint(Joint.L_KNEE)[1]
        )
        assert not r.agnostic_mask[int(knees_y) :].any()


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

    with pytest.raises(ValueError, match="does not reuse person analyses"):
        TryOn(engine=Other()).prepare_person(PERSON)  # type: ignore[arg-type]
