"""The FASHN transformer: the released shape, the CFG drop, the diffusers hooks."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.normalization import RMSNorm
from diffusers.models.transformers.transformer_flux import FluxAttnProcessor

from tests.fashn.tiny import TINY, tiny_inputs, tiny_model
from tryon.fashn.blocks import SlicedOutputFluxProcessor, patch_positions, unpatchify
from tryon.fashn.model import FashnModelConfig, FashnTransformer
from tryon.fashn.weights import to_reference_state


@pytest.fixture(scope="module")
def released() -> FashnTransformer:
    """The released architecture on the meta device (no memory, no weights)."""
    with torch.device("meta"):
        return FashnTransformer(FashnModelConfig())


def test_released_shape_has_972m_parameters_and_366_checkpoint_tensors(
    released: FashnTransformer,
) -> None:
    assert sum(p.numel() for p in released.parameters()) == 971_813_808
    with torch.device("meta"):
        state = to_reference_state(released)
    assert len(state) == 366
    shapes = {
        "t_embedder.mlp.in_layer.weight": (1280, 256),
        "y_embedder.weight": (4, 1280),
        "x_embedder.proj.weight": (1280, 7, 12, 12),
        "garment_embedder.proj.weight": (1280, 4, 12, 12),
        "x_patch_mixer.3.linear1.weight": (8960, 1280),
        "patch_mixer_token": (1, 1, 432),
        "double_blocks.7.img_mod.lin.weight": (7680, 1280),
        "double_blocks.7.txt_attn.qkv.bias": (3840,),
        "double_blocks.0.txt_attn.norm.key_norm.scale": (128,),
        "double_blocks.0.img_mlp.2.weight": (1280, 5120),
        "single_blocks.15.linear2.weight": (1280, 6400),
        "single_blocks.15.modulation.lin.weight": (3840, 1280),
        "final_layer.adaLN_modulation.1.weight": (2560, 1280),
        "final_layer.linear.weight": (432, 1280),
    }
    assert {k: tuple(state[k].shape) for k in shapes} == shapes


def test_qk_norms_are_diffusers_rmsnorm_and_attention_uses_the_sliced_processor(
    released: FashnTransformer,
) -> None:
    attentions = [b.attn for b in released.transformer_blocks]
    attentions += [b.attn for b in [*released.patch_mixer, *released.single_transformer_blocks]]
    assert len(attentions) == 28
    for attn in attentions:
        assert isinstance(attn.processor, SlicedOutputFluxProcessor)
        norms = [attn.norm_q, attn.norm_k]
        if attn.added_kv_proj_dim is not None:
            norms += [attn.norm_added_q, attn.norm_added_k]
        assert all(type(n) is RMSNorm and n.eps == 1e-6 for n in norms)


def test_forward_gives_a_velocity_of_the_image_shape_and_dtype() -> None:
    model, inputs = tiny_model(), tiny_inputs(2)
    x = torch.randn(2, 3, TINY.height, TINY.width)
    v = model(x, torch.tensor([0.0, 0.5]), *_conditions(inputs))
    assert v.shape == (2, 3, 16, 12) and v.dtype == torch.float32
    assert torch.isfinite(v).all()


def test_dropped_samples_see_zero_conditions_and_the_null_class() -> None:
    model, inputs = tiny_model(), tiny_inputs(2)
    x, t = torch.randn(2, 3, TINY.height, TINY.width), torch.tensor([0.3, 0.7])
    keep = torch.tensor([True, False])
    v = model(x, t, *_conditions(inputs), keep)
    zeroed = [torch.zeros_like(c) for c in _conditions(inputs)]
    v_null = model(x, t, *zeroed)  # class 0 by zeroing the category too
    v_full = model(x, t, *_conditions(inputs))
    assert torch.allclose(v[1], v_null[1], atol=1e-6)
    assert torch.allclose(v[0], v_full[0], atol=1e-6)
    assert not torch.allclose(v[1], v_full[1], atol=1e-3)  # the conditions matter
    all_kept = model(x, t, *_conditions(inputs), torch.tensor([True, True]))
    assert torch.equal(all_kept, v_full)


def test_garment_and_category_change_the_velocity() -> None:
    model, inputs = tiny_model(), tiny_inputs(1)
    x, t = torch.randn(1, 3, TINY.height, TINY.width), torch.tensor([0.5])
    ca, pose, garment, garment_pose, category = _conditions(inputs)
    v = model(x, t, ca, pose, garment, garment_pose, category)
    other_garment = model(x, t, ca, pose, -garment, garment_pose, category)
    other_class = model(x, t, ca, pose, garment, garment_pose, category % 3 + 1)
    assert not torch.allclose(v, other_garment, atol=1e-4)
    assert not torch.allclose(v, other_class, atol=1e-4)


def test_sliced_processor_computes_what_diffusers_processor_computes() -> None:
    """Same attention as diffusers' processor: only the rounding of the out-projection
    (on the slices rather than on contiguous copies) may differ."""
    model, inputs = tiny_model(), tiny_inputs(2)
    x, t = torch.randn(2, 3, TINY.height, TINY.width), torch.tensor([0.2, 0.9])
    ours = model(x, t, *_conditions(inputs))
    for block in [*model.transformer_blocks, *model.single_transformer_blocks]:
        block.attn.set_processor(FluxAttnProcessor())
    for block in model.patch_mixer:
        block.attn.set_processor(FluxAttnProcessor())
    stock = model(x, t, *_conditions(inputs))
    torch.testing.assert_close(ours, stock, rtol=0, atol=1e-5)


def test_forward_matches_its_recorded_values() -> None:
    """Values recorded from this tiny model, which the reference's model (loaded with
    the same checkpoint) reproduced bit for bit; a change here changes every image."""
    model, inputs = tiny_model(), tiny_inputs(1)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 3, TINY.height, TINY.width, generator=g)
    with torch.no_grad():
        v = model(x, torch.tensor([0.25]), *_conditions(inputs))
    expected = torch.tensor(EXPECTED_SLICE)
    torch.testing.assert_close(v[0, :, 5, 3:7], expected, rtol=0, atol=1e-5)


EXPECTED_SLICE = [  # v[0, :, 5, 3:7]; the reference's TryOnModel gives the same bits
    [-0.43489349, 1.03498995, 0.56448400, 0.29277748],
    [-0.91798335, -0.11727649, 0.64120907, -0.36433014],
    [-0.66641033, -0.67199504, 0.19972821, -0.58433545],
]


def test_patch_positions_and_unpatchify() -> None:
    ids = patch_positions(2, 3)
    assert ids.tolist() == [[0, r, c] for r in range(2) for c in range(3)]
    tokens = torch.arange(2 * 6 * 12, dtype=torch.float32).reshape(2, 6, 12)  # 3x2x2 patches
    pixels = unpatchify(tokens, rows=2, cols=3, patch=2)
    assert pixels.shape == (2, 3, 4, 6)
    # Token (row 1, col 2) = index 5; its channel 2, patch pixel (1, 0) = feature 2*4 + 2.
    assert pixels[1, 2, 1 * 2 + 1, 2 * 2 + 0] == tokens[1, 5, 10]


def _conditions(inputs: object) -> list[torch.Tensor]:
    names = ("ca_image", "person_pose", "garment_image", "garment_pose", "category")
    return [getattr(inputs, n) for n in names]
