"""CatVTON's attention: skipped cross-attention (h + norm2(h)), key layout, strict loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.attention_processor import AttnProcessor2_0

from tests.diffusion.tiny import tiny_models
from tryon.diffusion.attention import (
    SkipCrossAttention,
    checkpoint_keys,
    load_attention,
    self_attentions,
)
from tryon.diffusion.models import UNET_CONFIG, random_attention_state
from tryon.diffusion.weights import WeightsError

SOURCE = Path("w/CatVTON/mix-48k-1024/attention/model.safetensors")
ROOT = Path("w")


@pytest.fixture(scope="module")
def real_unet() -> UNet2DConditionModel:
    """The real SD-1.5 inpainting architecture, on the meta device (no memory, no weights)."""
    with torch.device("meta"):
        return UNet2DConditionModel(**UNET_CONFIG)


def test_real_unet_has_catvtons_80_keys_in_its_order(real_unet: UNet2DConditionModel) -> None:
    keys = checkpoint_keys(real_unet)
    assert len(keys) == 80
    prefixes = sorted({int(k.split(".")[0]) for k in keys})
    assert prefixes == [8 * i for i in range(16)]
    names = [keys[f"{8 * i}.to_q.weight"][0] for i in range(16)]
    blocks = [n.split(".attentions")[0] for n in names]
    assert blocks[:6] == ["down_blocks.0"] * 2 + ["down_blocks.1"] * 2 + ["down_blocks.2"] * 2
    assert blocks[6:15] == ["up_blocks.1"] * 3 + ["up_blocks.2"] * 3 + ["up_blocks.3"] * 3
    assert blocks[15] == "mid_block" and names[15].endswith("attn1")
    modules = dict(real_unet.named_modules())
    total = sum(modules[n].get_parameter(p).numel() for n, p in keys.values())
    assert total == 49_574_080  # the size of CatVTON's published attention file


def test_key_stride_is_the_references_module_enumeration() -> None:
    """The reference lists every module whose name contains 'attn1' (its processors are
    modules too): eight per self-attention, the attention itself first."""
    models = tiny_models()

    class ModuleProcessor(torch.nn.Module, AttnProcessor2_0):
        def __init__(self) -> None:
            torch.nn.Module.__init__(self)

    unet = models.unet
    unet.set_attn_processor(
        {n: ModuleProcessor() for n in unet.attn_processors if "attn1" in n}
        | {n: SkipCrossAttention() for n in unet.attn_processors if "attn2" in n}
    )
    listed = [name for name, _ in unet.named_modules() if "attn1" in name]
    for key, (name, param) in checkpoint_keys(unet).items():
        index = int(key.split(".")[0])
        assert listed[index] == name
        assert f"{name}.{param.rsplit('.', 1)[0]}" in listed


def test_processors_skip_cross_attention_only() -> None:
    unet = tiny_models().unet
    processors = unet.attn_processors
    assert processors
    for name, processor in processors.items():
        if name.endswith("attn2.processor"):
            assert isinstance(processor, SkipCrossAttention)
        else:
            assert name.endswith("attn1.processor")
            assert isinstance(processor, AttnProcessor2_0)


def test_skipped_cross_attention_adds_norm2_of_its_input() -> None:
    """Each transformer block computes h + norm2(h) where cross-attention is skipped."""
    unet = tiny_models().unet
    block = next(m for m in unet.modules() if isinstance(m, BasicTransformerBlock))
    h = torch.randn(
        2, 12, block.norm1.normalized_shape[0], generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        out = block(h, encoder_hidden_states=None)
        h1 = block.attn1(block.norm1(h)) + h
        h2 = h1 + block.norm2(h1)
        expected = block.ff(block.norm3(h2)) + h2
        without_norm2 = block.ff(block.norm3(h1)) + h1
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert (out - without_norm2).abs().max() > 1e-2  # dropping norm2 would be visible


def test_every_key_is_loaded_into_its_module() -> None:
    models = tiny_models()
    state = random_attention_state(models.unet, seed=5)
    report = load_attention(models.unet, state, SOURCE, ROOT)
    modules = dict(self_attentions(models.unet))
    assert report.loaded == len(state) == 5 * len(modules)
    assert report.modules == len(modules) == 4
    for key, (name, param) in checkpoint_keys(models.unet).items():
        assert torch.equal(modules[name].get_parameter(param), state[key]), key


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s.pop("8.to_k.weight"), "1 missing (first 8.to_k.weight)"),
        (lambda s: s.update({"32.to_q.weight": s["0.to_q.weight"]}), "1 unexpected"),
        (lambda s: s.update({"0.attn1.to_q.weight": s.pop("0.to_q.weight")}), "unexpected"),
        (lambda s: s.update({"24.to_out.0.bias": torch.zeros(3)}), "24.to_out.0.bias has shape"),
    ],
    ids=["missing", "extra", "renamed", "shape"],
)
def test_a_checkpoint_that_does_not_fit_is_refused(change, words: str) -> None:
    models = tiny_models()
    state = random_attention_state(models.unet)
    before = {k: v.clone() for k, v in models.unet.state_dict().items()}
    change(state)
    with pytest.raises(WeightsError) as err:
        load_attention(models.unet, state, SOURCE, ROOT)
    message = str(err.value)
    assert words in message
    assert str(SOURCE) in message and "tryon weights fetch --dir w" in message
    after = models.unet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # nothing half-loaded
