"""The weights directory: layout, strict loading, clear errors, ``tryon weights check``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0
from safetensors.torch import load_file, save_file

from tests.diffusion.tiny import TINY_UNET, tiny_models
from tryon import cli
from tryon.diffusion.attention import PARAMETERS
from tryon.diffusion.models import load_models, random_attention_state
from tryon.diffusion.renderer import DiffusionRenderer, RenderConfig
from tryon.diffusion.weights import (
    ATTENTION_FILE,
    WeightsError,
    attention_weights,
    missing_files,
    weights_paths,
)

FETCH = "tryon weights fetch --dir"


@pytest.fixture
def weights(tiny_weights: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny weights directory, free to damage."""
    root = tmp_path / "weights"
    shutil.copytree(tiny_weights, root)
    return root


def test_a_complete_directory_loads_with_every_attention_key(weights: Path) -> None:
    assert missing_files(weights) == []
    models = load_models(weights)
    assert models.attention is not None
    assert models.attention.loaded == 20 and models.attention.modules == 4
    state = load_file(str(weights_paths(weights).attention))
    modules = dict(models.unet.named_modules())
    q = modules["mid_block.attentions.0.transformer_blocks.0.attn1"].to_q.weight
    assert torch.equal(q, state["24.to_q.weight"])  # mid block last, prefix 8 * 3


def test_a_missing_directory_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=f"does not exist; run '{FETCH} "):
        load_models(tmp_path / "nowhere")


@pytest.mark.parametrize("part", ["unet", "vae", "attention", "scheduler_config"])
def test_a_missing_file_is_named_with_the_fetch_command(weights: Path, part: str) -> None:
    path: Path = getattr(weights_paths(weights), part)
    path.unlink()
    with pytest.raises(WeightsError) as err:
        load_models(weights)
    assert f"missing weights file {str(path)!r}" in str(err.value)
    assert f"{FETCH} {weights}" in str(err.value)


def test_an_unknown_version_lists_the_published_ones(weights: Path) -> None:
    with pytest.raises(WeightsError, match="mix-48k-1024, vitonhd-16k-512, dresscode-16k-512"):
        load_models(weights, "mix-1")


def test_a_truncated_attention_file_is_refused(weights: Path) -> None:
    path = weights_paths(weights).attention
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(WeightsError, match="damaged or incomplete: delete it"):
        load_models(weights)


def test_an_attention_file_with_a_key_too_many_is_refused(weights: Path) -> None:
    path = weights_paths(weights).attention
    state = load_file(str(path))
    state["32.to_q.weight"] = state["0.to_q.weight"].clone()
    save_file(state, str(path))
    with pytest.raises(WeightsError, match="1 unexpected"):
        load_models(weights)


def test_a_unet_missing_a_tensor_is_refused(weights: Path) -> None:
    path = weights_paths(weights).unet
    state = load_file(str(path))
    del state["conv_in.bias"]
    save_file(state, str(path))
    with pytest.raises(WeightsError, match=re.escape("1 missing (first conv_in.bias)")):
        load_models(weights)


def test_a_unet_whose_config_does_not_match_its_tensors_is_refused(weights: Path) -> None:
    config = weights_paths(weights).unet_config
    data = json.loads(config.read_text())
    data["in_channels"] = 4
    config.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=re.escape("size mismatch for conv_in.weight")):
        load_models(weights)


def test_a_text_to_image_unet_is_refused(weights: Path) -> None:
    with torch.random.fork_rng():
        UNet2DConditionModel(**{**TINY_UNET, "in_channels": 4}).save_pretrained(
            weights_paths(weights).unet.parent
        )
    with pytest.raises(WeightsError, match="4 input channels; CatVTON needs the 9-channel"):
        load_models(weights)


def test_weights_check_reports_what_it_loaded(tiny_weights: Path, capsys) -> None:
    assert cli.main(["weights", "check", "--dir", str(tiny_weights)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok mix-48k-1024: UNet ")
    assert "20 tensors into 4 self-attention modules" in out


def test_weights_check_of_an_empty_folder_says_how_to_fetch(tmp_path: Path, capsys) -> None:
    assert cli.main(["weights", "check", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tryon: error: missing weights file")
    assert f"{FETCH} {tmp_path}" in err and len(err.splitlines()) == 1


def test_weights_help_names_the_licence(capsys) -> None:
    assert cli.main(["weights", "--help"]) == 0
    assert "non-commercial" in capsys.readouterr().out


# --- random weights folders and trained attention weights ---------------------------

ROOT = Path(__file__).resolve().parents[2]


class ModuleProcessor(torch.nn.Module):
    """Diffusers' SDPA processor as an ``nn.Module``, as CatVTON's own processor is."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = AttnProcessor2_0()

    def __call__(self, *args, **kwargs):
        return self.inner(*args, **kwargs)


@pytest.fixture(scope="module")
def random_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``benchmarks/make_random_weights.py OUT --size tiny --seed 3``, run as a user would."""
    out = tmp_path_factory.mktemp("random") / "weights"
    script = ROOT / "benchmarks" / "make_random_weights.py"
    done = subprocess.run(
        [sys.executable, str(script), str(out), "--size", "tiny", "--seed", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"wrote {out} (tiny, seed 3" in done.stdout
    return out


def test_make_random_weights_writes_a_folder_the_loader_accepts(random_folder: Path) -> None:
    out = random_folder
    models = load_models(out)
    assert models.attention is not None
    assert (models.attention.loaded, models.attention.modules) == (80, 16)
    state = load_file(str(weights_paths(out).attention))
    assert {v.dtype for v in state.values()} == {torch.float32}
    names = {f"{8 * i}.{p}" for i in range(16) for p in PARAMETERS}
    assert set(state) == names  # CatVTON's 80 key names, mid block last (prefix 120)


def test_catvtons_own_loading_fills_every_self_attention_from_the_file(
    random_folder: Path,
) -> None:
    """CatVTON loads the file with accelerate into a ModuleList of every module whose name
    holds ``attn1``, not strictly: every parameter must change to the file's values."""
    accelerate = pytest.importorskip("accelerate")
    unet = UNet2DConditionModel.from_pretrained(
        str(random_folder / "stable-diffusion-inpainting"), subfolder="unet"
    )
    for name, module in unet.named_modules():
        if name.endswith("attn1"):  # CatVTON's processors are modules: 8 entries per attn1
            module.set_processor(ModuleProcessor())
    modules = torch.nn.ModuleList([m for name, m in unet.named_modules() if "attn1" in name])
    folder = weights_paths(random_folder).attention.parent
    accelerate.load_checkpoint_in_model(modules, str(folder))
    state = load_file(str(folder / "model.safetensors"))
    loaded = modules.state_dict()  # also lists each projection again under its own index
    assert set(state) <= set(loaded)  # no key of the file is silently ignored
    assert all(torch.equal(loaded[k], state[k]) for k in state)


@pytest.fixture
def trained(tiny_weights: Path, tmp_path: Path) -> Path:
    """A training run's output folder ``OUT/my-run`` (attention file and training.json),
    outside the weights folder."""
    folder = tmp_path / "out" / "my-run"
    (folder / "attention").mkdir(parents=True)
    unet = tiny_models().unet
    save_file(random_attention_state(unet, seed=9), str(folder / ATTENTION_FILE))
    info = {"name": "my-run", "start": "base", "height": 128, "width": 96}
    (folder / "training.json").write_text(json.dumps(info))
    return folder


def trained_q(folder: Path) -> torch.Tensor:
    return load_file(str(folder / ATTENTION_FILE))["24.to_q.weight"]


def mid_q(models) -> torch.Tensor:
    modules = dict(models.unet.named_modules())
    return modules["mid_block.attentions.0.transformer_blocks.0.attn1"].to_q.weight


def test_trained_weights_load_by_folder_or_file_path(tiny_weights: Path, trained: Path) -> None:
    for source in (trained, trained / ATTENTION_FILE, str(trained)):
        models = load_models(tiny_weights, source)
        assert models.attention is not None and models.attention.loaded == 20
        assert torch.equal(mid_q(models), trained_q(trained))
    found = attention_weights(trained, tiny_weights)
    assert (found.name, found.file, found.published) == ("my-run", trained / ATTENTION_FILE, False)
    assert (found.height, found.width, found.start) == (128, 96, "base")
    assert "CreativeML OpenRAIL-M" in found.licence


@pytest.mark.parametrize("under", ["", "CatVTON"])
def test_trained_weights_load_by_name_under_the_weights_folder(
    weights: Path, trained: Path, under: str
) -> None:
    shutil.copytree(trained, weights / under / "my-run")
    models = load_models(weights, "my-run")
    assert torch.equal(mid_q(models), trained_q(trained))
    assert attention_weights("my-run", weights).file == weights / under / "my-run" / ATTENTION_FILE


def test_the_renderer_runs_trained_weights_at_their_training_size(
    tiny_weights: Path, trained: Path
) -> None:
    renderer = DiffusionRenderer(tiny_weights, RenderConfig(version=trained, device="cpu"))
    assert renderer.training_area == 128 * 96
    assert torch.equal(mid_q(renderer.pipeline.models), trained_q(trained))


def test_trained_weights_without_training_json_are_described_as_unknown(
    tiny_weights: Path, trained: Path
) -> None:
    (trained / "training.json").unlink()
    found = attention_weights(trained, tiny_weights)
    assert (found.height, found.width, found.start, found.info) == (512, 384, None, None)
    assert found.licence.startswith("unknown")


def test_weights_fine_tuned_from_a_catvton_version_carry_its_licence(trained: Path) -> None:
    (trained / "training.json").write_text(json.dumps({"start": "vitonhd-16k-512"}))
    assert "CC BY-NC-SA 4.0" in attention_weights(trained).licence


def test_unknown_trained_weights_name_the_places_looked(tiny_weights: Path) -> None:
    with pytest.raises(WeightsError) as err:
        load_models(tiny_weights, "nothing-here")
    message = str(err.value)
    assert "no attention weights 'nothing-here'" in message
    assert str(tiny_weights / "CatVTON" / "nothing-here" / ATTENTION_FILE) in message
    assert "mix-48k-1024, vitonhd-16k-512, dresscode-16k-512" in message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda s: s.update({"0.to_q.base_layer.weight": torch.zeros(1)}), "0.to_q.base_layer"),
        (lambda s: s.pop("8.to_v.weight"), "1 missing (first 8.to_v.weight)"),
        (lambda s: s.update({"24.to_out.0.bias": torch.zeros(3)}), "24.to_out.0.bias has shape"),
    ],
    ids=["extra-key", "missing-key", "shape"],
)
def test_a_damaged_trained_file_is_refused_naming_file_and_key(
    tiny_weights: Path, trained: Path, damage, expected: str
) -> None:
    file = trained / ATTENTION_FILE
    state = load_file(str(file))
    damage(state)
    save_file(state, str(file))
    with pytest.raises(WeightsError) as err:
        load_models(tiny_weights, trained)
    assert str(file) in str(err.value) and expected in str(err.value)


def test_weights_check_validates_trained_weights_and_names_their_licence(
    tiny_weights: Path, trained: Path, capsys
) -> None:
    args = ["weights", "check", "--dir", str(tiny_weights), "--attention", str(trained)]
    assert cli.main(args) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("ok my-run: UNet ")
    assert "20 tensors into 4 self-attention modules" in first
    assert f"trained weights {trained / ATTENTION_FILE}; started from base" in second
    assert "run at 128x96" in second and "CreativeML OpenRAIL-M" in second
