"""The catvton and hybrid engines end to end on the sample photos, with tiny models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.diffusion.tiny import tiny_models
from tests.photos import GARMENT, PERSON
from tryon import TryOn, TryOnError, cli
from tryon.body.agnostic import agnostic_mask
from tryon.diffusion.images import image_hw, working_size
from tryon.diffusion.sampling import SamplerConfig
from tryon.engines.catvton import CatVTONConfig, CatVTONEngine, repaint
from tryon.engines.hybrid import HybridConfig, HybridEngine
from tryon.engines.warp import WarpEngine
from tryon.imageio import load_image
from tryon.types import Category, DiffusionDetails, TryOnResult

SMALL = 96 * 72  # working area: tiny models at a tiny size keep the tests fast
FEW = SamplerConfig("compat-few", steps=4)


@pytest.fixture(scope="module")
def photos() -> tuple[np.ndarray, np.ndarray]:
    return load_image(PERSON), load_image(GARMENT)


@pytest.fixture(scope="module")
def catvton(warp_engine: WarpEngine) -> CatVTONEngine:
    config = CatVTONConfig(preset=FEW, area=SMALL, seed=7)
    return CatVTONEngine(config=config, models=tiny_models(), analyzers=warp_engine.analyzers)


@pytest.fixture(scope="module")
def dressed(catvton: CatVTONEngine, photos) -> TryOnResult:
    return TryOn(catvton).run(photos[0], photos[1], category="upper")


def test_catvton_changes_only_the_agnostic_mask(dressed: TryOnResult, photos) -> None:
    person = photos[0]
    assert dressed.image.shape == person.shape and dressed.image.dtype == np.uint8
    outside = ~dressed.agnostic_mask
    assert np.array_equal(dressed.image[outside], person[outside])
    inside = dressed.agnostic_mask
    assert np.abs(dressed.image[inside].astype(int) - person[inside]).mean() > 5
    assert dressed.category is Category.UPPER
    assert {"analysis", "diffusion", "repaint", "total"} <= set(dressed.timings)


def test_catvton_keeps_the_raw_model_output_in_its_details(dressed: TryOnResult, photos) -> None:
    """The image is the raw output blended into the photo: equal to it where the blend
    weight reaches 1 (deep inside the mask), the photo's outside the mask."""
    assert isinstance(dressed.details, DiffusionDetails)
    generated = dressed.details.generated
    assert generated.shape == photos[0].shape and generated.dtype == np.uint8
    assert np.array_equal(dressed.image, repaint(photos[0], generated, dressed.agnostic_mask))
    with pytest.raises(ValueError, match="not made by warping"):
        _ = dressed.warp_details


def test_catvton_uses_the_warp_engines_agnostic_mask(dressed: TryOnResult) -> None:
    expected = agnostic_mask(dressed.body, Category.UPPER)
    assert np.array_equal(dressed.agnostic_mask, expected)


def test_catvton_is_deterministic_for_a_seed(catvton: CatVTONEngine, dressed, photos) -> None:
    person, garment = photos
    first = catvton.renderer.render([person], [garment], [dressed.agnostic_mask]).images[0]
    again = catvton.renderer.render([person], [garment], [dressed.agnostic_mask]).images[0]
    assert np.array_equal(first, again)
    other = CatVTONEngine(
        config=CatVTONConfig(preset=FEW, area=SMALL, seed=8),
        models=catvton.renderer.pipeline.models,
        analyzers=catvton.analyzers,
    )
    changed = other.renderer.render([person], [garment], [dressed.agnostic_mask]).images[0]
    assert np.abs(changed.astype(int) - first).max() > 0


def test_the_garment_is_encoded_once_and_reused(catvton: CatVTONEngine, photos) -> None:
    person, garment = photos
    mask = np.zeros(person.shape[:2], bool)
    mask[100:300, 100:300] = True
    calls: list[int] = []
    hook = catvton.renderer.pipeline.models.vae.encoder.register_forward_hook(
        lambda m, a, o: calls.append(a[0].shape[0])
    )
    try:
        catvton.renderer._garments.clear()
        catvton.renderer.render([person], [garment], [mask])
        catvton.renderer.render([person], [garment], [mask])
    finally:
        hook.remove()
    # First call: garment + masked person; second: the masked person only.
    assert calls == [1, 1, 1]


def test_a_batch_and_any_size(catvton: CatVTONEngine, photos) -> None:
    person, garment = photos
    odd = person[:301, :203]  # sides that are not multiples of 8
    masks = [np.zeros(image_hw(p), bool) for p in (person, odd)]
    for m in masks:
        m[50:200, 40:150] = True
    out = catvton.renderer.render([person, odd], [garment, garment], masks)
    assert [o.shape for o in out.images] == [person.shape, odd.shape]
    assert working_size(image_hw(odd), SMALL).padded[0] % 8 == 0
    # Tiny working size: both warn that the model runs far from its training size.
    assert all("far from the 1024x768" in w[0] for w in out.warnings)


def test_mask_of_another_size_is_refused(catvton: CatVTONEngine, photos) -> None:
    person, garment = photos
    with pytest.raises(TryOnError, match="give a mask of the photo's size"):
        catvton.renderer.render([person], [garment], [np.zeros((10, 10), bool)])


@pytest.fixture(scope="module")
def hybrid(warp_engine: WarpEngine) -> HybridEngine:
    config = HybridConfig(steps=2, crop_area=96 * 72)
    return HybridEngine(config=config, models=tiny_models(), warp=warp_engine)


def test_hybrid_repaints_only_its_refine_mask(hybrid: HybridEngine, photos) -> None:
    person, garment = photos
    analysis = hybrid.analyze_garment(garment, Category.UPPER)
    warped = hybrid.warp.dress(person, analysis, Category.UPPER)
    refined = hybrid.refine(warped, garment)
    changed = np.any(refined.image != warped.image, axis=-1)
    assert refined.mask.any() and changed.any()
    assert not (changed & ~refined.mask).any()  # nothing outside the refine mask
    assert not (refined.mask & ~warped.agnostic_mask).any()
    assert np.all(refined.weight[~refined.mask] == 0)
    result = hybrid.dress(person, analysis, Category.UPPER)
    outside = ~result.agnostic_mask
    assert np.array_equal(result.image[outside], person[outside])  # bit for bit
    assert np.array_equal(result.image, refined.image)  # deterministic
    assert "refine" in result.timings


def test_engines_load_a_weights_directory_by_name(tiny_weights: Path, photos) -> None:
    tryon = TryOn(engine="catvton", weights=tiny_weights)
    assert isinstance(tryon.engine, CatVTONEngine)
    assert tryon.engine.renderer.pipeline.models.attention is not None
    hybrid = TryOn(engine="hybrid", weights=tiny_weights).engine
    assert isinstance(hybrid, HybridEngine)
    # Each engine is the one named, its models read from the directory given: every key
    # of the tiny attention file, for all four self-attention modules of the tiny UNet.
    assert (tryon.engine.name, hybrid.name) == ("catvton", "hybrid")
    for engine in (tryon.engine, hybrid):
        attention = engine.renderer.pipeline.models.attention
        assert (attention.loaded, attention.modules) == (20, 4)


def test_cli_run_without_weights_says_how_to_get_them(tmp_path: Path, capfd) -> None:
    missing = tmp_path / "none"
    args = ["run", "--person", str(PERSON), "--garment", str(GARMENT)]
    code = cli.main(
        [*args, "--out", str(tmp_path / "o.png"), "--engine", "catvton", "--weights", str(missing)]
    )
    assert code == 2
    err = capfd.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("tryon:")]
    assert line.startswith("tryon: error: the diffusion weights directory")
    assert f"tryon weights fetch --dir {missing}" in line
