"""The agnostic mask on the real photos: what a try-on may change."""

from __future__ import annotations

from tryon import Category
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
