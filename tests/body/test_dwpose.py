"""DWPose through ONNX Runtime: the maths of each step, then the whole runner on tiny
ONNX models with the real models' signatures (``tests/body/tiny_dwpose.py``).

The runner's keypoints equal the reference's for the same models
(``benchmarks/parity_fashn_pose.py``); these tests pin the steps one by one. The tests
that run models need ``onnx`` and ``onnxruntime`` (the ``test`` and ``diffusion``
extras) and are skipped, with the reason, where they are missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from tryon.body.dwpose import (
    DWPOSE_WEIGHTS,
    DWPose,
    DWPoseWeightsError,
    choose_person,
    crop_person,
    decode_simcc,
    letterbox,
    non_maximum_suppression,
    openpose_order,
    person_boxes,
    to_photo,
)
from tryon.errors import TryOnError
from tryon.types import Joint


def _tiny() -> ModuleType:
    pytest.importorskip("onnxruntime", reason="DWPose needs onnxruntime (the diffusion extra)")
    pytest.importorskip("onnx", reason="the tiny ONNX models are built with onnx (test extra)")
    from tests.body import tiny_dwpose

    return tiny_dwpose


@pytest.fixture(scope="module")
def tiny() -> ModuleType:
    return _tiny()


@pytest.fixture(scope="module")
def marker_model(tiny: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.marker_pose_model(tmp_path_factory.mktemp("dwpose") / "marker.onnx")


def marked_photo(x: int, y: int, size: tuple[int, int] = (480, 360)) -> np.ndarray:
    """A grey RGB photo with a white 10 x 10 square whose top-left pixel is (x, y)."""
    photo = np.full((*size, 3), 100, np.uint8)
    photo[y : y + 10, x : x + 10] = 255
    return photo


# --- the steps ----------------------------------------------------------------------


def test_the_weights_record_names_the_references_files() -> None:
    assert DWPOSE_WEIGHTS.repo_id == "fashn-ai/DWPose"
    assert DWPOSE_WEIGHTS.licence == "Apache-2.0"
    assert DWPOSE_WEIGHTS.paths(Path("/w")) == (
        Path("/w/dwpose/yolox_l.onnx"),
        Path("/w/dwpose/dw-ll_ucoco_384.onnx"),
    )


@pytest.mark.parametrize("shape", [(300, 450), (500, 200), (640, 640), (1000, 800)])
def test_the_letterbox_fits_the_photo_top_left_with_grey_114_around(
    shape: tuple[int, int],
) -> None:
    bgr = np.random.default_rng(0).integers(0, 256, (*shape, 3)).astype(np.uint8)
    tensor, ratio = letterbox(bgr)
    assert tensor.shape == (1, 3, 640, 640) and tensor.dtype == np.float32
    assert ratio == min(640 / shape[0], 640 / shape[1])
    w, h = int(shape[1] * ratio), int(shape[0] * ratio)
    assert max(w, h) == 640
    resized = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(tensor[0, :, :h, :w], resized.transpose(2, 0, 1))
    assert (tensor[0, :, h:] == 114).all() and (tensor[0, :, :, w:] == 114).all()


def test_a_detected_box_comes_back_in_photo_pixels(tiny: ModuleType) -> None:
    predictions = tiny.box_predictions([(100, 120, 300, 520, 0.9)])
    boxes = person_boxes(predictions, ratio=2.0)
    np.testing.assert_allclose(boxes, [[50, 60, 150, 260]], atol=1e-3)
    assert boxes.dtype == np.float64


def test_only_people_scoring_above_0_3_are_kept(tiny: ModuleType) -> None:
    predictions = tiny.box_predictions([(0, 0, 100, 100, 0.25), (300, 300, 400, 400, 0.35)])
    np.testing.assert_allclose(person_boxes(predictions, 1.0), [[300, 300, 400, 400]], atol=1e-3)
    # A box of another class (column 6: bicycle) is no person.
    predictions[:, 6], predictions[:, 5] = predictions[:, 5], 0
    assert person_boxes(predictions, 1.0).shape == (0, 4)


def test_nms_drops_a_box_overlapping_a_better_one_by_more_than_0_45() -> None:
    boxes = np.array(
        [[0, 0, 99, 99], [10, 0, 109, 99], [60, 0, 159, 99], [300, 0, 399, 99]], np.float32
    )
    scores = np.array([0.8, 0.9, 0.7, 0.6], np.float32)
    # Inclusive areas: box 1 overlaps box 0 by 9000 / 11000; box 2 overlaps box 1 by
    # 5000 / 15000 and box 0 is gone.
    assert non_maximum_suppression(boxes, scores, 0.45) == [1, 2, 3]
    assert non_maximum_suppression(boxes, scores, 0.3) == [1, 3]


def test_simcc_decoding_halves_the_best_bins_and_keeps_the_lower_maximum() -> None:
    simcc_x = np.array([[0, 0.1, 0.9, 0.2, 0, 0], [0, 0, 0, 0, 0.4, 0], [-1, -2, -3, -4, -5, -6]])
    simcc_y = np.array([[0.5, 0, 0, 0], [0, 0, 0, 0.7], [0, 0, 3, 0]])
    locs, scores = decode_simcc(simcc_x.astype(np.float32), simcc_y.astype(np.float32))
    np.testing.assert_array_equal(locs, [[1.0, 0.0], [2.0, 1.5], [-0.5, -0.5]])
    np.testing.assert_array_equal(scores, np.float32([0.5, 0.4, -1.0]))


def test_a_crop_is_the_padded_box_widened_to_the_models_aspect() -> None:
    bgr = np.zeros((400, 400, 3), np.uint8)
    tensor, centre, size = crop_person(bgr, np.array([100.0, 100.0, 200.0, 200.0]), (288, 384))
    assert tensor.shape == (1, 3, 384, 288) and tensor.dtype == np.float32
    np.testing.assert_array_equal(centre, [150, 150])
    np.testing.assert_allclose(size, [125, 125 / 0.75])  # padded 1.25, then taller
    # The crop's centre is the box's; its corner the padded box's.
    corner = to_photo(np.float32([[0, 0], [144, 192]]), (288, 384), centre, size)
    np.testing.assert_allclose(corner, [[87.5, 150 - 125 / 0.75 / 2], [150, 150]])
    # Black photo: the crop holds -mean / std of each BGR channel.
    np.testing.assert_allclose(tensor[0, :, 192, 144], [-2.1179, -2.0357, -1.8044], atol=1e-4)


def test_openpose_order_puts_coco_joints_where_openpose_keeps_them() -> None:
    keypoints = np.stack([np.arange(133.0), 1000 + np.arange(133.0)], -1)[None]
    scores = np.full((1, 133), 0.9, np.float32)
    points, confidence = openpose_order(keypoints, scores)
    assert points.shape == (1, 134, 2) and confidence.shape == (1, 134)
    coco = [0, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]
    for joint, index in enumerate(coco):
        if index is not None:
            assert points[0, joint, 0] == index, Joint(joint).name
    np.testing.assert_array_equal(points[0, Joint.NECK], [5.5, 1005.5])
    assert confidence[0, Joint.NECK] == 1.0
    np.testing.assert_array_equal(points[0, 18:, 0], np.arange(17, 133))  # feet, face, hands
    scores[0, 6] = 0.29  # the right shoulder
    assert openpose_order(keypoints, scores)[1][0, Joint.NECK] == 0.0


def _people(boxes: list[tuple[float, float, float, float]], score: float = 0.9) -> np.ndarray:
    """(N, 134, 2) people whose joints 1 to 13 span the given boxes."""
    people = np.zeros((len(boxes), 134, 2))
    for person, (x0, y0, x1, y1) in enumerate(boxes):
        people[person, 1:14] = np.linspace((x0, y0), (x1, y1), 13)
    return people


def test_the_person_with_the_largest_score_times_area_is_chosen() -> None:
    people = _people([(10, 10, 50, 90), (100, 10, 200, 300), (300, 10, 320, 40)])
    scores = np.full((3, 134), 0.9)
    assert choose_person(people, scores) == 1
    scores[1, 1:14] = 0.31  # a third of the score, yet still the largest product
    assert choose_person(people, scores) == 1
    scores[1, 1:14] = 0.2  # nothing above 0.3
    assert choose_person(people, scores) == 0


def test_the_person_choice_uses_the_first_persons_visible_joints_for_everyone() -> None:
    # The reference's quirk, kept: person 0 shows joints 1 to 4 only, so only those
    # span everyone's box, and person 1's far joints 5 to 13 do not count.
    people = np.zeros((2, 134, 2))
    people[0, 1:5] = [(10, 10), (100, 10), (10, 100), (100, 100)]  # area 8100
    people[0, 5:14] = (50, 50)
    people[1, 1:5] = [(10, 10), (40, 10), (10, 40), (40, 40)]  # area 900
    people[1, 5:14] = (1000, 1000)
    scores = np.full((2, 134), 0.9)
    scores[0, 5:14] = 0.1
    assert choose_person(people, scores) == 0  # 3.6 x 8100 > 11.7 x 900
    scores[0, 5:14] = 0.9
    assert choose_person(people, scores) == 1  # person 1's box now reaches (1000, 1000)


def test_without_any_area_the_highest_score_wins() -> None:
    people = np.zeros((2, 134, 2))  # every joint at (0, 0): no positive coordinate
    scores = np.full((2, 134), 0.5)
    scores[1, 3] = 0.9
    assert choose_person(people, scores) == 1


# --- the runner ----------------------------------------------------------------------


def test_missing_files_are_named_with_the_command_that_fetches_them(tmp_path: Path) -> None:
    detector, pose_model = DWPOSE_WEIGHTS.paths(tmp_path)
    with pytest.raises(DWPoseWeightsError) as error:
        DWPose(detector, pose_model)
    message = str(error.value)
    assert "yolox_l.onnx" in message and "dw-ll_ucoco_384.onnx" in message
    assert "tryon weights fetch --engine fashn" in message
    assert isinstance(error.value, TryOnError)


def test_importing_dwpose_does_not_import_onnxruntime() -> None:
    code = (
        "import sys, tryon, tryon.body.dwpose, tryon.body.wholebody, tryon.fashn.raster; "
        "sys.exit('onnxruntime' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_tiny_models_have_the_real_signatures(tiny: ModuleType, tmp_path: Path) -> None:
    import onnxruntime

    detector = tiny.random_detector(tmp_path / "d.onnx")
    pose_model = tiny.random_pose_model(tmp_path / "p.onnx")
    det = onnxruntime.InferenceSession(str(detector), providers=["CPUExecutionProvider"])
    pose = onnxruntime.InferenceSession(str(pose_model), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in det.get_inputs()] == [("images", [1, 3, 640, 640])]
    assert [(o.name, o.shape) for o in det.get_outputs()] == [("output", [1, 8400, 85])]
    assert [(i.name, i.shape) for i in pose.get_inputs()] == [("input", [1, 3, 384, 288])]
    assert [(o.name, o.shape) for o in pose.get_outputs()] == [
        ("simcc_x", [1, 133, 576]),
        ("simcc_y", [1, 133, 768]),
    ]


def test_a_marker_inside_the_detected_box_comes_back_where_it_is(
    tiny: ModuleType, marker_model: Path, tmp_path: Path
) -> None:
    # 480 x 360 letterboxed by 4/3: the box (100, 100)-(300, 400) in the detector's
    # input is (75, 75)-(225, 300) in the photo; the marker at (150, 200) is inside.
    detector = tiny.fixed_detector(
        tmp_path / "d.onnx", tiny.box_predictions([(100, 100, 300, 400, 0.9)])
    )
    with DWPose(detector, marker_model, threads=1) as dwpose:
        assert dwpose.input_size == (288, 384)
        np.testing.assert_allclose(dwpose.detect(marked_photo(150, 200)), [[75, 75, 225, 300]])
        pose = dwpose(marked_photo(150, 200))
    assert pose.source == "dwpose"
    pixels = np.concatenate([pose.body, pose.hands.reshape(-1, 2), pose.face]) * (360, 480)
    # The crop is the box padded and scaled by 1.48: the marker's first column and row
    # come back to within a crop pixel.
    assert np.abs(pixels - (150, 200)).max() < 1.5
    neck = pose.body_scores[Joint.NECK]
    assert neck == 1.0 and (np.delete(pose.body_scores, Joint.NECK) > 2).all()
    assert (pose.hand_scores > 2).all() and (pose.face_scores > 2).all()


def test_without_a_detection_the_whole_photo_is_the_persons_box(
    tiny: ModuleType, marker_model: Path, tmp_path: Path
) -> None:
    detector = tiny.fixed_detector(tmp_path / "d.onnx", tiny.box_predictions([]))
    with DWPose(detector, marker_model) as dwpose:
        for x, y in ((20, 30), (330, 450), (180, 240)):
            assert dwpose.detect(marked_photo(x, y)).shape == (0, 4)
            pose = dwpose(marked_photo(x, y))
            assert np.abs(pose.body * (360, 480) - (x, y)).max() < 2.5


def test_of_several_people_the_one_scoring_best_is_chosen_not_the_first_box(
    tiny: ModuleType, marker_model: Path, tmp_path: Path
) -> None:
    # The first box (detector score 0.9) holds plain grey: keypoints score below 0.3.
    # The second (0.5) holds the marker.
    boxes = [(400, 400, 600, 600, 0.9), (100, 100, 300, 400, 0.5)]
    detector = tiny.fixed_detector(tmp_path / "d.onnx", tiny.box_predictions(boxes))
    with DWPose(detector, marker_model) as dwpose:
        assert len(dwpose.detect(marked_photo(150, 200))) == 2
        pose = dwpose(marked_photo(150, 200, size=(480, 480)))
    assert np.abs(pose.body * 480 - (150, 200)).max() < 1.5


def test_a_closed_dwpose_refuses_work_and_a_wrong_image_is_named(
    tiny: ModuleType, marker_model: Path, tmp_path: Path
) -> None:
    detector = tiny.fixed_detector(tmp_path / "d.onnx", tiny.box_predictions([]))
    dwpose = DWPose(detector, marker_model)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        dwpose(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        dwpose(np.zeros((10, 10, 3), np.float32))
    dwpose.close()
    with pytest.raises(RuntimeError, match="closed"):
        dwpose(marked_photo(10, 10))


def test_models_load_from_the_weights_folder_and_run_deterministically(
    tiny: ModuleType, tmp_path: Path
) -> None:
    detector, pose_model = DWPOSE_WEIGHTS.paths(tmp_path)
    detector.parent.mkdir()
    tiny.random_detector(detector)
    tiny.random_pose_model(pose_model)
    photo = np.random.default_rng(3).integers(0, 256, (300, 200, 3)).astype(np.uint8)
    with DWPose.from_dir(tmp_path, threads=1) as dwpose:
        assert len(dwpose.detect(np.ascontiguousarray(photo[..., ::-1]))) > 1
        first, second = dwpose(photo), dwpose(photo)
    assert first.body.dtype == np.float64 and first.body_scores.dtype == np.float32
    np.testing.assert_array_equal(first.body, second.body)
    np.testing.assert_array_equal(first.face_scores, second.face_scores)
    assert np.isfinite(first.body).all() and np.isfinite(first.hands).all()
