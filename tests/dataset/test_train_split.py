"""Train splits and a shop's products: built from real photos, read back, and checked for
training (``training_pairs``), with the errors a bad dataset gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PHOTOS
from tryon import TryOn
from tryon.cli import main
from tryon.dataset import (
    BuildConfig,
    DatasetError,
    MaskSource,
    PairMode,
    build_dataset,
    open_dataset,
    training_pairs,
    write_project_masks,
)
from tryon.dataset.build import PhotoAnalyzer, fit
from tryon.dataset.raw import raw_photos
from tryon.imageio import load_image
from tryon.types import Category

SIZE = (512, 384)


def make_shop(root: Path) -> Path:
    """``root/products/<product>/product.jpg`` and ``worn/``, from the real photos.

    The people need not wear the product for the layout. Bad entries: trousers in an
    upper-body (VITON-HD) build, a worn "photo" that is a flat-lay shirt (no person), and
    a product without worn photos.
    """
    products = {
        "shirt-1": ("garments/shirts_1_front.jpg", {"a": "p1_studio", "b": "p2_studio"}),
        "jacket-1": ("garments/jackets_1_front.jpg", {"walking": "p2_walking"}),
        "trousers-1": ("garments/pants_1_front.jpg", {"x": "p1_studio"}),
        "shirt-2": ("garments/shirts_2_front.jpg", {"flat": "../garments/shirts_1_front"}),
        "unworn": ("garments/shirts_2_front.jpg", {}),
    }
    for product, (photo, worn) in products.items():
        folder = root / "products" / product
        (folder / "worn").mkdir(parents=True)
        shutil.copy(PHOTOS / photo, folder / "product.jpg")
        for name, person in worn.items():
            shutil.copy(PHOTOS / "people" / f"{person}.jpg", folder / "worn" / f"{name}.jpg")
    return root


@pytest.fixture(scope="module")
def shop_train(tmp_path_factory: pytest.TempPathFactory, tryon: TryOn) -> Path:
    root = tmp_path_factory.mktemp("shop")
    raw = make_shop(root / "raw")
    config = BuildConfig(size=SIZE, split="train")
    build_dataset(raw, root / "ds", config, PhotoAnalyzer(tryon.engine.analyzers))
    return root / "ds"


def test_raw_products_are_listed_as_people_paired_with_their_product(tmp_path: Path) -> None:
    photos = raw_photos(make_shop(tmp_path))
    labels = [p.label for p in photos.people]
    assert labels[0] == "products/jacket-1/worn/walking.jpg" and len(labels) == 5
    assert [p.stem for p in photos.people] == [g.stem for g in photos.garments]
    garment = photos.garments[1]
    assert garment.label == "products/shirt-1/product.jpg" and garment.stem == "shirt-1_a"
    assert photos.people[1].garment == garment.key and garment.group == "products/shirt-1"


def test_a_shop_train_split_in_the_viton_hd_layout(shop_train: Path) -> None:
    train = shop_train / "train"
    people = ["jacket-1_walking.jpg", "shirt-1_a.jpg", "shirt-1_b.jpg"]
    assert sorted(p.name for p in (train / "image").iterdir()) == people
    assert sorted(p.name for p in (train / "cloth").iterdir()) == people
    shirt = (train / "cloth" / "shirt-1_a.jpg").read_bytes()
    assert (train / "cloth" / "shirt-1_b.jpg").read_bytes() == shirt  # one product, twice
    for name in people:
        stem = Path(name).stem
        for path in (
            train / "agnostic-mask" / f"{stem}_mask.png",
            train / "openpose_json" / f"{stem}_keypoints.json",
            train / "cloth-mask" / name,
        ):
            assert path.is_file()
    lines = (shop_train / "train_pairs.txt").read_text().splitlines()
    assert lines == [f"{name} {name}" for name in people]  # VITON-HD's: each with its own
    assert not (shop_train / "test").exists() and not (shop_train / "test_pairs.txt").exists()


def test_failed_products_and_photos_are_reported(shop_train: Path) -> None:
    manifest = json.loads((shop_train / "manifest.json").read_text())
    failed = manifest["failed"]
    assert set(failed) == {
        "products/trousers-1/product.jpg",
        "products/trousers-1/worn/x.jpg",
        "products/shirt-2/worn/flat.jpg",
    }
    assert "lower" in failed["products/trousers-1/product.jpg"]
    assert (
        "product photo products/trousers-1/product.jpg was skipped"
        in (failed["products/trousers-1/worn/x.jpg"])
    )
    assert "no person found" in failed["products/shirt-2/worn/flat.jpg"]
    assert manifest["pairs"] == {"paired": 3, "unpaired": 0}
    assert manifest["config"]["split"] == "train"
    readme = (shop_train / "README.md").read_text()
    assert "train split" in readme and "`test/`" in readme  # the other split: not produced


def test_the_train_split_reads_back(shop_train: Path) -> None:
    dataset = open_dataset(shop_train, split="train")
    assert (dataset.layout, dataset.split) == ("viton-hd", "train")
    pairs = dataset.pairs(PairMode.PAIRED)
    assert [p.person for p in pairs] == [p.garment for p in pairs]
    assert len(pairs) == 3 and len(dataset.person_photos()) == 3
    with pytest.raises(DatasetError, match="paired pairs only"):
        dataset.pairs(PairMode.UNPAIRED)
    with pytest.raises(DatasetError, match="no test split"):
        open_dataset(shop_train)
    with pytest.raises(DatasetError, match="unknown split 'val'"):
        open_dataset(shop_train, split="val")


def test_training_pairs_of_a_built_dataset_use_its_masks(shop_train: Path) -> None:
    dataset = open_dataset(shop_train, split="train")
    records = training_pairs(dataset)  # the project's masks: the ones the build wrote
    assert [r.person.name for r in records] == [
        "jacket-1_walking.jpg",
        "shirt-1_a.jpg",
        "shirt-1_b.jpg",
    ]
    for record in records:
        assert record.category is Category.UPPER
        assert record.mask == shop_train / "train" / "agnostic-mask" / (
            f"{record.person.stem}_mask.png"
        )
        assert record.garment == shop_train / "train" / "cloth" / record.person.name
        assert record.garment_mask is not None and record.garment_mask.is_file()
        mask = np.asarray(Image.open(record.mask))
        assert mask.shape == SIZE and 0.03 < (mask > 0).mean() < 0.5
    assert training_pairs(dataset, "dataset") == records  # here they are the same files


def test_bad_training_files_are_named_with_their_pair(shop_train: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(shop_train, copy)
    train = copy / "train"
    (train / "agnostic-mask" / "shirt-1_a_mask.png").unlink()
    (train / "cloth" / "shirt-1_b.jpg").write_text("not a photo")
    Image.new("L", (100, 80)).save(train / "agnostic-mask" / "jacket-1_walking_mask.png")
    dataset = open_dataset(copy, split="train")
    with pytest.raises(DatasetError) as caught:
        training_pairs(dataset)
    message = str(caught.value)
    assert "3 bad file(s) in 3 pairs" in message
    assert (
        f"pair 'shirt-1_a.jpg shirt-1_a.jpg': agnostic mask "
        f"{train / 'agnostic-mask' / 'shirt-1_a_mask.png'}: no such file"
    ) in message
    assert (
        f"pair 'shirt-1_b.jpg shirt-1_b.jpg': garment photo {train / 'cloth' / 'shirt-1_b.jpg'}: "
        "not a readable image"
    ) in message
    assert "is 100x80, its person photo" in message and "384x512" in message
    assert len(training_pairs(dataset, check=False)) == 3
    with pytest.raises(DatasetError, match="has 3 paired pairs; at least 10 are needed"):
        training_pairs(dataset, min_pairs=10)
    (copy / "train_pairs.txt").write_text("")
    with pytest.raises(DatasetError, match="has 0 paired pairs"):
        training_pairs(open_dataset(copy, split="train"))


def test_a_shop_test_split_in_the_dresscode_layout(tmp_path: Path, tryon: TryOn) -> None:
    raw = make_shop(tmp_path / "raw")
    shutil.rmtree(raw / "products" / "shirt-2")
    config = BuildConfig(layout="dresscode", size=SIZE, category=None, unpaired_per_person=0)
    summary = build_dataset(raw, tmp_path / "dc", config, PhotoAnalyzer(tryon.engine.analyzers))
    assert summary.failed == {} and summary.pairs == {"paired": 4, "unpaired": 3}
    manifest = json.loads((tmp_path / "dc" / "manifest.json").read_text())
    group = {
        e["name"]: e["group"] for kind in ("people", "garments") for e in manifest[kind].values()
    }
    dataset = open_dataset(tmp_path / "dc")
    paired = dataset.pairs(PairMode.PAIRED)
    assert {p.category for p in paired} == {Category.UPPER, Category.LOWER}
    assert all(group[p.person] == group[p.garment] for p in paired)
    unpaired = dataset.pairs(PairMode.UNPAIRED)
    # Another product of the category, never another photo of the person's own product.
    assert all(group[p.person] != group[p.garment] for p in unpaired)
    assert {p.category for p in unpaired} == {Category.UPPER}


def test_a_dresscode_train_split(tmp_path: Path, tryon: TryOn) -> None:
    raw = make_shop(tmp_path / "raw")
    for product in ("shirt-1", "shirt-2", "unworn"):
        shutil.rmtree(raw / "products" / product)
    config = BuildConfig(layout="dresscode", size=SIZE, category=None, split="train")
    summary = build_dataset(raw, tmp_path / "dc", config, PhotoAnalyzer(tryon.engine.analyzers))
    assert summary.failed == {} and summary.pairs == {"paired": 2, "unpaired": 0}
    out = tmp_path / "dc"
    assert (out / "upper_body" / "train_pairs.txt").read_text() == "000000_0.jpg 000000_1.jpg\n"
    assert (out / "lower_body" / "train_pairs.txt").read_text() == "000001_0.jpg 000001_1.jpg\n"
    assert sorted((out / "train_pairs.txt").read_text().splitlines()) == [
        "000000_0.jpg 000000_1.jpg 0",
        "000001_0.jpg 000001_1.jpg 1",
    ]
    assert not list(out.glob("*/test_pairs_*.txt"))
    # A worn photo goes to its product's category folder only.
    assert not (out / "lower_body" / "images" / "000000_0.jpg").exists()
    records = training_pairs(open_dataset(out, split="train"))
    assert [(r.category, r.mask.name) for r in records] == [
        (Category.UPPER, "000000_0.png"),
        (Category.LOWER, "000001_0.png"),
    ]


def official_viton_hd(root: Path) -> Path:
    """A VITON-HD train split as published: one real person with a dataset mask."""
    train = root / "train"
    for folder in ("image", "cloth", "agnostic-mask"):
        (train / folder).mkdir(parents=True)
    for source, folder in (
        ("people/p1_studio.jpg", "image"),
        ("garments/shirts_1_front.jpg", "cloth"),
    ):
        photo = fit(load_image(PHOTOS / source), SIZE, garment=folder == "cloth")
        Image.fromarray(photo).save(train / folder / "00001_00.jpg", quality=95)
    Image.new("L", SIZE[::-1], 255).save(train / "agnostic-mask" / "00001_00_mask.png")
    (root / "train_pairs.txt").write_text("00001_00.jpg 00001_00.jpg\n")
    return root


def test_a_published_dataset_gets_the_project_masks(tmp_path: Path, tryon: TryOn) -> None:
    dataset = open_dataset(official_viton_hd(tmp_path / "vitonhd"), split="train")
    (own,) = training_pairs(dataset, MaskSource.DATASET)
    assert own.mask == tmp_path / "vitonhd" / "train" / "agnostic-mask" / "00001_00_mask.png"
    with pytest.raises(DatasetError, match="tryon dataset masks") as caught:
        training_pairs(dataset)
    expected = tmp_path / "vitonhd" / "tryon-agnostic-mask" / "train" / "upper_body"
    assert f"agnostic mask {expected / '00001_00.png'}: no such file" in str(caught.value)
    analyzer = PhotoAnalyzer(tryon.engine.analyzers)
    summary = write_project_masks(dataset, analyzer=analyzer)
    assert (summary.written, summary.kept, summary.failed) == (1, 0, {})
    (record,) = training_pairs(dataset)
    assert record.mask == expected / "00001_00.png"
    mask = np.asarray(Image.open(record.mask))
    assert mask.shape[::-1] == Image.open(record.person).size
    assert 0.03 < (mask > 0).mean() < 0.5  # the engines' mask, not the dataset's all-white
    assert write_project_masks(dataset, analyzer=analyzer).kept == 1


def test_command_line_train_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    (raw / "products" / "shirt" / "worn").mkdir(parents=True)
    shutil.copy(PHOTOS / "garments" / "shirts_1_front.jpg", raw / "products/shirt/product.jpg")
    (raw / "products" / "shirt" / "worn" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    shutil.copy(PHOTOS / "people" / "p1_studio.jpg", raw / "products/shirt/worn/front.jpg")
    out = tmp_path / "out"
    code = main(["dataset", "build", str(raw), str(out), "--size", "384x512", "--split", "train"])
    captured = capsys.readouterr()
    assert code == 2
    assert "skipped products/shirt/worn/broken.jpg" in captured.err
    assert "1 paired, 0 unpaired" in captured.out and "train split" in captured.out
    assert (out / "train_pairs.txt").read_text() == "shirt_front.jpg shirt_front.jpg\n"
    assert sorted(p.name for p in (out / "train" / "cloth").iterdir()) == ["shirt_front.jpg"]
    assert main(["dataset", "info", str(out), "--split", "train"]) == 0
    info = capsys.readouterr().out
    assert "viton-hd, train split, 1 person photos" in info and "paired pairs: 1" in info
    assert "unpaired pairs: none (" in info
    assert main(["dataset", "info", str(out)]) == 2
    assert "has no test split" in capsys.readouterr().err


def test_command_line_masks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = official_viton_hd(tmp_path / "vitonhd")
    assert main(["dataset", "masks", str(root), "--quiet"]) == 0
    assert "wrote 1 masks, kept 0, skipped 0" in capsys.readouterr().out
    assert (root / "tryon-agnostic-mask" / "train" / "upper_body" / "00001_00.png").is_file()
    (root / "train" / "image" / "00001_00.jpg").write_text("not a photo")
    (root / "tryon-agnostic-mask" / "train" / "upper_body" / "00001_00.png").unlink()
    assert main(["dataset", "masks", str(root), "--quiet"]) == 2
    assert "00001_00.jpg: " in capsys.readouterr().err
