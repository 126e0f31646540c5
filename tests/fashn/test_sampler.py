"""The FASHN sampler: schedule values, presets, CFG batching, noise, RNG, uint8."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.fashn.tiny import tiny_inputs, tiny_model
from tryon.errors import TryOnError
from tryon.fashn.sampler import (
    PRESETS,
    FashnInputs,
    FashnSampling,
    noise,
    rf_schedule,
    sample,
    to_uint8_images,
)


def test_schedule_has_the_reference_values() -> None:
    t = rf_schedule(30)
    assert t.dtype == torch.float32 and t.shape == (31,)
    assert t[0] == 0.0 and t[-1] == 1.0
    head = [0.0, 0.0076354, 0.0156878]
    tail = [0.7575066, 0.8661448, 1.0]
    torch.testing.assert_close(t[:3], torch.tensor(head), rtol=0, atol=5e-8)
    torch.testing.assert_close(t[-3:], torch.tensor(tail), rtol=0, atol=5e-8)
    # Float32 ops, not the float64 formula (0.8661450744).
    assert t[29].item() == 0.8661447763442993
    assert bool((t[1:] > t[:-1]).all())
    assert rf_schedule(1).tolist() == [0.0, 1.0]


def test_schedule_is_the_flux_shift_of_a_linear_grid() -> None:
    u = torch.linspace(0, 1, 21, dtype=torch.float64)[1:-1]  # ascending grid, no ends
    sigma = 1 - u
    flux = np.e**1.5 / (np.e**1.5 + 1 / sigma - 1)  # shifted sigma, shift e^1.5
    torch.testing.assert_close(rf_schedule(20)[1:-1].double(), 1 - flux, rtol=0, atol=1e-6)


def test_presets() -> None:
    assert PRESETS["compat"] == FashnSampling(
        steps=30, guidance=1.5, skip_cfg_last_steps=1, seed=42
    )
    assert PRESETS["fast"] == replace(PRESETS["compat"], steps=20)
    assert PRESETS["quality"] == replace(PRESETS["compat"], steps=50)


@pytest.mark.parametrize("bad", [{"steps": 0}, {"skip_cfg_last_steps": -1}])
def test_sampling_rejects_bad_settings(bad: dict[str, int]) -> None:
    with pytest.raises(TryOnError):
        FashnSampling(**bad)


def test_inputs_reject_mismatched_shapes_and_float_categories() -> None:
    good = tiny_inputs(2)
    with pytest.raises(TryOnError, match="garment_pose has shape"):
        replace(good, garment_pose=good.garment_pose[:1])
    with pytest.raises(TryOnError, match="int64"):
        replace(good, category=good.category.float())


class RecordingModel:
    """Called like ``FashnTransformer``; returns ``cond`` where kept, ``uncond`` where
    dropped, and records what it was given."""

    def __init__(self, cond: float, uncond: float) -> None:
        self.cond, self.uncond = cond, uncond
        self.calls: list[dict[str, torch.Tensor]] = []

    def __call__(self, x: torch.Tensor, t: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        *images, category, keep = conditions
        self.calls.append({"x": x, "t": t, "keep": keep, "category": category, "ca": images[0]})
        mask = keep.view(-1, 1, 1, 1)
        return torch.where(mask, self.cond, self.uncond).expand_as(x).to(x.dtype)


@pytest.mark.parametrize("skip", [0, 1, 3])
def test_each_step_is_one_batched_cfg_forward_and_the_last_use_v_c_only(skip: int) -> None:
    inputs, steps, g = tiny_inputs(2), 6, 2.0
    model = RecordingModel(cond=0.3, uncond=-0.2)
    sampling = FashnSampling(steps=steps, guidance=g, skip_cfg_last_steps=skip, seed=5)
    out = sample(model, inputs, sampling)
    assert len(model.calls) == steps
    t = rf_schedule(steps).tolist()
    for i, call in enumerate(model.calls):
        assert call["x"].shape[0] == 4
        assert call["keep"].tolist() == [True, True, False, False]
        assert torch.equal(call["category"], torch.cat([inputs.category] * 2))
        assert torch.equal(call["ca"], torch.cat([inputs.ca_image] * 2))
        assert torch.equal(call["t"], torch.full((4,), t[i]))
        assert torch.equal(call["x"][:2], call["x"][2:])
    guided = -0.2 + g * (0.3 - -0.2)
    drift = sum((t[i + 1] - t[i]) * (0.3 if i >= steps - skip else guided) for i in range(steps))
    expected = (noise(inputs, 5) + drift).clamp(-1, 1)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_progress_is_reported_after_each_step() -> None:
    seen: list[tuple[int, int]] = []
    sample(
        RecordingModel(0, 0),
        tiny_inputs(1),
        FashnSampling(steps=3),
        on_step=lambda *a: seen.append(a),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_noise_is_the_reference_draw_after_manual_seed(dtype: torch.dtype) -> None:
    inputs = tiny_inputs(2, dtype=dtype)
    with torch.random.fork_rng():
        torch.manual_seed(42)
        expected = torch.randn(inputs.ca_image.shape, dtype=dtype)
    drawn = noise(inputs, 42)
    assert drawn.dtype == dtype and torch.equal(drawn, expected)
    one = FashnInputs(*(getattr(inputs, f)[:1] for f in _FIELDS))
    assert torch.equal(noise(one, 42)[0], drawn[0])  # sample 0 does not depend on N


def test_sampling_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    model, inputs = tiny_model(), tiny_inputs(1)
    state = torch.random.get_rng_state()
    first = sample(model, inputs, FashnSampling(steps=3))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(sample(model, inputs, FashnSampling(steps=3)), first)
    other = sample(model, inputs, FashnSampling(steps=3, seed=7))
    assert not torch.equal(other, first)
    assert first.dtype == torch.float32 and first.abs().max() <= 1


def test_batch_sample_0_matches_batch_of_one() -> None:
    """Not bit for bit in float32: a batch of 4 (CFG of 2) runs other GEMM blockings
    than a batch of 2; the reference differs the same way (3.9e-7 at reduced size, 5
    steps), and gives the same bits in bfloat16 there."""
    model, two = tiny_model(), tiny_inputs(2)
    one = FashnInputs(*(getattr(two, f)[:1] for f in _FIELDS))
    sampling = FashnSampling(steps=4)
    both = sample(model, two, sampling)
    torch.testing.assert_close(both[:1], sample(model, one, sampling), rtol=0, atol=1e-5)


def test_bfloat16_sampling_runs_in_the_model_dtype_and_returns_float32() -> None:
    model, inputs = tiny_model(dtype=torch.bfloat16), tiny_inputs(1, dtype=torch.bfloat16)
    out = sample(model, inputs, FashnSampling(steps=2))
    assert out.dtype == torch.float32 and out.shape == (1, 3, 16, 12)


def test_uint8_conversion_truncates_like_the_reference() -> None:
    x = torch.tensor([-1.0, 1.0, 0.0, 2.0, -3.0, 0.99, 0.5]).view(1, 1, 1, 7).expand(1, 3, 1, 7)
    images = to_uint8_images(x)
    assert images.shape == (1, 1, 7, 3) and images.dtype == np.uint8
    # (x + 1) / 2 * 255: 0, 255, 127.5 -> 127, clamped 255 and 0, 253.725 -> 253, 191.25
    assert images[0, 0, :, 0].tolist() == [0, 255, 127, 255, 0, 253, 191]


_FIELDS = ("ca_image", "person_pose", "garment_image", "garment_pose", "category")


def test_repeated_inputs_keep_each_samples_copies_in_a_row() -> None:
    inputs = tiny_inputs(n=2)
    three = inputs.repeated(3)
    assert three.ca_image.shape[0] == 6 and three.category.tolist() == [1, 1, 1, 2, 2, 2]
    for name in ("ca_image", "person_pose", "garment_image", "garment_pose"):
        rows = getattr(three, name)
        for i in range(6):
            assert torch.equal(rows[i], getattr(inputs, name)[i // 3])
    assert inputs.repeated(1).ca_image.equal(inputs.ca_image)
