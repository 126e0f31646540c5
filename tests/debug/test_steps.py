"""save_steps on a real try-on: every file written, in the documented format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.photos import GARMENT, PERSON
from tryon import TryOn, TryOnResult
from tryon.debug.steps import (
    TILE_HEIGHT,
    contact_sheet,
    draw_points,
    label_font,
    openpose_json,
    save_steps,
    shading_image,
    wrap,
)

MASKS = {
    "person_mask.png": lambda r: r.body.person_mask,
    "face_mask.png": lambda r: r.body.face_mask,
    "head_mask.png": lambda r: r.body.head_mask,
    "hands_mask.png": lambda r: r.body.hands_mask,
    "agnostic_mask.png": lambda r: r.agnostic_mask,
    "fill_mask.png": lambda r: r.warp_details.fill_mask,
    "garment_mask.png": lambda r: r.garment.mask,
}
FILES = {
    *MASKS,
    "person.png",
    "garment.png",
    "garment_pieces.png",
    "garment_landmarks.png",
    "garment_landmarks.json",
    "keypoints.json",
    "keypoints_mediapipe33.json",
    "keypoints.png",
    "agnostic.png",
    "warped_garment.png",
    "warped_landmarks.png",
    "shading.png",
    "result.png",
    "timings.json",
    "config/summary.json",
    "steps.png",
}


@pytest.fixture(scope="module")
def result(tryon: TryOn) -> TryOnResult:
    return tryon.run(PERSON, GARMENT, category="auto")


@pytest.fixture(scope="module")
def steps(result: TryOnResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("steps")
    written = save_steps(result, directory)
    assert {p.relative_to(directory).as_posix() for p in written} == FILES
    assert written[-1].name == "steps.png"
    return directory


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_writes_exactly_the_documented_files(steps: Path) -> None:
    on_disk = {p.relative_to(steps).as_posix() for p in steps.rglob("*") if p.is_file()}
    assert on_disk == FILES


@pytest.mark.parametrize("name", sorted(MASKS))
def test_masks_are_8_bit_grey_0_or_255_and_match_the_result(steps, result, name) -> None:
    with PILImage.open(steps / name) as picture:
        assert picture.mode == "L"
        pixels = np.asarray(picture)
    expected = MASKS[name](result)
    assert set(np.unique(pixels)) <= {0, 255}
    assert np.array_equal(pixels == 255, expected)


def test_keypoints_json_is_openpose_18_as_viton_hd_reads_it(steps, result) -> None:
    doc = read_json(steps / "keypoints.json")
    assert doc["version"] == 1.3
    (person,) = doc["people"]
    assert person["person_id"] == [-1]
    flat = person["pose_keypoints_2d"]
    assert len(flat) == 54 and all(isinstance(v, float) for v in flat)
    np.testing.assert_allclose(
        np.reshape(flat, (18, 3)), result.body.keypoints.openpose18(), atol=1e-3
    )
    for key in ("face", "hand_left", "hand_right"):
        assert person[f"{key}_keypoints_2d"] == []
    for key in ("pose", "face", "hand_left", "hand_right"):
        assert person[f"{key}_keypoints_3d"] == []


def test_openpose_json_writes_hidden_joints_as_zeros() -> None:
    rows = np.zeros((18, 3), np.float32)
    rows[1] = (10.0, 20.0, 0.9)
    flat = openpose_json(rows)["people"][0]["pose_keypoints_2d"]
    assert flat[:6] == [0.0, 0.0, 0.0, 10.0, 20.0, 0.9]
    assert flat[6:] == [0.0] * 48


def test_mediapipe_json_names_all_33_landmarks(steps, result) -> None:
    doc = read_json(steps / "keypoints_mediapipe33.json")
    h, w = result.person.shape[:2]
    assert (doc["image_width"], doc["image_height"]) == (w, h)
    marks = doc["landmarks"]
    assert [m["index"] for m in marks] == list(range(33))
    assert marks[0]["name"] == "nose" and marks[32]["name"] == "right_foot_index"
    assert marks[11]["x"] == pytest.approx(float(result.body.keypoints.mediapipe[11, 0]), abs=0.01)


def test_garment_landmarks_json_has_both_frames(steps, result) -> None:
    doc = read_json(steps / "garment_landmarks.json")
    assert set(doc["garment_photo"]) == set(result.garment.landmarks.as_dict())
    assert set(doc["person_photo"]) == set(result.warp_details.warped.landmarks.as_dict())
    assert "neckline" in doc["garment_photo"]


def test_pictures_have_the_size_of_their_photo(steps, result) -> None:
    person = result.person.shape[1::-1]
    garment = result.garment.image.shape[1::-1]
    sizes = {
        "person.png": person,
        "keypoints.png": person,
        "agnostic.png": person,
        "warped_garment.png": person,
        "warped_landmarks.png": person,
        "shading.png": person,
        "result.png": person,
        "garment.png": garment,
        "garment_pieces.png": garment,
        "garment_landmarks.png": garment,
    }
    for name, size in sizes.items():
        with PILImage.open(steps / name) as picture:
            assert picture.size == size, name


def test_result_and_inputs_are_saved_losslessly(steps, result) -> None:
    for name, image in (
        ("result.png", result.image),
        ("person.png", result.person),
        ("garment.png", result.garment.image),
    ):
        assert np.array_equal(np.asarray(PILImage.open(steps / name)), image), name


def test_agnostic_image_is_grey_exactly_where_the_mask_is(steps, result) -> None:
    pixels = np.asarray(PILImage.open(steps / "agnostic.png"))
    mask = result.agnostic_mask
    assert np.all(pixels[mask] == 128)
    assert np.array_equal(pixels[~mask], result.person[~mask])


def test_warped_garment_is_rgba_with_the_warp_alpha(steps, result) -> None:
    with PILImage.open(steps / "warped_garment.png") as picture:
        assert picture.mode == "RGBA"
        rgba = np.asarray(picture)
    np.testing.assert_allclose(rgba[..., 3] / 255, result.warp_details.warped.alpha, atol=1 / 255)
    covered = result.warp_details.warped.alpha > 0
    assert np.array_equal(rgba[..., :3][covered], result.warp_details.warped.image[covered])


def test_shading_maps_one_to_mid_grey() -> None:
    shading = np.array([[0.0, 0.5, 1.0, 1.5, 3.0]], np.float32)
    assert np.asarray(shading_image(shading)).tolist() == [[0, 64, 128, 192, 255]]


def test_summary_and_timings(steps, result) -> None:
    summary = read_json(steps / "config" / "summary.json")
    assert summary["category"] == "upper"
    assert summary["garment_source"] == "product"
    h, w = result.person.shape[:2]
    assert summary["person_size"] == {"width": w, "height": h}
    assert summary["result_size"] == summary["person_size"]
    assert summary["warnings"] == result.warnings
    timings = read_json(steps / "timings.json")["seconds"]
    assert list(timings) == list(result.timings)
    assert timings["total"] > 0


def test_contact_sheet_has_one_row_of_captioned_tiles(steps) -> None:
    with PILImage.open(steps / "steps.png") as sheet:
        assert sheet.mode == "RGB"
        width, height = sheet.size
    assert TILE_HEIGHT + 30 < height < TILE_HEIGHT + 150
    assert width > 6 * 160  # ten tiles, none narrower than 160 px


def test_contact_sheet_wraps_long_captions_under_narrow_tiles() -> None:
    narrow = PILImage.new("RGB", (50, 400), "red")
    sheet = contact_sheet([(narrow, "a rather long caption that cannot fit on one line")])
    one_line = contact_sheet([(narrow, "short")])
    assert sheet.height > one_line.height
    assert sheet.width == one_line.width


def test_wrap_keeps_every_word() -> None:
    font = label_font(PILImage.new("L", (1, 1)), size=18)
    lines = wrap("garment warped onto the body", font, 120)
    assert len(lines) > 1
    assert " ".join(lines) == "garment warped onto the body"


def test_draw_points_labels_stay_inside_near_the_right_edge() -> None:
    picture = PILImage.new("RGB", (200, 100), "black")
    drawn = np.asarray(draw_points(picture, {"sleeve_end_l": (195.0, 50.0)}))
    lit = np.flatnonzero(drawn.max(axis=(0, 2)) > 0)
    assert lit.min() < 150  # the label went to the left of the dot
    assert np.asarray(picture).max() == 0  # the input is not drawn on


def test_a_large_photo_s_steps_are_drawn_at_the_working_size(tryon: TryOn, tmp_path: Path) -> None:
    # The engine works on a reduced copy of a photo over its working size: the
    # intermediates have that size, the result the photo's; the steps line up.
    person = np.asarray(PILImage.open(PERSON).convert("RGB"))
    large = np.repeat(np.repeat(person, 3, axis=0), 3, axis=1)
    result = tryon.run(large, GARMENT)
    assert result.image.shape == large.shape
    written = save_steps(result, tmp_path)
    assert tmp_path / "steps.png" in written
    working = result.warp_details.fill_mask.shape
    for name in ("result.png", "person.png", "agnostic_mask.png", "warped_garment.png"):
        with PILImage.open(tmp_path / name) as picture:
            assert picture.size == (working[1], working[0]), name
