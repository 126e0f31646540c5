"""The labels inside the back of a top's neck: found on the sample photos and on drawn
tops, not on tilted shapes, thin lines or repeated motifs; painted over by the warp only."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tryon import TryOn
from tryon.engines.warp import WarpEngine
from tryon.garment.landmarks import outline, top_landmarks
from tryon.garment.neck_label import find_neck_labels
from tryon.garment.segment import segment_product
from tryon.imageio import load_image
from tryon.ops.inpaint import inpaint_boxes
from tryon.types import Box, Category, GarmentLandmarks, Image, Mask
from tryon.warp.render import warp_garment

from ..photos import PERSON, SAMPLES

SIZE = 600
CLOTH = (70, 110, 170)
# A flat top's landmarks: neckline at (300, 100), shoulders 300 px apart.
LANDMARKS = GarmentLandmarks(
    neckline=(300.0, 100.0), shoulder_r=(150.0, 110.0), shoulder_l=(450.0, 110.0)
)


def _top(seed: int = 0) -> tuple[Image, Mask]:
    """A plain woven top on a light backdrop (noise like a photo's)."""
    rng = np.random.default_rng(seed)
    image = np.full((SIZE, SIZE, 3), 235, np.float32)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.rectangle(mask, (120, 100), (480, 560), 255, -1)
    image[mask > 0] = CLOTH
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask > 0


def _boxes_cover(found: tuple[Box, ...], drawn: Box) -> bool:
    return any(
        b[0] <= drawn[0] and b[1] <= drawn[1] and b[2] >= drawn[2] and b[3] >= drawn[3]
        for b in found
    )


def test_a_white_label_under_the_neckline_is_found() -> None:
    image, mask = _top()
    cv2.rectangle(image, (270, 118), (330, 134), (245, 245, 240), -1)  # 61 x 17 px
    found = find_neck_labels(image, mask, LANDMARKS)
    assert len(found) == 1 and _boxes_cover(found, (270, 118, 331, 135))
    x0, y0, x1, y1 = found[0]
    assert (x1 - x0) * (y1 - y0) < 2 * 61 * 17  # the label and its seam, not more


def test_a_dark_size_tag_beside_it_is_found_too() -> None:
    image, mask = _top()
    cv2.rectangle(image, (275, 118), (320, 134), (245, 245, 240), -1)
    cv2.rectangle(image, (328, 112), (340, 124), (20, 20, 20), -1)
    assert len(find_neck_labels(image, mask, LANDMARKS)) == 2


@pytest.mark.parametrize(
    "why",
    ["plain", "tilted", "thin line", "repeated", "too small", "too low", "off to the side"],
)
def test_what_is_not_a_label_is_left_alone(why: str) -> None:
    image, mask = _top()
    if why == "tilted":  # a print's diamond motif
        diamond = cv2.boxPoints(((300, 130), (40, 20), 35)).astype(np.int32)
        cv2.fillPoly(image, [diamond], (245, 245, 240))
    elif why == "thin line":  # a placket's seam
        cv2.rectangle(image, (298, 105), (300, 150), (245, 245, 240), -1)
    elif why == "repeated":  # a print's motif, three times: a print, not labels
        for x in (262, 292, 322):
            cv2.rectangle(image, (x, 118), (x + 14, 130), (245, 245, 240), -1)
    elif why == "too small":  # a print's dot, 6 px: as flat and square as a label
        cv2.rectangle(image, (296, 120), (301, 125), (245, 245, 240), -1)
    elif why == "too low":  # a chest print's block, far below the neckline
        cv2.rectangle(image, (270, 250), (330, 266), (245, 245, 240), -1)
    elif why == "off to the side":  # a stud on the collar's point
        cv2.rectangle(image, (400, 118), (412, 130), (245, 245, 240), -1)
    assert find_neck_labels(image, mask, LANDMARKS) == ()


def test_no_landmarks_no_labels() -> None:
    image, mask = _top()
    cv2.rectangle(image, (270, 118), (330, 134), (245, 245, 240), -1)
    assert find_neck_labels(image, mask, GarmentLandmarks()) == ()


@pytest.mark.parametrize(
    ("name", "count"),
    [("shirts_1_front.jpg", 2), ("shirts_2_front.jpg", 2), ("jackets_1_front.jpg", 1)],
)
def test_the_sample_tops_labels_are_found_in_their_necklines(name: str, count: int) -> None:
    image = load_image(SAMPLES / "garments" / name)
    mask = segment_product(image)
    landmarks, _, _ = top_landmarks(mask, outline(mask))
    found = find_neck_labels(image, mask, landmarks)
    # Each is a brand label or a size tag: bright, small, within the neckline's top.
    assert len(found) == count
    cx, top = landmarks.neckline or (0, 0)
    for x0, y0, x1, y1 in found:
        assert abs((x0 + x1) / 2 - cx) < 100 and top <= y0 and y1 < top + 100
        assert cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).mean() > 150


def test_painted_over_the_label_is_cloth() -> None:
    image, mask = _top()
    cv2.rectangle(image, (270, 118), (330, 134), (245, 245, 240), -1)
    found = find_neck_labels(image, mask, LANDMARKS)
    painted = inpaint_boxes(image, mask, found)
    x0, y0, x1, y1 = found[0]
    inside = painted[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
    assert np.abs(inside.mean(0) - CLOTH).max() < 3
    assert 1 < inside.std(0).mean() < 6  # the cloth's grain, not a flat patch
    outside = np.ones((SIZE, SIZE), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(painted[outside], image[outside])


def test_the_warp_wears_the_top_without_its_label_but_the_photo_keeps_it(
    tryon: TryOn, warp_engine: WarpEngine
) -> None:
    garment = tryon.analyze_garment(SAMPLES / "garments" / "shirts_1_front.jpg")
    body = warp_engine.prepare_person(load_image(PERSON)).body
    assert garment.neck_labels
    x0, y0, x1, y1 = garment.neck_labels[0]
    assert garment.image[y0:y1, x0:x1].mean() > 200  # the photo keeps its white label
    worn = warp_garment(garment, body, Category.UPPER)
    labelled = warp_garment(replace(garment, neck_labels=()), body, Category.UPPER)
    # Only the labels' pixels change, and they turn from white to the cloth's blue.
    changed = np.abs(worn.image.astype(int) - labelled.image.astype(int)).max(2) > 12
    changed &= worn.alpha > 0.5
    assert 0 < changed.sum() < 0.01 * (worn.alpha > 0.5).sum()
    assert worn.image[changed].mean() < labelled.image[changed].mean() - 10
