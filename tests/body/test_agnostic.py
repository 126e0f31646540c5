"""The agnostic mask on the real photos: what a try-on may change."""

from __future__ import annotations

import numpy as np

from tests.photos import person
from tryon import Category
from tryon.body.agnostic import agnostic_mask
from tryon.imageio import load_image
from tryon.types import Joint


def test_upper_mask_spares_head_hands_and_trousers(warp_results) -> None:
    for r in warp_results.values():
        if r.category is not Category.UPPER:
            continue
        assert not (r.agnostic_mask & r.body.face_mask).any()
        assert not (r.agnostic_mask & r.body.hands_mask).any()
        knees_y = min(
            r.body.keypoints.joint(Joint.R_KNEE)[1], r.body.keypoints.joint(Joint.L_KNEE)[1]
        )
        assert not r.agnostic_mask[int(knees_y) :].any()


def _lower_masks(tryon, name: str):
    image = load_image(person(name))
    body = tryon.engine.prepare_person(image).body
    return (
        image,
        body,
        agnostic_mask(body, Category.LOWER),
        agnostic_mask(body, Category.LOWER, image=image),
    )


def test_in_a_stride_the_nearer_shin_is_not_kept_as_the_farther_foot(tryon) -> None:
    # p2 walks towards the camera: her right leg is the nearer one and passes in front
    # of her left shoe; its trousers there may change (the old ones showed through).
    _image, body, mask, _ = _lower_masks(tryon, "p2_walking.jpg")
    kp = body.keypoints
    knee, ankle = kp.joint(Joint.R_KNEE), kp.joint(Joint.L_ANKLE)
    near_ankle = kp.joint(Joint.R_ANKLE)
    assert near_ankle[1] > ankle[1]
    for t in (0.6, 0.7, 0.8, 0.9):
        x, y = np.round(knee + t * (near_ankle - knee)).astype(int)
        assert mask[y, x]


def test_old_hems_over_the_shoes_may_change_and_nothing_else_is_added(tryon) -> None:
    image, body, without, with_hems = _lower_masks(tryon, "p2_studio.jpg")
    added = with_hems & ~without
    assert not (without & ~with_hems).any()
    assert added.sum() > 200
    ys = np.nonzero(added)[0]
    ankles = min(body.keypoints.joint(Joint.R_ANKLE)[1], body.keypoints.joint(Joint.L_ANKLE)[1])
    knees = max(body.keypoints.joint(Joint.R_KNEE)[1], body.keypoints.joint(Joint.L_KNEE)[1])
    assert ys.min() > knees
    # The hem's colour: the old jeans' blue, not the white shoes'.
    assert np.median(image[added][:, 2].astype(int) - image[added][:, 0].astype(int)) > 15
    assert abs(int(np.median(ys)) - ankles) < 0.1 * image.shape[0]
