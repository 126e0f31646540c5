"""``tryon dataset build`` end to end on real photos: layout, bad files, resume, DressCode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PHOTOS
from tests.dataset.raw import make_raw
from tryon import TryOn
from tryon.cli import main
from tryon.dataset import BuildConfig, PairMode, build_dataset, open_dataset
from tryon.dataset.build import PhotoAnalyzer, fit
from tryon.dataset.openpose import read_dresscode_keypoints, read_openpose
from tryon.errors import TryOnError
from tryon.types import Category


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, tryon: TryOn) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("build")
    raw = make_raw(root / "raw")
    build_dataset(
        raw, root / "ds", BuildConfig(size=(512, 384)), PhotoAnalyzer(tryon.engine.analyzers)
    )
    return raw, root / "ds"


def test_writes_the_viton_hd_layout(built: tuple[Path, Path]) -> None:
    _, out = built
    test = out / "test"
    people = ("p1_studio", "p2_studio", "p2_walking")
    for stem in people:
        assert Image.open(test / "image" / f"{stem}.jpg").size == (384, 512)
        mask = np.asarray(Image.open(test / "agnostic-mask" / f"{stem}_mask.png"))
        assert mask.shape == (512, 384) and set(np.unique(mask)) == {0, 255}
        assert 0.03 < (mask > 0).mean() < 0.5
        rows = read_openpose(test / "openpose_json" / f"{stem}_keypoints.json")
        assert rows.shape == (18, 3) and rows[1, 2] > 0  # the neck is seen
        assert Image.open(test / "openpose_img" / f"{stem}_rendered.png").size == (384, 512)
    for stem in ("shirts_1_front", "jackets_1_front", "p2_walking"):
        cloth_mask = np.asarray(Image.open(test / "cloth-mask" / f"{stem}.jpg"))
        assert 0.05 < (cloth_mask > 127).mean() < 0.9
    assert not (test / "image-densepose").exists()
    assert not (test / "image-parse-v3").exists()


def test_pairs_and_the_dataset_reader_agree(built: tuple[Path, Path]) -> None:
    _, out = built
    dataset = open_dataset(out)
    assert dataset.layout == "viton-hd"
    paired = dataset.pairs(PairMode.PAIRED)
    assert [(p.person, p.garment) for p in paired] == [("p2_walking.jpg", "p2_walking.jpg")]
    unpaired = dataset.pairs(PairMode.UNPAIRED)
    assert len(unpaired) == 3  # one other upper garment per person (pants are lower)
    assert all(p.person != p.garment and p.category is Category.UPPER for p in unpaired)
    files = dataset.files(unpaired[0])
    assert files.agnostic_mask and files.keypoints and files.garment_mask
    assert len(dataset.person_photos()) == 3


def test_bad_files_are_reported_and_listed(built: tuple[Path, Path]) -> None:
    _, out = built
    manifest = json.loads((out / "manifest.json").read_text())
    failed = manifest["failed"]
    assert set(failed) == {
        "people/notes.jpg",
        "people/shirt_only.jpg",
        "garments/pants_1_front.jpg",
    }
    assert "not an image" in failed["people/notes.jpg"]
    assert "no person found" in failed["people/shirt_only.jpg"]
    assert "lower" in failed["garments/pants_1_front.jpg"]
    readme = (out / "README.md").read_text()
    assert "image-densepose" in readme and "image-parse-v3" in readme
    assert "people/notes.jpg" in readme


def test_a_second_run_resumes(built: tuple[Path, Path], tryon: TryOn) -> None:
    raw, out = built
    before = (out / "test" / "image" / "p1_studio.jpg").stat().st_mtime_ns
    (out / "test" / "cloth" / "jackets_1_front.jpg").unlink()  # an interrupted photo
    steps: list[str] = []
    summary = build_dataset(
        raw, out, BuildConfig(size=(512, 384)), PhotoAnalyzer(tryon.engine.analyzers), steps.append
    )
    assert summary.built == 1 and summary.kept == 5
    assert len(summary.failed) == 3 and len(steps) == 9
    assert (out / "test" / "cloth" / "jackets_1_front.jpg").is_file()
    assert (out / "test" / "image" / "p1_studio.jpg").stat().st_mtime_ns == before


def test_other_settings_do_not_resume(built: tuple[Path, Path]) -> None:
    raw, out = built
    with pytest.raises(TryOnError, match="other settings"):
        build_dataset(raw, out, BuildConfig(size=(1024, 768)))


def test_dresscode_layout(tmp_path: Path, tryon: TryOn) -> None:
    source = make_raw(tmp_path / "src")
    raw = tmp_path / "raw"
    (raw / "people").mkdir(parents=True)
    (raw / "garments").mkdir()
    for name in ("people/p1_studio.jpg", "people/p2_studio.jpg"):
        (raw / name).write_bytes((source / name).read_bytes())
    # A selfie shows no legs: it joins the upper-body folder only.
    (raw / "people" / "selfie.jpg").write_bytes((PHOTOS / "people" / "p2_selfie.jpg").read_bytes())
    for name in ("garments/shirts_1_front.jpg", "garments/pants_1_front.jpg"):
        (raw / name).write_bytes((source / name).read_bytes())
    config = BuildConfig(layout="dresscode", size=(512, 384), category=None)
    summary = build_dataset(raw, tmp_path / "dc", config, PhotoAnalyzer(tryon.engine.analyzers))
    assert summary.failed == {} and summary.built == 5
    manifest = json.loads((tmp_path / "dc" / "manifest.json").read_text())
    assert manifest["people"]["selfie.jpg"]["categories"] == ["upper"]
    again = build_dataset(raw, tmp_path / "dc", config, PhotoAnalyzer(tryon.engine.analyzers))
    assert again.built == 0 and again.kept == 5
    dataset = open_dataset(tmp_path / "dc")
    assert dataset.layout == "dresscode"
    unpaired = dataset.pairs(PairMode.UNPAIRED)
    assert {p.category for p in unpaired} == {Category.UPPER, Category.LOWER}
    assert all(p.person.endswith("_0.jpg") and p.garment.endswith("_1.jpg") for p in unpaired)
    lower = next(p for p in unpaired if p.category is Category.LOWER)
    files = dataset.files(lower)
    assert files.person.parent.parent.name == "lower_body" and files.garment.is_file()
    assert files.agnostic_mask is not None and files.garment_mask is not None
    rows = dataset.keypoints(lower, (512, 384))
    assert rows is not None and rows[8, 2] > 0  # the right hip is seen
    assert files.keypoints is not None
    # DressCode's keypoints are stored at 384 x 512 / 2 and read back at the image's size.
    half = read_dresscode_keypoints(files.keypoints, (256, 192))
    np.testing.assert_allclose(half[:, :2] * 2, rows[:, :2], atol=0.01)
    root_pairs = (tmp_path / "dc" / "test_pairs_unpaired.txt").read_text().split("\n")[0]
    assert len(root_pairs.split()) == 3


def test_command_line_summary_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    (raw / "people").mkdir(parents=True)
    (raw / "garments").mkdir()
    (raw / "people" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    code = main(["dataset", "build", str(raw), str(tmp_path / "out"), "--size", "384x512"])
    captured = capsys.readouterr()
    assert code == 2
    assert "skipped people/broken.jpg" in captured.err
    assert "Traceback" not in captured.err
    assert "built 0 photos" in captured.out and "skipped 1" in captured.out


def test_command_line_refuses_a_raw_folder_without_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["dataset", "build", str(tmp_path), str(tmp_path / "out")])
    assert code == 2
    assert "RAW/people/" in capsys.readouterr().err


def test_fit_pads_person_photos_with_their_border_and_garments_with_white() -> None:
    image = np.zeros((200, 100, 3), np.uint8)
    image[:, 0] = 40  # left column
    person = fit(image, (200, 200), garment=False)
    assert person.shape == (200, 200, 3) and person[100, 0, 0] == 40
    garment = fit(image, (200, 200), garment=True)
    assert garment[100, 0].tolist() == [255, 255, 255]
    assert fit(image, (100, 100), garment=True).shape == (100, 100, 3)
