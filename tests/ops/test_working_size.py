"""Large photos: the working copy, decoding reduced, and the try-on put back at full size."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from tryon import TryOn
from tryon.imageio import load_image, load_reduced, upright_shape
from tryon.ops.working_size import (
    WORKING_PIXELS,
    paste_change,
    reduce_image,
    upscale_mask,
    working_shape,
    working_view,
)
from tryon.pipeline import ReducedPerson

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PERSON = SAMPLES / "people" / "p1_studio.jpg"
GARMENT = SAMPLES / "garments" / "shirts_2_front.jpg"


def jpeg(image: np.ndarray, **options: object) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="JPEG", quality=90, **options)
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    """The sample person upscaled to 12 megapixels with grain, as a JPEG."""
    image = load_image(PERSON)
    h, w = image.shape[:2]
    scale = (12e6 / (h * w)) ** 0.5
    big = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-3, 4, big.shape, dtype=np.int16)
    return jpeg(np.clip(big + noise, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- working_shape


def test_a_photo_within_the_working_size_is_used_as_it_is() -> None:
    assert working_shape((1376, 768)) == (1376, 768)
    assert working_shape((2048, 1536)) == (2048, 1536)  # exactly WORKING_PIXELS


def test_a_larger_photo_keeps_its_aspect_within_the_working_pixels() -> None:
    assert working_shape((4000, 3000)) == (2048, 1536)  # a 12-megapixel phone photo
    assert working_shape((8979, 5012)) == (2373, 1325)
    for shape in [(8979, 5012), (6000, 8000), (20000, 2500), (2049, 1536)]:
        h, w = working_shape(shape)
        assert h * w <= WORKING_PIXELS
        assert abs(h / w - shape[0] / shape[1]) < 2 / min(h, w)
        assert (h + 1) * (w + 1) > WORKING_PIXELS  # the largest that fits, to a pixel


def test_working_shape_refuses_empty_shapes() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        working_shape((0, 100))
    with pytest.raises(ValueError, match="must be positive"):
        working_shape((100, 100), max_pixels=0)


# ---------------------------------------------------------------- reduce / paste


def test_reduce_image_keeps_flat_colours_and_refuses_to_enlarge() -> None:
    flat = np.full((999, 601, 3), (10, 200, 77), np.uint8)
    small = reduce_image(flat, (200, 120))
    assert small.shape == (200, 120, 3)
    assert (small == (10, 200, 77)).all()
    with pytest.raises(ValueError, match="larger"):
        reduce_image(flat, (1000, 10))


def test_paste_change_leaves_every_pixel_outside_the_mask_and_the_kept_ones() -> None:
    rng = np.random.default_rng(1)
    person = rng.integers(0, 256, (1203, 901, 3), dtype=np.uint8)
    given = person.copy()
    working = reduce_image(person, (301, 225))
    mask = np.zeros((301, 225), bool)
    mask[100:200, 50:150] = True
    tried = working.copy()
    tried[110:190, 60:140] = (255, 0, 0)  # the change, inside the mask
    out, full_mask = paste_change(person, tried, working, mask)
    assert out.shape == person.shape and full_mask.shape == person.shape[:2]
    assert (out[~full_mask] == person[~full_mask]).all()  # bit for bit
    assert (out[460:740, 260:540] == (255, 0, 0)).all()  # the change, upscaled
    # Inside the mask but away from the change, the photo's own full-size pixels.
    assert (out[405:425, 205:595] == person[405:425, 205:595]).all()
    assert full_mask[404:796, 204:596].all() and not full_mask[:390].any()
    assert (person == given).all()  # not modified


def test_paste_change_with_nothing_changed_is_the_photo() -> None:
    person = np.random.default_rng(2).integers(0, 256, (400, 300, 3), dtype=np.uint8)
    working = reduce_image(person, (200, 150))
    out, full_mask = paste_change(person, working, working, np.ones((200, 150), bool))
    assert (out == person).all()
    assert full_mask.all()
    with pytest.raises(ValueError, match="one size"):
        paste_change(person, working, working[:10], np.ones((200, 150), bool))


def test_upscale_mask_of_an_empty_mask_is_empty() -> None:
    assert not upscale_mask(np.zeros((20, 10), bool), (80, 40)).any()
    up = upscale_mask(np.eye(20, 10, dtype=bool), (80, 40))
    assert up.shape == (80, 40) and up[2, 2] and not up[2, 30]


# ---------------------------------------------------------------- decoding


def test_a_jpeg_is_decoded_reduced_and_upright() -> None:
    image = load_image(PERSON)  # 1376 x 768
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored turned: shown a quarter turn clockwise
    data = jpeg(np.ascontiguousarray(np.rot90(image, 1)), exif=exif.tobytes())
    assert upright_shape(data) == (1376, 768)
    reduced = load_reduced(data, (344, 192))
    assert reduced.shape == (344, 192, 3)  # 1/4 in the decoder, exactly the shape
    reduced = load_reduced(data, (300, 150))
    assert reduced.shape[0] >= 300 and reduced.shape[1] >= 150
    assert reduced.shape[:2] == (344, 192)  # the largest reduction still large enough
    expected = reduce_image(load_image(data), (344, 192)).astype(np.int16)
    assert np.abs(load_reduced(data, (344, 192)) - expected).mean() < 3


# ---------------------------------------------------------------- the try-on


@pytest.fixture(scope="module")
def big_result(tryon: TryOn, big_photo: bytes):  # type: ignore[no-untyped-def]
    return tryon.run(big_photo, GARMENT, category="upper")


def test_a_large_photo_is_dressed_at_full_size_outside_the_mask_bit_for_bit(
    big_result, big_photo: bytes
) -> None:  # type: ignore[no-untyped-def]
    full = load_image(big_photo)
    result = big_result
    assert result.image.shape == full.shape
    assert result.agnostic_mask.shape == full.shape[:2]
    assert (result.person == full).all()
    outside = ~result.agnostic_mask
    assert (result.image[outside] == full[outside]).all()
    changed = np.any(result.image != full, axis=2)
    assert changed.mean() > 0.05  # the garment is there
    assert "restore" in result.timings
    keypoints = result.body.keypoints
    assert keypoints.image_size == full.shape[:2]
    assert result.body.person_mask.shape == full.shape[:2]
    assert result.details is not None and result.warp_details.fill_mask.size <= WORKING_PIXELS


def test_the_full_size_try_on_is_the_working_try_on_scaled_up(
    tryon: TryOn, big_result, big_photo: bytes
) -> None:  # type: ignore[no-untyped-def]
    working_shape_ = big_result.warp_details.fill_mask.shape
    working = reduce_image(load_reduced(big_photo, working_shape_), working_shape_)
    small = tryon.run(working, GARMENT, category="upper")
    view = working_view(big_result, working_shape_)
    assert view.image.shape == small.image.shape
    inside = small.agnostic_mask
    assert np.abs(view.image[inside].astype(int) - small.image[inside]).mean() < 3
    assert (view.agnostic_mask != small.agnostic_mask).mean() < 0.002
    shoulder = big_result.body.keypoints.mediapipe[11]
    ratio = big_result.image.shape[1] / small.image.shape[1]
    assert np.allclose(shoulder, (small.body.keypoints.mediapipe[11] + 0.5) * ratio - 0.5, atol=2)


def test_a_prepared_large_photo_gives_the_same_try_on(
    tryon: TryOn, big_result, big_photo: bytes
) -> None:  # type: ignore[no-untyped-def]
    prepared = tryon.prepare_person(big_photo)
    assert isinstance(prepared, ReducedPerson)
    assert prepared.image.shape[0] * prepared.image.shape[1] <= WORKING_PIXELS
    result = tryon.run(prepared, GARMENT, category="upper")
    assert (result.image == big_result.image).all()
    assert (result.agnostic_mask == big_result.agnostic_mask).all()


def test_a_large_array_is_not_modified_and_a_small_photo_is_not_reduced(
    tryon: TryOn, big_photo: bytes
) -> None:
    full = load_image(big_photo).copy()
    kept = full.copy()
    result = tryon.run(full, GARMENT, category="upper")
    assert (full == kept).all()
    assert result.image.shape == full.shape
    small = tryon.run(PERSON, GARMENT, category="upper")
    assert "restore" not in small.timings
    assert (small.person == load_image(PERSON)).all()
    assert not isinstance(tryon.prepare_person(PERSON), ReducedPerson)
