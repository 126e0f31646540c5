"""The catalog's Python API: records, ids, stored analyses, versions, artifacts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FULL_BODY, GARMENTS
from tryon import GarmentNotFoundError, InvalidImageError, TryOn
from tryon.catalog import (
    PREPROCESSING_VERSION,
    Catalog,
    CatalogError,
    GarmentRecord,
    UnknownGarmentError,
    garment_id,
)
from tryon.types import Category, GarmentAnalysis

SHIRT = next(g for g in GARMENTS if g.name.startswith("shirts"))
PANTS = next(g for g in GARMENTS if g.name.startswith("pants"))


@pytest.fixture()
def catalog(tmp_path: Path, tryon: TryOn) -> Catalog:
    return Catalog(tmp_path / "catalog", tryon=tryon)


def assert_same_analysis(a: GarmentAnalysis, b: GarmentAnalysis) -> None:
    for name in ("image", "mask", "pieces"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert a.category == b.category and a.source == b.source
    assert a.landmarks == b.landmarks
    assert a.neck_labels == b.neck_labels
    assert a.limbs.keys() == b.limbs.keys()
    for piece, limb in a.limbs.items():
        assert np.array_equal(limb.axis, b.limbs[piece].axis)
        assert np.array_equal(limb.widths, b.limbs[piece].widths)
        assert limb.axis.dtype == b.limbs[piece].axis.dtype == np.float32


def test_add_get_list_remove(catalog: Catalog) -> None:
    added = catalog.add(SHIRT)
    assert added.created
    record = added.record
    assert isinstance(record, GarmentRecord)
    assert record.id == garment_id(SHIRT.read_bytes())
    assert record.name == SHIRT.stem
    assert record.category is Category.UPPER and record.requested_category == "auto"
    assert record.source == "product" and record.version == PREPROCESSING_VERSION
    assert (record.width, record.height) == (1024, 1024)
    assert record.photo_path.read_bytes() == SHIRT.read_bytes()
    assert catalog.get(record.id) == record
    assert record.id in catalog
    pants = catalog.add(PANTS.read_bytes(), category="lower", name="jeans").record
    assert pants.name == "jeans" and pants.category is Category.LOWER
    assert pants.id == garment_id(PANTS.read_bytes(), "lower") != garment_id(PANTS.read_bytes())
    assert [r.id for r in catalog.list()] == sorted(
        [record.id, pants.id], key=lambda i: (catalog.get(i).created, i)
    )
    assert catalog.remove(record.id) == record
    assert record.id not in catalog
    with pytest.raises(UnknownGarmentError, match="no garment with id"):
        catalog.get(record.id)
    with pytest.raises(UnknownGarmentError):
        catalog.remove(record.id)
    assert [r.id for r in catalog.list()] == [pants.id]


def test_adding_twice_is_a_no_op(catalog: Catalog) -> None:
    first = catalog.add(SHIRT, name="first")
    meta = first.record.path / "meta.json"
    before = meta.stat().st_mtime_ns
    second = catalog.add(SHIRT.read_bytes(), name="second")
    assert not second.created
    assert second.record == first.record  # the name too
    assert meta.stat().st_mtime_ns == before


def test_stored_analysis_is_the_fresh_one(catalog: Catalog, tryon: TryOn) -> None:
    record = catalog.add(SHIRT).record
    fresh = tryon.analyze_garment(SHIRT)
    reopened = Catalog(catalog.path, tryon=tryon)  # nothing in memory: read from disk
    stored = reopened.analysis(record.id)
    assert_same_analysis(stored, fresh)
    assert reopened.analysis(record.id) is stored  # kept in memory
    assert not stored.image.flags.writeable  # shared: nobody may change it


def test_tryon_with_a_catalogued_garment_skips_analysis(catalog: Catalog, tryon: TryOn) -> None:
    record = catalog.add(SHIRT).record
    person = FULL_BODY[0]
    from_catalog = tryon.run(person, Catalog(catalog.path).analysis(record.id))
    from_photo = tryon.run(person, SHIRT)
    assert from_catalog.timings["garment"] == 0.0
    assert from_photo.timings["garment"] > 0.0
    assert np.array_equal(from_catalog.image, from_photo.image)


def test_nothing_is_pickled(catalog: Catalog) -> None:
    record = catalog.add(SHIRT).record
    files = {p.name for p in record.path.iterdir()}
    assert files == {
        "photo.jpg",
        "image.npy",
        "mask.png",
        "pieces.png",
        "analysis.json",
        "meta.json",
    }
    analysis = json.loads((record.path / "analysis.json").read_text())
    assert set(analysis) == {"category", "source", "neck_labels", "landmarks", "limbs"}
    np.load(record.path / "image.npy", allow_pickle=False)


def test_older_version_is_analysed_again(catalog: Catalog, tryon: TryOn) -> None:
    record = catalog.add(SHIRT).record
    catalog.put_artifact(record.id, "latent.npy", b"old latent")
    meta = json.loads((record.path / "meta.json").read_text())
    meta["version"] = PREPROCESSING_VERSION - 1
    (record.path / "meta.json").write_text(json.dumps(meta))
    (record.path / "mask.png").write_bytes(b"stale")  # would not even decode
    reader = Catalog(catalog.path, tryon=tryon)
    assert not reader.get(record.id).current
    assert reader.get_artifact(record.id, "latent.npy") is None
    analysis = reader.analysis(record.id)
    assert_same_analysis(analysis, tryon.analyze_garment(SHIRT))
    upgraded = reader.get(record.id)
    assert upgraded.version == PREPROCESSING_VERSION and upgraded.created == record.created
    assert reader.artifacts(record.id) == []
    assert_same_analysis(Catalog(catalog.path).analysis(record.id), analysis)


def test_artifacts(catalog: Catalog) -> None:
    record = catalog.add(SHIRT).record
    assert catalog.get_artifact(record.id, "catvton-latent.npy") is None
    catalog.put_artifact(record.id, "catvton-latent.npy", b"\x00\x01latent")
    catalog.put_artifact(record.id, "catvton-latent.npy", b"\x00\x02newer")
    assert catalog.get_artifact(record.id, "catvton-latent.npy") == b"\x00\x02newer"
    assert catalog.artifacts(record.id) == ["catvton-latent.npy"]
    for bad in ("../escape", "", ".hidden", "a/b"):
        with pytest.raises(CatalogError, match="artifact name"):
            catalog.put_artifact(record.id, bad, b"x")
    with pytest.raises(UnknownGarmentError):
        catalog.put_artifact("0123456789abcdef0123", "x", b"x")
    catalog.remove(record.id)
    with pytest.raises(UnknownGarmentError):
        catalog.get_artifact(record.id, "catvton-latent.npy")


def test_bad_photos_store_nothing(catalog: Catalog) -> None:
    with pytest.raises(InvalidImageError, match="not an image"):
        catalog.add(b"plain text, not a photo")
    white = np.full((600, 600, 3), 246, np.uint8)
    white[100:500, 150:450] = 250
    from tests.service.conftest import encoded

    with pytest.raises(GarmentNotFoundError):
        catalog.add(encoded(white))
    with pytest.raises(GarmentNotFoundError, match="trousers"):
        catalog.add(PANTS, category="upper")
    with pytest.raises(CatalogError, match="unknown category"):
        catalog.add(SHIRT, category="hat")
    with pytest.raises(InvalidImageError, match="no such file"):
        catalog.add(Path("no/such/photo.jpg"))
    assert catalog.list() == []
    assert [p.name for p in (catalog.path / "garments").iterdir()] == []


@pytest.mark.parametrize("bad_id", ["", "../../etc/passwd", "0123", "G" * 20, "a" * 10_000])
def test_malformed_ids_are_unknown(catalog: Catalog, bad_id: str) -> None:
    assert catalog.find(bad_id) is None
    with pytest.raises(UnknownGarmentError):
        catalog.analysis(bad_id)


def test_threads_adding_the_same_photo(catalog: Catalog) -> None:
    photo = SHIRT.read_bytes()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(catalog.add(photo))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.created for r in results) == [False] * 5 + [True]
    assert len({r.record for r in results}) == 1
    assert len(catalog.list()) == 1


def test_unusable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CatalogError, match="cannot be used"):
        Catalog(blocker / "catalog")
