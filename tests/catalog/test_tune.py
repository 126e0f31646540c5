"""Tuning a garment's adapter (``tryon catalog tune``): only the LoRA trains, the loss
falls on the photos, the engines apply what peft trained, bad input is named (tiny models
with seeded random weights, the real people photos)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from peft import get_peft_model_state_dict

from tests.catalog.lora import OTHER, SHIRT, ids, write_adapter
from tests.diffusion.tiny import tiny_models
from tests.photos import FULL_BODY, SELFIES
from tryon import TryOn
from tryon.catalog import Catalog, UnknownGarmentError
from tryon.diffusion.adapters import LoadedAdapter, applying, lora_targets, read_adapter
from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
from tryon.engines.warp import WarpEngine
from tryon.imageio import load_image
from tryon.training.adapters import (
    TuneConfig,
    TuneResult,
    adapter_samples,
    lora_wrapped,
    tune_garment,
)
from tryon.training.config import TrainingError
from tryon.training.latents import LatentCache
from tryon.training.objective import draw_step, training_loss
from tryon.types import Category

TUNE = TuneConfig(rank=4, steps=60, learning_rate=5e-3, size=(64, 48), garment_dropout=0.0)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, tryon: TryOn) -> Catalog:
    catalog = Catalog(tmp_path_factory.mktemp("catalog"), tryon=tryon)
    for photo in (SHIRT, OTHER):
        catalog.add(photo, category="upper")
    return catalog


def tuning_renderer() -> DiffusionRenderer:
    return DiffusionRenderer(config=RenderConfig(device="cpu"), models=tiny_models())


@pytest.fixture(scope="module")
def tuned(catalog: Catalog, warp_engine: WarpEngine) -> tuple[TuneResult, DiffusionRenderer]:
    renderer = tuning_renderer()
    before = {k: v.clone() for k, v in renderer.pipeline.models.unet.state_dict().items()}
    steps: list[tuple[int, int]] = []
    result = tune_garment(
        catalog,
        ids(catalog)[0],
        FULL_BODY[:3],
        renderer,
        warp_engine.analyzers,
        TUNE,
        progress=lambda step, total, loss: steps.append((step, total)),
    )
    assert steps == [(i, TUNE.steps) for i in range(1, TUNE.steps + 1)]
    after = renderer.pipeline.models.unet.state_dict()
    assert list(after) == list(before)  # no peft wrapper left: names as they were
    assert all(torch.equal(after[k], v) for k, v in before.items())
    return result, renderer


def test_tuning_changes_only_the_lora_and_stores_it(tuned, catalog: Catalog) -> None:
    result, renderer = tuned
    unet = renderer.pipeline.models.unet
    assert all(p.requires_grad for p in unet.parameters())  # flags restored
    adapter = result.adapter.adapter
    assert adapter == catalog.adapter(ids(catalog)[0]).adapter  # type: ignore[union-attr]
    assert (adapter.rank, adapter.alpha, adapter.version) == (4, 4.0, renderer.version.name)
    assert result.used == [p.name for p in FULL_BODY[:3]] and result.rejected == []
    assert len(result.losses) == TUNE.steps
    config = result.adapter.config
    assert config["steps"] == TUNE.steps and config["photos"] == result.used
    loaded = read_adapter(adapter, unet, torch.device("cpu"))
    assert sorted(loaded.pairs) == sorted(lora_targets(unet))
    assert all(".attn1." in name for name in loaded.pairs)  # no cross-attention
    assert any(up.abs().max() > 0 for _, up in loaded.pairs.values())  # B moved from 0


def test_the_loss_falls_on_the_tuning_photos(tuned, catalog: Catalog, warp_engine) -> None:
    result, renderer = tuned
    models = renderer.pipeline.models
    analysis = catalog.analysis(ids(catalog)[0])
    samples, _ = adapter_samples(
        analysis.image, Category.UPPER, FULL_BODY[:3], TUNE.size, warp_engine.analyzers
    )
    cache = LatentCache(samples, models.vae, torch.device("cpu"))
    lora = read_adapter(result.adapter.adapter, models.unet, torch.device("cpu"))

    def mean_loss(adapter: LoadedAdapter | None) -> float:
        generator = torch.Generator().manual_seed(5)
        losses = []
        with torch.no_grad(), applying(models.unet, (adapter,)):
            for i in list(range(len(cache))) * 4:
                batch = cache.draw(torch.tensor([i]), generator)
                draws = draw_step(batch, 1000, 0.0, generator)
                losses.append(float(training_loss(models.unet, models.scheduler, batch, draws, 0)))
        return float(np.mean(losses))

    assert mean_loss(lora) < 0.9 * mean_loss(None)


def test_the_renderer_applies_an_adapter_as_peft_does(tmp_path: Path) -> None:
    """The forward hooks give peft's own LoRA forward, bit for bit."""
    unet = tiny_models().unet
    x = torch.randn(2, 9, 16, 6, generator=torch.Generator().manual_seed(0))
    with lora_wrapped(unet, rank=2, seed=1), torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape) * 0.1)
        state = get_peft_model_state_dict(unet, adapter_name="garment")
        by_peft = unet(x, 10, encoder_hidden_states=None).sample
    lora = read_adapter(write_adapter(tmp_path, state, 2), unet, torch.device("cpu"))
    with torch.no_grad():
        base = unet(x, 10, encoder_hidden_states=None).sample
        with applying(unet, (lora,)):
            by_hooks = unet(x, 10, encoder_hidden_states=None).sample
        again = unet(x, 10, encoder_hidden_states=None).sample
    assert torch.equal(by_hooks, by_peft)
    assert torch.equal(again, base) and not torch.equal(base, by_peft)


def test_bad_tuning_input_is_named(catalog: Catalog, warp_engine: WarpEngine) -> None:
    renderer = tuning_renderer()
    shirt = ids(catalog)[0]
    with pytest.raises(UnknownGarmentError):
        tune_garment(catalog, "0" * 20, FULL_BODY[:3], renderer, warp_engine.analyzers, TUNE)
    with pytest.raises(TrainingError, match="at least 3 on-model photos"):
        tune_garment(catalog, shirt, FULL_BODY[:2], renderer, warp_engine.analyzers, TUNE)
    photos = [*FULL_BODY[:2], SHIRT]  # a garment photo: nobody in it
    with pytest.raises(TrainingError, match=r"only 2 of 3 .*shirts_1_front\.jpg: .*person"):
        tune_garment(catalog, shirt, photos, renderer, warp_engine.analyzers, TUNE)
    with pytest.raises(TrainingError, match="rank must be at least 1"):
        TuneConfig(rank=0)


def test_photos_that_do_not_show_the_category_are_named(warp_engine: WarpEngine) -> None:
    garment_image = load_image(SHIRT)
    samples, rejected = adapter_samples(
        garment_image, Category.LOWER, [SELFIES[0], FULL_BODY[0]], (64, 48), warp_engine.analyzers
    )
    assert [s.key for s in samples] == [FULL_BODY[0].name]
    assert [r.name for r in rejected] == [SELFIES[0].name]
    assert "visible" in rejected[0].reason
