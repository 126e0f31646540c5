"""The warp on the real photos: the garment's landmarks land on the body's joints and
the garment covers the body part it is made for."""

from __future__ import annotations

import numpy as np
import pytest

from tests.photos import WARP_PAIRS as PAIRS
from tryon import Category
from tryon.ops import masks as M
from tryon.types import Joint


@pytest.mark.parametrize(("person", "garment"), PAIRS, ids=lambda p: p.stem)
def test_landmarks_land_on_the_body(warp_results, person, garment) -> None:
    r = warp_results[(person.name, garment.name)]
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
def test_garment_covers_the_torso_or_legs(warp_results, person, garment) -> None:
    r = warp_results[(person.name, garment.name)]
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
