"""Layouts and keypoint files: known values, round trips and wrong input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tryon.dataset.layout import (
    DatasetError,
    Pair,
    PairMode,
    open_dataset,
    read_pairs,
    write_pairs,
)
from tryon.dataset.openpose import (
    dresscode_document,
    openpose_document,
    read_dresscode_keypoints,
    read_openpose,
)
from tryon.errors import TryOnError
from tryon.types import Category


def rows() -> np.ndarray:
    out = np.zeros((18, 3), np.float32)
    out[0] = (100.5, 50.25, 0.9)
    out[1] = (102.0, 120.0, 0.8)
    return out


def test_openpose_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a_keypoints.json"
    path.write_text(json.dumps(openpose_document(rows())))
    np.testing.assert_allclose(read_openpose(path), rows(), atol=1e-3)


def test_openpose_json_reads_the_legacy_key_and_rejects_short_lists(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints": rows().ravel().tolist()}]}))
    assert read_openpose(path).shape == (18, 3)
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1, 2, 3]}]}))
    with pytest.raises(TryOnError, match="1 joints, OpenPose-18 needs 18"):
        read_openpose(path)
    path.write_text(json.dumps({"people": []}))
    with pytest.raises(TryOnError, match="no person"):
        read_openpose(path)
    path.write_text("{not json")
    with pytest.raises(TryOnError, match="not a readable JSON"):
        read_openpose(path)


def test_dresscode_keypoints_are_stored_at_half_size(tmp_path: Path) -> None:
    document = dresscode_document(rows(), (1024, 768))
    assert document["keypoints"][0] == [50.25, 25.125, 0.9, 0]
    assert document["keypoints"][5] == [0.0, 0.0, 0.0, 5]
    path = tmp_path / "000000_2.json"
    path.write_text(json.dumps(document))
    np.testing.assert_allclose(read_dresscode_keypoints(path, (1024, 768)), rows(), atol=1e-3)


def test_openpose_document_refuses_other_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        openpose_document(np.zeros((17, 3), np.float32))


def test_pairs_files(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    pairs = [Pair("a.jpg", "b.jpg", Category.LOWER), Pair("c.jpg", "d.jpg", Category.OVERALL)]
    write_pairs(path, pairs, with_category=True)
    assert path.read_text() == "a.jpg b.jpg 1\nc.jpg d.jpg 2\n"
    assert read_pairs(path) == [(p.person, p.garment, p.category) for p in pairs]
    write_pairs(path, pairs)
    assert read_pairs(path, default=Category.UPPER)[0] == ("a.jpg", "b.jpg", Category.UPPER)
    with pytest.raises(TryOnError, match="line 1: expected 'person garment'"):
        read_pairs(path)  # no category column and no default
    assert Pair("x.jpg", "y.png", Category.UPPER).key == "x_y"


def test_viton_hd_reader_on_a_hand_made_folder(tmp_path: Path) -> None:
    test = tmp_path / "test"
    for folder in ("image", "cloth", "cloth-mask", "agnostic-mask", "openpose_json"):
        (test / folder).mkdir(parents=True)
    for name in ("00001_00.jpg", "00002_00.jpg"):
        (test / "image" / name).write_bytes(b"")
        (test / "cloth" / name).write_bytes(b"")
        (test / "cloth-mask" / name).write_bytes(b"")
    (test / "agnostic-mask" / "00001_00_mask.png").write_bytes(b"")
    (test / "openpose_json" / "00001_00_keypoints.json").write_text(
        json.dumps(openpose_document(rows()))
    )
    (tmp_path / "test_pairs.txt").write_text("00001_00.jpg 00002_00.jpg\n")
    dataset = open_dataset(tmp_path)
    assert [p.key for p in dataset.pairs(PairMode.PAIRED)] == [
        "00001_00_00001_00",
        "00002_00_00002_00",
    ]
    (pair,) = dataset.pairs(PairMode.UNPAIRED)
    files = dataset.files(pair)
    assert files.garment == test / "cloth" / "00002_00.jpg"
    assert files.agnostic_mask == test / "agnostic-mask" / "00001_00_mask.png"
    assert files.garment_mask == test / "cloth-mask" / "00002_00.jpg"
    keypoints = dataset.keypoints(pair, (1024, 768))
    assert keypoints is not None and keypoints[0, 2] == pytest.approx(0.9)
    other = dataset.files(Pair("00002_00.jpg", "00001_00.jpg", Category.UPPER))
    assert other.agnostic_mask is None and other.keypoints is None


def test_open_dataset_says_what_it_expects(tmp_path: Path) -> None:
    with pytest.raises(TryOnError, match="no such folder"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(TryOnError, match="neither VITON-HD"):
        open_dataset(tmp_path)


def test_dresscode_reader_prefers_category_files_and_reads_the_root_file(tmp_path: Path) -> None:
    for folder in ("upper_body", "dresses"):
        (tmp_path / folder / "images").mkdir(parents=True)
    (tmp_path / "test_pairs_unpaired.txt").write_text("000001_0.jpg 000002_1.jpg 2\n")
    dataset = open_dataset(tmp_path)
    assert dataset.layout == "dresscode"
    (pair,) = dataset.pairs(PairMode.UNPAIRED)
    assert pair.category is Category.OVERALL
    assert dataset.files(pair).garment == tmp_path / "dresses" / "images" / "000002_1.jpg"
    assert dataset.files(pair).keypoints is None
    (tmp_path / "upper_body" / "test_pairs_unpaired.txt").write_text("000003_0.jpg 000004_1.jpg\n")
    (pair,) = dataset.pairs(PairMode.UNPAIRED)
    assert (pair.person, pair.category) == ("000003_0.jpg", Category.UPPER)
    with pytest.raises(TryOnError, match=r"no test_pairs_paired\.txt"):
        dataset.pairs(PairMode.PAIRED)


def test_dresscode_train_split_reads_train_pairs(tmp_path: Path) -> None:
    (tmp_path / "upper_body" / "images").mkdir(parents=True)
    (tmp_path / "test_pairs_paired.txt").write_text("000009_0.jpg 000009_1.jpg 0\n")
    (tmp_path / "train_pairs.txt").write_text("000001_0.jpg 000001_1.jpg 2\n")
    train = open_dataset(tmp_path, split="train")
    assert (train.layout, train.split) == ("dresscode", "train")
    (pair,) = train.pairs(PairMode.PAIRED)
    assert (pair.person, pair.category) == ("000001_0.jpg", Category.OVERALL)
    (tmp_path / "upper_body" / "train_pairs.txt").write_text("000002_0.jpg 000002_1.jpg\n")
    (pair,) = train.pairs(PairMode.PAIRED)
    assert (pair.person, pair.category) == ("000002_0.jpg", Category.UPPER)
    with pytest.raises(DatasetError, match="paired pairs only"):
        train.pairs(PairMode.UNPAIRED)
    (pair,) = open_dataset(tmp_path).pairs(PairMode.PAIRED)  # the test split is apart
    assert pair.person == "000009_0.jpg"


def test_viton_hd_train_split_reads_train_pairs(tmp_path: Path) -> None:
    for split in ("train", "test"):
        (tmp_path / split / "image").mkdir(parents=True)
    (tmp_path / "train" / "image" / "00001_00.jpg").write_bytes(b"")
    (tmp_path / "train_pairs.txt").write_text("00001_00.jpg 00001_00.jpg\n")
    train = open_dataset(tmp_path, split="train")
    assert [p.key for p in train.pairs(PairMode.PAIRED)] == ["00001_00_00001_00"]
    assert train.files(train.pairs(PairMode.PAIRED)[0]).person == (
        tmp_path / "train" / "image" / "00001_00.jpg"
    )
    assert train.person_photos() == [tmp_path / "train" / "image" / "00001_00.jpg"]
    (tmp_path / "train_pairs.txt").unlink()  # paired by name without the file
    assert train.pairs(PairMode.PAIRED) == []
    assert open_dataset(tmp_path).person_photos() == []  # test/ is another folder
