"""Telling the old garment from the clothes and skin next to it, on the real photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import FULL_BODY, PHOTOS
from tryon import Category, TryOn
from tryon.body.agnostic import agnostic_mask
from tryon.body.clothing import find_old_garment
from tryon.imageio import load_image
from tryon.ops import masks as M
from tryon.ops.color import rgb_to_lab
from tryon.types import Joint


@pytest.mark.parametrize("person", FULL_BODY, ids=lambda p: p.stem)
def test_trousers_inside_a_tops_mask_are_not_the_old_top(tryon: TryOn, person) -> None:
    """The agnostic mask of a top reaches below the hips; what it holds of the trousers
    must not be taken for the old top (it would be painted over with background)."""
    image = load_image(person)
    body = tryon.engine.analyzers.body.analyze(image)
    agnostic = agnostic_mask(body, Category.UPPER)
    old = find_old_garment(image, body, agnostic, Category.UPPER)
    inside = agnostic & body.person_mask
    assert not (old.mask & ~agnostic).any()
    assert old.neighbour is not None
    trousers = inside & old.neighbour
    assert trousers.sum() > 0.01 * inside.sum(), "no trousers found inside the mask"
    # Those pixels sit low on the torso and have the trousers' colour.
    kp = body.keypoints
    shoulders_y = (kp.joint(Joint.R_SHOULDER)[1] + kp.joint(Joint.L_SHOULDER)[1]) / 2
    hips_y = (kp.joint(Joint.R_HIP)[1] + kp.joint(Joint.L_HIP)[1]) / 2
    ys = np.nonzero(trousers)[0]
    assert np.median(ys) > shoulders_y + 0.6 * (hips_y - shoulders_y)
    below = body.person_mask & ~agnostic & old.neighbour
    trouser_lab = np.median(rgb_to_lab(image[below]), axis=0)
    found_lab = np.median(rgb_to_lab(image[trousers]), axis=0)
    assert np.linalg.norm(found_lab - trouser_lab) < 12


def test_a_beige_sleeve_is_not_taken_for_a_bare_arm(tryon: TryOn) -> None:
    """The man in the studio photo wears a beige hoodie close to his skin colour; under
    a short-sleeved tee his forearms must be painted skin, not keep the hoodie, and the
    skin of his own hands (lit unlike his face)."""
    person = PHOTOS / "people" / "p1_studio.jpg"
    tee = PHOTOS / "garments" / "shirts_2_front.jpg"
    result = tryon.run(person, tee, category="upper")
    kp = result.body.keypoints
    original = result.person
    changed = np.any(result.image != original, axis=-1)
    for elbow, wrist in ((Joint.R_ELBOW, Joint.R_WRIST), (Joint.L_ELBOW, Joint.L_WRIST)):
        mid = (kp.joint(elbow) + kp.joint(wrist)) / 2
        spot = M.draw_ellipse(changed.shape, mid, (4.0, 4.0), 0.0)
        assert changed[spot].mean() > 0.9, "the old sleeve was kept on the forearm"
        skin = rgb_to_lab(result.image[spot]).mean(0)
        hand = result.body.hands_mask & M.draw_ellipse(
            changed.shape, kp.joint(wrist), (80.0, 80.0), 0.0
        )
        hand_lab = np.median(rgb_to_lab(original[hand]), axis=0)
        hoodie_lab = rgb_to_lab(original[spot]).mean(0)
        assert np.linalg.norm(skin - hand_lab) < 12
        assert np.linalg.norm(skin - hand_lab) < np.linalg.norm(hoodie_lab - hand_lab)
