"""FASHN checkpoints: the reference's key layout both ways, strict loading, messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.fashn.tiny import TINY, tiny_model
from tryon.diffusion.weights import WeightsError
from tryon.fashn.weights import (
    FASHN_WEIGHTS,
    load_fashn_transformer,
    save_fashn_checkpoint,
    to_reference_state,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model saved in the reference's layout (float32)."""
    path = tmp_path_factory.mktemp("fashn") / "model.safetensors"
    save_fashn_checkpoint(tiny_model(), path)
    return path


def test_record_names_the_released_file_and_its_licence() -> None:
    assert FASHN_WEIGHTS.repo_id == "fashn-ai/fashn-vton-1.5"
    assert FASHN_WEIGHTS.files == ("model.safetensors",)
    assert FASHN_WEIGHTS.licence == "Apache-2.0"


def test_saved_file_has_the_reference_keys(checkpoint: Path) -> None:
    keys = set(load_file(checkpoint))
    assert "double_blocks.1.txt_attn.qkv.weight" in keys
    assert "x_patch_mixer.0.linear1.bias" in keys
    assert "final_layer.adaLN_modulation.1.weight" in keys
    assert "patch_mixer_token" in keys
    assert not any(k.startswith(("transformer_blocks", "norm_out")) for k in keys)
    # 4 embedders (9 tensors), 1 mixer + 2 single blocks (8 each), the buffer,
    # 2 double blocks (12 per stream), final layer (4).
    assert len(keys) == 9 + 3 * 8 + 1 + 2 * 24 + 4


def test_load_round_trips_every_tensor_and_the_output(checkpoint: Path) -> None:
    model = tiny_model()
    loaded = load_fashn_transformer(checkpoint, config=TINY)
    assert not loaded.training
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    save_fashn_checkpoint(loaded, checkpoint.with_name("again.safetensors"))
    again = load_file(checkpoint.with_name("again.safetensors"))
    first = load_file(checkpoint)
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_rows_go_where_the_reference_puts_them() -> None:
    """qkv rows are [q; k; v], linear1 rows [q; k; v; mlp], the final modulation's rows
    (shift, scale): set each reference tensor to known rows and look where they land."""
    model = tiny_model()
    state = to_reference_state(model)
    c, mlp = TINY.hidden_size, TINY.mlp_hidden
    for key in ("double_blocks.0.txt_attn.qkv.weight", "single_blocks.1.linear1.weight"):
        state[key] = torch.arange(state[key].shape[0], dtype=torch.float32)[:, None].expand(-1, c)
    final = "final_layer.adaLN_modulation.1.bias"
    state[final] = torch.arange(2 * c, dtype=torch.float32)
    loaded = _load_state(state)
    attn = loaded.transformer_blocks[0].attn
    assert attn.add_k_proj.weight[0, 0] == c and attn.add_v_proj.weight[-1, 0] == 3 * c - 1
    single = loaded.single_transformer_blocks[1]
    assert single.attn.to_v.weight[0, 0] == 2 * c
    assert single.proj_mlp.weight[0, 0] == 3 * c and single.proj_mlp.weight.shape[0] == mlp
    # diffusers' AdaLayerNormContinuous takes (scale, shift): the reference's scale first.
    assert loaded.norm_out.linear.bias[:c].tolist() == list(range(c, 2 * c))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("missing", "single_blocks.0.norm.key_norm.scale"),
        ("unexpected", "single_blocks.2.linear1.weight"),
        ("shape", "double_blocks.1.img_mlp.0.weight"),
        ("missing", "patch_mixer_token"),
    ],
)
def test_a_wrong_key_fails_naming_it(change: str, named: str, tmp_path: Path) -> None:
    state = to_reference_state(tiny_model())
    if change == "missing":
        del state[named]
    elif change == "unexpected":
        state[named] = torch.zeros(3)
    else:
        state[named] = state[named][:-1].clone()
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    with pytest.raises(WeightsError, match=change) as caught:
        load_fashn_transformer(path, config=TINY)
    assert repr(named) in str(caught.value) or f" {named}" in str(caught.value)


def test_the_released_shape_rejects_a_tiny_checkpoint(checkpoint: Path) -> None:
    with pytest.raises(WeightsError, match=r"280 missing: double_blocks\.2\.img_attn"):
        load_fashn_transformer(checkpoint)


def test_a_missing_file_names_it_and_the_fetch_command(tmp_path: Path) -> None:
    path = tmp_path / "fashn-vton-1.5" / "model.safetensors"
    with pytest.raises(WeightsError) as caught:
        load_fashn_transformer(path, config=TINY)
    message = str(caught.value)
    assert str(path) in message and "tryon weights fetch --engine fashn" in message


def test_a_damaged_file_is_a_weights_error(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="damaged"):
        load_fashn_transformer(path, config=TINY)


def test_bfloat16_file_upcasts_exactly_and_loads_in_the_dtype_asked(tmp_path: Path) -> None:
    model = tiny_model(dtype=torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    save_fashn_checkpoint(model, path)
    as_float = load_fashn_transformer(path, config=TINY, dtype=torch.float32)
    as_bf16 = load_fashn_transformer(path, config=TINY, dtype=torch.bfloat16)
    for name, tensor in model.state_dict().items():
        assert as_float.state_dict()[name].dtype == torch.float32
        assert torch.equal(as_float.state_dict()[name].to(torch.bfloat16), tensor)
        assert torch.equal(as_bf16.state_dict()[name], tensor)


def _load_state(state: dict[str, torch.Tensor]) -> Any:
    from tryon.fashn.model import FashnTransformer
    from tryon.fashn.weights import from_reference_state

    model = FashnTransformer(TINY)
    model.load_state_dict(from_reference_state(state, model))
    return model
