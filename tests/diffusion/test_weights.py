"""The weights directory: layout, strict loading, clear errors, ``tryon weights check``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file

from tests.diffusion.tiny import TINY_UNET
from tryon import cli
from tryon.diffusion.models import load_models
from tryon.diffusion.weights import WeightsError, missing_files, weights_paths

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
