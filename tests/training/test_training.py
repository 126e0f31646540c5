"""CatVTON's training recipe on tiny models of the real block layout (CPU, seeded)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel
from PIL import Image as PILImage
from safetensors.torch import load_file

from tests.diffusion.tiny import tiny_models
from tryon.dataset.layout import DatasetError, open_dataset
from tryon.dataset.training_pairs import MaskSource
from tryon.diffusion.attention import checkpoint_keys, load_attention
from tryon.diffusion.models import UNET_CONFIG, DiffusionModels
from tryon.training import TrainConfig, TrainingError
from tryon.training.latents import LatentBatch, LatentCache
from tryon.training.loop import TrainInputs, train
from tryon.training.objective import condition, draw_step, dream_update, training_loss
from tryon.training.samples import read_samples
from tryon.training.trainable import trainable_parameters

SIZE = (64, 48)
PHOTO = (128, 96)
FAST = TrainConfig(
    steps=4,
    height=SIZE[0],
    width=SIZE[1],
    masks=MaskSource.DATASET,
    checkpoint_every=2,
    validate_every=0,
    log_every=1,
    learning_rate=1e-3,
)


def write_dataset(root: Path, pairs: int = 3, seed: int = 0) -> Path:
    """A VITON-HD train split of random photos with rectangular agnostic masks."""
    rng = np.random.default_rng(seed)
    folders = {name: root / "train" / name for name in ("image", "cloth", "agnostic-mask")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    lines = []
    for i in range(pairs):
        name = f"{i:05d}_00"
        person = rng.integers(0, 256, (*PHOTO, 3), np.uint8)
        garment = rng.integers(0, 256, (*PHOTO, 3), np.uint8)
        mask = np.zeros(PHOTO, np.uint8)
        mask[32:96, 16:80] = 255
        PILImage.fromarray(person).save(folders["image"] / f"{name}.jpg", quality=95)
        PILImage.fromarray(garment).save(folders["cloth"] / f"{name}.jpg", quality=95)
        PILImage.fromarray(mask).save(folders["agnostic-mask"] / f"{name}_mask.png")
        lines.append(f"{name}.jpg {name}.jpg")
    (root / "train_pairs.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data")


def run(dataset: Path, out: Path, config: TrainConfig, **options) -> tuple:
    models = options.pop("models", None) or tiny_models(0)
    inputs = TrainInputs(dataset, out / "no-weights", out)
    result = train(inputs, config, models=models, device="cpu", show_progress=False, **options)
    return result, models


def log_losses(run_dir: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return {row["step"]: row["loss"] for row in rows if "loss" in row}


def test_only_the_self_attention_changes(dataset: Path, tmp_path: Path) -> None:
    before = tiny_models(0)
    result, after = run(dataset, tmp_path / "out", FAST)
    attention = {name for name, _ in trainable_parameters(after.unet, "attention")}
    changed = {
        name
        for (name, a), (_, b) in zip(
            before.unet.named_parameters(), after.unet.named_parameters(), strict=True
        )
        if not torch.equal(a, b.float())
    }
    assert changed == attention
    for a, b in zip(before.vae.parameters(), after.vae.parameters(), strict=True):
        assert torch.equal(a, b)
    assert result.step == FAST.steps and not result.interrupted


def test_the_checkpoint_is_catvtons_format_and_loads_into_the_engine(
    dataset: Path, tmp_path: Path
) -> None:
    result, models = run(dataset, tmp_path / "out", FAST)
    state = load_file(str(result.attention))
    assert set(state) == set(checkpoint_keys(models.unet))
    assert all(t.dtype == torch.float32 for t in state.values())
    fresh = tiny_models(0)
    report = load_attention(fresh.unet, state, result.attention, tmp_path)
    assert report.loaded == len(state)
    for name, param in checkpoint_keys(fresh.unet).values():
        trained = dict(models.unet.named_modules())[name].get_parameter(param).float()
        assert torch.equal(dict(fresh.unet.named_modules())[name].get_parameter(param), trained)
    record = json.loads((result.run_dir / "training.json").read_text())
    assert record["start"] == "base" and "OpenRAIL" in record["licence"]
    assert record["step"] == FAST.steps


def test_the_real_unet_gives_catvtons_80_keys() -> None:
    with torch.device("meta"):
        unet = UNet2DConditionModel(**UNET_CONFIG)
    keys = checkpoint_keys(unet)
    assert len(keys) == 80
    assert list(keys)[:5] == [
        "0.to_q.weight",
        "0.to_k.weight",
        "0.to_v.weight",
        "0.to_out.0.weight",
        "0.to_out.0.bias",
    ]
    assert "120.to_out.0.bias" in keys
    params = sum(p.numel() for _, p in trainable_parameters(unet, "attention"))
    assert params == 49_574_080


def held_out_loss(models: DiffusionModels, data: Path, draws: int = 24) -> float:
    """The objective on a fixed set of draws (the same before and after training)."""
    samples = read_samples(open_dataset(data, "train"), SIZE, MaskSource.DATASET)
    cache = LatentCache(samples, models.vae, torch.device("cpu"))
    generator = torch.Generator().manual_seed(123)
    total = 0.0
    with torch.no_grad():
        for _ in range(draws):
            batch = cache.draw(torch.zeros(1, dtype=torch.long), generator)
            step = draw_step(batch, 1000, 0.0, generator)
            total += float(training_loss(models.unet, models.scheduler, batch, step, 0.0))
    return total / draws


def test_the_loss_falls_on_a_small_overfit_set(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "one", pairs=1)
    models = tiny_models(0)
    before = held_out_loss(models, data)
    config = replace(FAST, steps=60, checkpoint_every=0, dream_power=0, learning_rate=1e-2)
    run(data, tmp_path / "out", config, models=models)
    after = held_out_loss(models, data)
    assert after < 0.8 * before, (before, after)


def test_a_resumed_run_continues_the_uninterrupted_loss_curve(
    dataset: Path, tmp_path: Path
) -> None:
    whole, _ = run(dataset, tmp_path / "whole", replace(FAST, steps=4))
    run(dataset, tmp_path / "split", replace(FAST, steps=2))
    second, _ = run(dataset, tmp_path / "split", replace(FAST, steps=4), resume="latest")
    assert log_losses(second.run_dir) == log_losses(whole.run_dir)
    a, b = load_file(str(whole.attention)), load_file(str(second.attention))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_interrupt_saves_a_checkpoint_and_the_attention(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tryon.training import logs

    advance = logs.RunLog.advance
    done = []

    def interrupt_at_step_3(self, steps: int = 1) -> None:
        advance(self, steps)
        done.append(steps)
        if len(done) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would

    monkeypatch.setattr(logs.RunLog, "advance", interrupt_at_step_3)
    config = replace(FAST, steps=10, checkpoint_every=0)
    result, _ = run(dataset, tmp_path / "out", config)
    assert result.interrupted and result.step == 3
    assert (result.run_dir / "checkpoints" / "step-0000003").is_dir()
    assert not list((result.run_dir / "checkpoints").glob("*.partial"))
    assert result.attention.is_file()


def test_only_the_newest_checkpoints_are_kept(dataset: Path, tmp_path: Path) -> None:
    config = replace(FAST, steps=6, checkpoint_every=1, keep_checkpoints=2)
    result, _ = run(dataset, tmp_path / "out", config)
    kept = sorted(p.name for p in (result.run_dir / "checkpoints").iterdir())
    assert kept == ["step-0000005", "step-0000006"]


def test_a_folder_holding_another_run_is_refused(dataset: Path, tmp_path: Path) -> None:
    run(dataset, tmp_path / "out", FAST)
    with pytest.raises(TrainingError, match="already holds a run: pass --resume latest"):
        run(dataset, tmp_path / "out", FAST)
    with pytest.raises(TrainingError, match="holds another run \\(its seed differ"):
        run(dataset, tmp_path / "out", replace(FAST, seed=5), resume="latest")


def test_missing_files_and_masks_of_another_size_are_named(dataset: Path, tmp_path: Path) -> None:
    (dataset / "train" / "cloth" / "00001_00.jpg").unlink()
    missing = re.escape("pair '00001_00.jpg 00001_00.jpg': garment photo ")
    with pytest.raises(DatasetError, match=missing + ".*no such file"):
        run(dataset, tmp_path / "a", FAST)
    other = write_dataset(tmp_path / "other")
    PILImage.fromarray(np.zeros((96, 64), np.uint8)).save(
        other / "train" / "agnostic-mask" / "00000_00_mask.png"
    )
    with pytest.raises(DatasetError, match=r"is 64x96, its person photo .* 96x128"):
        run(other, tmp_path / "b", FAST)


def test_bad_settings_are_refused_with_what_to_change() -> None:
    with pytest.raises(TrainingError, match="garment_dropout must be in \\[0, 1\\)"):
        TrainConfig(garment_dropout=1.5)
    with pytest.raises(TrainingError, match="multiples of 8"):
        TrainConfig(height=500)


# --- the objective on fixed tensors --------------------------------------------------


def _batch(b: int = 64) -> LatentBatch:
    g = torch.Generator().manual_seed(0)
    shape = (b, 4, 8, 6)
    return LatentBatch(
        person=torch.randn(shape, generator=g),
        masked=torch.randn(shape, generator=g),
        garment=torch.randn(shape, generator=g) + 3.0,
        mask=(torch.rand((b, 1, 8, 6), generator=g) > 0.5).float(),
    )


def test_garment_dropout_happens_at_its_rate_and_zeroes_exactly_the_garment_half() -> None:
    batch = _batch(4000)
    draws = draw_step(batch, 1000, 0.1, torch.Generator().manual_seed(1))
    assert abs((~draws.keep_garment).float().mean().item() - 0.1) < 0.015
    cond = condition(batch, draws.keep_garment)
    assert cond.shape == (4000, 5, 16, 6)
    mask, masked = cond[:, :1], cond[:, 1:]
    assert torch.equal(mask[..., :8, :], batch.mask)
    assert not mask[..., 8:, :].any()
    assert torch.equal(masked[..., :8, :], batch.masked)  # the person half always stays
    kept = draws.keep_garment
    assert torch.equal(masked[kept, :, 8:], batch.garment[kept])
    assert not masked[~kept, :, 8:].any()
    assert draws.noise.shape == (4000, 4, 16, 6)
    assert int(draws.timesteps.min()) >= 0 and int(draws.timesteps.max()) < 1000


def test_dream_matches_its_formula() -> None:
    g = torch.Generator().manual_seed(2)
    noisy, noise, predicted = (torch.randn((2, 4, 4, 4), generator=g) for _ in range(3))
    alphas = torch.tensor([0.9, 0.2])
    new_noisy, target = dream_update(noisy, noise, predicted, alphas, power=10.0)
    for i, a in enumerate(alphas.tolist()):
        s = (1 - a) ** 0.5
        delta = s**10 * (noise[i] - predicted[i])
        torch.testing.assert_close(new_noisy[i], noisy[i] + s * delta)
        torch.testing.assert_close(target[i], noise[i] + delta)
    untouched, same = dream_update(noisy, noise, predicted, torch.ones(2), power=10.0)
    torch.testing.assert_close(untouched, noisy)
    torch.testing.assert_close(same, noise)


def test_the_models_given_are_trained_in_place(dataset: Path, tmp_path: Path) -> None:
    models: DiffusionModels = tiny_models(3)
    result, trained = run(dataset, tmp_path / "out", FAST, models=models)
    assert trained is models and result.attention.is_file()


def test_tryon_train_runs_end_to_end_from_the_command_line(
    dataset: Path, tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import main

    out = tmp_path / "runs"
    args = [
        "train", str(dataset), "--weights", str(tiny_weights), "--out", str(out),
        "--name", "shop", "--steps", "2", "--size", "64x48", "--masks", "dataset",
        "--device", "cpu", "--quiet", "--checkpoint-every", "1", "--validate-every", "2",
        "--validation-pairs", "2",
    ]  # fmt: skip
    assert main(args) == 0
    assert "trained step 2" in capsys.readouterr().out
    state = load_file(str(out / "shop" / "attention" / "model.safetensors"))
    assert len(state) == 20  # the tiny UNet's 4 self-attention modules x 5 tensors
    grid = PILImage.open(out / "shop" / "validation" / "step-0000002.png")
    assert grid.size == (4 * 48, 2 * 64)  # masked person, garment, result, truth per pair
    events = [json.loads(line) for line in (out / "shop" / "log.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "validation" and 0 <= e["ssim"] <= 1 for e in events)
    assert main(args) == 2  # the folder holds this run now: --resume latest continues it
    assert "--resume latest" in capsys.readouterr().err


def test_a_shops_own_photos_train_with_the_engines_masks(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Product photo + on-model photos -> 'tryon dataset build --split train' (the
    engines' agnostic masks) -> 'tryon train' on them with its default, project masks."""
    from tests.photos import garment, person
    from tryon.cli import main

    product = tmp_path / "raw" / "products" / "shirt-2"
    (product / "worn").mkdir(parents=True)
    shutil.copy(garment("shirts_2_front.jpg"), product / "product.jpg")
    for name in ("p1_studio.jpg", "p2_studio.jpg"):
        shutil.copy(person(name), product / "worn" / name)
    data = tmp_path / "data"
    build = ["dataset", "build", str(tmp_path / "raw"), str(data), "--split", "train"]
    assert main([*build, "--size", "192x256", "--quiet"]) == 0
    out = tmp_path / "runs"
    train_args = [
        "train", str(data), "--weights", str(tiny_weights), "--out", str(out),
        "--steps", "2", "--size", "64x48", "--device", "cpu", "--quiet",
        "--validate-every", "0", "--checkpoint-every", "0",
    ]  # fmt: skip
    assert main(train_args) == 0
    record = json.loads((out / "trained" / "training.json").read_text())
    assert record["config"]["masks"] == "project" and record["step"] == 2
    masks = sorted((data / "train" / "agnostic-mask").glob("*.png"))
    assert len(masks) == 2  # one engines' mask per on-model photo


def test_mixed_precision_casts_only_the_frozen_parts(dataset: Path, tmp_path: Path) -> None:
    """bf16 on the CPU, with gradient checkpointing and accumulation: the trained
    parameters (and so AdamW's state) stay float32, the frozen ones are bfloat16."""
    config = replace(
        FAST, mixed_precision="bf16", gradient_checkpointing=True, gradient_accumulation=2
    )
    result, models = run(dataset, tmp_path / "out", config)
    trained = {name for name, _ in trainable_parameters(models.unet, "attention")}
    dtypes = {name: p.dtype for name, p in models.unet.named_parameters()}
    assert {dtypes[n] for n in trained} == {torch.float32}
    assert {d for n, d in dtypes.items() if n not in trained} == {torch.bfloat16}
    assert {p.dtype for p in models.vae.parameters()} == {torch.bfloat16}
    assert np.isfinite(result.loss) and result.step == config.steps
