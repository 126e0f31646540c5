"""The sampling loop: height concatenation, zeroed-garment guidance, draws, determinism."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tests.diffusion.tiny import tiny_models
from tryon.diffusion.pipeline import CatVTONPipeline, concat_garments
from tryon.diffusion.sampling import PRESETS, SamplerConfig, preset
from tryon.errors import TryOnError

H, W = 64, 48
FEW = SamplerConfig("compat-few", steps=3)  # compat with fewer steps, for speed


def inputs(batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    person = torch.rand(batch, 3, H, W, generator=g) * 2 - 1
    garment = torch.rand(batch, 3, H, W, generator=g) * 2 - 1
    mask = torch.zeros(batch, 1, H, W)
    mask[..., 16:48, 8:40] = 1
    return person, garment, mask


def gens(seed: int = 3, vae_seed: int = 4) -> tuple[torch.Generator, torch.Generator]:
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(vae_seed)


def run(pipe: CatVTONPipeline, seed: int = 3, vae_seed: int = 4, batch: int = 1) -> torch.Tensor:
    person, garment, mask = inputs(batch)
    return pipe(person, mask, pipe.encode_garment(garment), *gens(seed, vae_seed))


def test_unet_sees_person_above_garment_and_a_zeroed_garment_unconditional() -> None:
    pipe = CatVTONPipeline(tiny_models(), FEW)
    person, garment, mask = inputs()
    seen: list[torch.Tensor] = []
    pipe.models.unet.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    latent = pipe.encode_garment(garment)
    # The latents the pipeline draws, from the same VAE generator (person first).
    vae_gen = torch.Generator().manual_seed(4)
    masked = pipe.models.vae.encode(person * (mask < 0.5)).latent_dist.sample(vae_gen) * 0.18215
    garment_z = latent.posterior.sample(vae_gen) * 0.18215
    pipe(person, mask, latent, torch.Generator().manual_seed(3), torch.Generator().manual_seed(4))
    assert len(seen) == FEW.steps
    x = seen[0]
    h, w = H // 8, W // 8
    assert x.shape == (2, 9, 2 * h, w)  # [uncond, cond], height concatenation
    noisy, mask_in, cond = x[:, :4], x[:, 4:5], x[:, 5:]
    torch.testing.assert_close(noisy[0], noisy[1])
    torch.testing.assert_close(cond[1, :, :h], masked[0])
    torch.testing.assert_close(cond[1, :, h:], garment_z[0])
    torch.testing.assert_close(cond[0, :, :h], masked[0])
    assert torch.count_nonzero(cond[0, :, h:]) == 0  # garment zeroed when unconditional
    small = torch.nn.functional.interpolate(mask, size=(h, w), mode="nearest")
    torch.testing.assert_close(mask_in[:, :, :h], torch.cat([small, small]))
    assert torch.count_nonzero(mask_in[:, :, h:]) == 0


def test_guidance_combines_uncond_and_cond_as_u_plus_g_times_c_minus_u() -> None:
    models = tiny_models()
    config = SamplerConfig("one", steps=1, guidance=2.5, eta=0.0)
    pipe = CatVTONPipeline(models, config)
    outputs: list[torch.Tensor] = []
    models.unet.register_forward_hook(lambda m, a, out: outputs.append(out[0].clone()))
    steps: list[torch.Tensor] = []
    original_step = pipe.new_scheduler

    def recording_scheduler():  # records the noise the scheduler is given
        scheduler = original_step()
        step = scheduler.step
        scheduler.step = lambda eps, *a, **k: steps.append(eps.clone()) or step(eps, *a, **k)
        return scheduler

    pipe.new_scheduler = recording_scheduler  # type: ignore[method-assign]
    run(pipe)
    u, c = outputs[0].chunk(2)
    torch.testing.assert_close(steps[0], u + 2.5 * (c - u))


def test_same_seeds_same_image_other_seeds_other_images() -> None:
    pipe = CatVTONPipeline(tiny_models(), FEW)
    a, b = run(pipe), run(pipe)
    assert torch.equal(a, b)
    assert a.shape == (1, 3, H, W) and a.min() >= 0 and a.max() <= 1
    assert (run(pipe, seed=9) - a).abs().max() > 1e-4  # initial noise and DDIM draws
    assert (run(pipe, vae_seed=9) - a).abs().max() > 1e-4  # VAE posterior draws


def test_posterior_mean_ignores_the_vae_generator() -> None:
    pipe = CatVTONPipeline(tiny_models(), replace(FEW, vae_sample=False))
    assert torch.equal(run(pipe, vae_seed=1), run(pipe, vae_seed=2))


def test_ddim_eta_one_draws_from_the_generator_every_step(monkeypatch) -> None:
    from diffusers.schedulers import scheduling_ddim

    pipe = CatVTONPipeline(tiny_models(), FEW)
    first = run(pipe)
    draws: list[torch.Generator | None] = []
    real = scheduling_ddim.randn_tensor

    def counting(*args, **kwargs):
        draws.append(kwargs.get("generator"))
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduling_ddim, "randn_tensor", counting)
    assert torch.equal(run(pipe), first)
    assert len(draws) == FEW.steps  # one variance draw per step ...
    assert all(isinstance(g, torch.Generator) for g in draws)  # ... from the generator


def test_a_batch_runs_each_pair_with_its_own_garment() -> None:
    pipe = CatVTONPipeline(tiny_models(), replace(FEW, vae_sample=False, eta=0.0))
    person, garment, mask = inputs(batch=2)
    latents = [pipe.encode_garment(garment[i : i + 1]) for i in range(2)]
    both = pipe(person, mask, concat_garments(latents), *gens())
    first = pipe(person[:1], mask[:1], latents[0], *gens())
    assert both.shape == (2, 3, H, W)
    # Deterministic sampling: batching must not mix the pairs (the noise differs per item,
    # so compare the first item, whose noise is the first slice of the batch's draw).
    torch.testing.assert_close(both[:1], first, atol=2e-3, rtol=0)


def test_refine_leaves_the_image_alone_at_tiny_strength_and_changes_it_at_full() -> None:
    pipe = CatVTONPipeline(tiny_models(), PRESETS["fast"])
    person, garment, mask = inputs()
    latent = pipe.encode_garment(garment)
    low = pipe.refine(person, mask, latent, strength=0.05, steps=1, generator=gens()[0])
    full = pipe.refine(person, mask, latent, strength=1.0, steps=3, generator=gens()[0])
    assert low.shape == full.shape == (1, 3, H, W)
    assert (full - low).abs().mean() > (low - (person + 1) / 2).abs().mean() * 0.1


@pytest.mark.parametrize(
    ("shape", "words"),
    [((1, 3, 60, 48), "multiples of 8"), ((1, 1, 64, 48), "(B, 3, H, W)")],
)
def test_bad_tensor_shapes_are_refused(shape: tuple[int, ...], words: str) -> None:
    pipe = CatVTONPipeline(tiny_models(), FEW)
    _, garment, mask = inputs()
    with pytest.raises(TryOnError, match=words.replace("(", r"\(").replace(")", r"\)")):
        pipe(torch.zeros(shape), mask, pipe.encode_garment(garment))


def test_presets_are_named_and_unknown_names_list_them() -> None:
    assert preset("compat") == SamplerConfig("compat")
    assert preset("compat").steps == 50 and preset("compat").guidance == 2.5
    assert preset("compat").eta == 1.0 and preset("compat").vae_sample
    assert preset("fast").solver == "dpm++2m" and not preset("fast").vae_sample
    assert preset("fast").dtype(torch.device("cuda")) == torch.bfloat16
    assert preset("fast").dtype(torch.device("cpu")) == torch.float32
    with pytest.raises(TryOnError, match="compat, fast, draft"):
        preset("turbo")
