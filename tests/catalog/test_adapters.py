"""Per-garment adapters: stored in the catalog beside their garment, applied by the
diffusion engines to that garment's try-ons only (tiny models with seeded random weights,
a random LoRA in the layout ``tryon catalog tune`` writes)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save

from tests.catalog.lora import OTHER, RANK, SHIRT, ids, random_lora, write_adapter
from tests.diffusion.tiny import tiny_models
from tests.photos import person
from tryon import TryOn
from tryon.catalog import Catalog, CatalogError, NoAdapterError, UnknownGarmentError
from tryon.diffusion.adapters import AdapterError
from tryon.diffusion.renderer import RenderConfig
from tryon.diffusion.sampling import SamplerConfig
from tryon.engines.catvton import CatVTONConfig, CatVTONEngine
from tryon.engines.hybrid import HybridConfig, HybridEngine
from tryon.engines.warp import WarpEngine
from tryon.imageio import load_image
from tryon.types import GarmentAnalysis

SMALL = 96 * 72
FEW = SamplerConfig("compat-few", steps=3)


# --- storage (no model) ----------------------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path, tryon: TryOn) -> tuple[Catalog, str]:
    catalog = Catalog(tmp_path / "catalog", tryon=tryon)
    gid = catalog.add(SHIRT).record.id
    catalog.put_adapter(gid, b"weights", {"rank": 4, "alpha": 4.0, "version": "v", "steps": 9})
    return catalog, gid


def test_an_adapter_is_stored_beside_its_garment_and_attached_to_its_analysis(stored) -> None:
    catalog, gid = stored
    found = catalog.adapter(gid)
    assert found is not None
    assert found.adapter.weights == catalog.get(gid).path / "adapter" / "lora.safetensors"
    assert found.adapter.weights.read_bytes() == b"weights"
    assert (found.adapter.rank, found.adapter.alpha, found.adapter.version) == (4, 4.0, "v")
    assert found.config["steps"] == 9 and found.config["bytes"] == 7
    assert catalog.analysis(gid).adapter == found.adapter
    removed = catalog.remove_adapter(gid)
    assert removed.adapter == found.adapter
    assert catalog.adapter(gid) is None and catalog.analysis(gid).adapter is None
    with pytest.raises(NoAdapterError, match="tryon catalog tune"):
        catalog.remove_adapter(gid)


def test_tuning_again_replaces_the_adapter(stored) -> None:
    catalog, gid = stored
    first = catalog.adapter(gid)
    second = catalog.put_adapter(gid, b"other", {"rank": 8, "alpha": 8, "version": "v"})
    assert first is not None and second.adapter.digest != first.adapter.digest
    assert catalog.adapter(gid) == second
    leftovers = [p.name for p in (catalog.path / "garments").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_reanalysing_the_garment_drops_its_adapter(stored) -> None:
    catalog, gid = stored
    meta = catalog.get(gid).path / "meta.json"
    document = json.loads(meta.read_text())
    meta.write_text(json.dumps({**document, "version": document["version"] - 1}))
    assert catalog.adapter(gid) is None  # an older analysis's adapter is not served
    assert catalog.analysis(gid).adapter is None  # analysed again
    assert catalog.get(gid).current
    assert not (catalog.get(gid).path / "adapter").exists()


def test_bad_adapter_configs_and_unknown_garments_are_refused(stored) -> None:
    catalog, gid = stored
    with pytest.raises(CatalogError, match="'rank'"):
        catalog.put_adapter(gid, b"x", {"alpha": 1.0, "version": "v"})
    with pytest.raises(CatalogError, match="JSON"):
        catalog.put_adapter(gid, b"x", {"rank": 1, "alpha": 1.0, "version": "v", "x": object()})
    with pytest.raises(UnknownGarmentError):
        catalog.put_adapter("0" * 20, b"x", {"rank": 1, "alpha": 1.0, "version": "v"})
    with pytest.raises(UnknownGarmentError):
        catalog.adapter("0" * 20)
    catalog.remove(gid)
    assert not any((catalog.path / "garments").iterdir())


# --- the engines ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, tryon: TryOn) -> Catalog:
    """Two garments; the first (``ids(catalog)[0]``) has a random adapter."""
    catalog = Catalog(tmp_path_factory.mktemp("catalog"), tryon=tryon)
    for photo in (SHIRT, OTHER):
        catalog.add(photo, category="upper")
    config = {"rank": RANK, "alpha": float(RANK), "version": "mix-48k-1024"}
    catalog.put_adapter(ids(catalog)[0], save(random_lora()), config)
    return catalog


@pytest.fixture(scope="module")
def engine(warp_engine: WarpEngine) -> CatVTONEngine:
    config = CatVTONConfig(preset=FEW, area=SMALL, seed=3)
    return CatVTONEngine(config=config, models=tiny_models(), analyzers=warp_engine.analyzers)


@pytest.fixture(scope="module")
def people() -> list[np.ndarray]:
    return [load_image(person("p1_studio.jpg")), load_image(person("p2_studio.jpg"))]


@pytest.fixture(scope="module")
def base(engine: CatVTONEngine, catalog: Catalog, people) -> dict[str, list[np.ndarray]]:
    """Renders by the base model, made before the engine's UNet ever ran an adapter: one
    per person for each garment, alone and as one batch of both garments."""
    shirt, other = (replace(catalog.analysis(i), adapter=None) for i in ids(catalog))
    alone = [engine.dress(p, g, None).image for p, g in zip(people, (shirt, other), strict=True)]
    batch = [r.image for r in engine.dress_batch(people, [shirt, other], [None, None])]
    return {"alone": alone, "batch": batch}


def test_the_adapter_changes_its_garment_only(engine, catalog, people, base) -> None:
    shirt, other = (catalog.analysis(i) for i in ids(catalog))
    assert shirt.adapter == catalog.adapter(ids(catalog)[0]).adapter  # type: ignore[union-attr]
    assert other.adapter is None
    dressed = engine.dress(people[0], shirt, None)
    assert not np.array_equal(dressed.image, base["alone"][0])
    assert np.array_equal(engine.dress(people[1], other, None).image, base["alone"][1])
    batch = engine.dress_batch(people, [shirt, other], [None, None])
    assert not np.array_equal(batch[0].image, base["batch"][0])
    assert np.array_equal(batch[1].image, base["batch"][1])  # same batch, bit for bit


def test_concurrent_try_ons_of_other_garments_are_unaffected(engine, catalog, people, base) -> None:
    shirt, other = (catalog.analysis(i) for i in ids(catalog))
    tuned_image = engine.dress(people[0], shirt, None).image
    results: dict[str, list[np.ndarray]] = {"shirt": [], "other": []}

    def run(name: str, analysis: GarmentAnalysis, photo: np.ndarray) -> None:
        for _ in range(3):
            results[name].append(engine.dress(photo, analysis, None).image)

    threads = [
        threading.Thread(target=run, args=("shirt", shirt, people[0])),
        threading.Thread(target=run, args=("other", other, people[1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(im, tuned_image) for im in results["shirt"])
    assert all(np.array_equal(im, base["alone"][1]) for im in results["other"])


def test_removing_the_adapter_restores_the_base_output(engine, catalog, people, base) -> None:
    shirt_id = ids(catalog)[0]
    tuned_shirt = catalog.analysis(shirt_id)
    assert tuned_shirt.adapter is not None
    weights = tuned_shirt.adapter.weights.read_bytes()
    removed = catalog.remove_adapter(shirt_id)
    try:
        untuned = catalog.analysis(shirt_id)
        assert untuned.adapter is None
        assert np.array_equal(engine.dress(people[0], untuned, None).image, base["alone"][0])
    finally:
        catalog.put_adapter(shirt_id, weights, removed.config)


def test_an_adapter_tuned_on_other_weights_is_left_out(engine, catalog, people, base) -> None:
    shirt = catalog.analysis(ids(catalog)[0])
    assert shirt.adapter is not None
    other_version = replace(shirt, adapter=replace(shirt.adapter, version="vitonhd-16k-512"))
    result = engine.dress(people[0], other_version, None)
    assert np.array_equal(result.image, base["alone"][0])
    assert any("tuned on the vitonhd-16k-512 weights" in w for w in result.warnings)


def test_an_adapter_that_does_not_fit_is_refused(engine, tmp_path: Path, people) -> None:
    adapter = write_adapter(
        tmp_path, {"down_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 3)}, 4
    )
    mask = np.zeros(people[0].shape[:2], bool)
    mask[100:200, 100:200] = True
    with pytest.raises(AdapterError, match=r"does not fit this model.*tryon catalog tune abc"):
        engine.renderer.render([people[0]], [people[0]], [mask], [adapter])


def test_the_hybrid_engine_applies_the_adapter_to_its_garment_only(
    warp_engine: WarpEngine, catalog: Catalog, people
) -> None:
    config = HybridConfig(
        steps=2, crop_area=64 * 48, diffusion=RenderConfig(preset=FEW, seed=1, device="cpu")
    )
    hybrid = HybridEngine(config=config, models=tiny_models(), warp=warp_engine)
    shirt = catalog.analysis(ids(catalog)[0])
    assert shirt.adapter is not None
    untuned = replace(shirt, adapter=None)
    base = hybrid.dress(people[0], untuned, None).image
    assert not np.array_equal(hybrid.dress(people[0], shirt, None).image, base)
    assert np.array_equal(hybrid.dress(people[0], untuned, None).image, base)
