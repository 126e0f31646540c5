"""The diffusion models (diffusers' own classes) and how they are loaded or built.

``load_models`` reads a weights directory strictly; ``build_models`` makes the same
classes from configs with seeded random weights (tests, benchmarks, parity checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tryon.diffusion.attention import (
    AttentionReport,
    checkpoint_keys,
    install_processors,
    load_attention,
)
from tryon.diffusion.weights import (
    DEFAULT_VERSION,
    WeightsError,
    WeightsPaths,
    fetch_hint,
    read_json,
    require_files,
    weights_paths,
)

UNET_CONFIG: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 9,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
}
"""SD-1.5 inpainting UNet (859.5M parameters)."""

VAE_CONFIG: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 256,
    "scaling_factor": 0.18215,
}
"""sd-vae-ft-mse (83.7M parameters)."""

SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
}
"""SD-1.5's DDIM scheduler as CatVTON runs it."""


@dataclass
class DiffusionModels:
    """The three parts CatVTON runs, with CatVTON's attention installed in the UNet.

    Attributes:
        unet: SD-1.5 inpainting UNet, cross-attention skipped, CatVTON self-attention.
        vae: the image autoencoder.
        scheduler: DDIM scheduler (the sampler presets derive theirs from its config).
        attention: what loading CatVTON's attention weights found (None when built randomly).
    """

    unet: UNet2DConditionModel
    vae: AutoencoderKL
    scheduler: DDIMScheduler
    attention: AttentionReport | None = None

    def to(self, device: torch.device | str, dtype: torch.dtype) -> DiffusionModels:
        """Moves both networks to ``device`` and ``dtype`` (in place); returns self."""
        for model in (self.unet, self.vae):
            if model.dtype == dtype:
                model.to(device=device)
            else:
                model.to(device=device, dtype=dtype)
        return self


def build_models(
    unet_config: dict[str, Any] | None = None,
    vae_config: dict[str, Any] | None = None,
    seed: int = 0,
) -> DiffusionModels:
    """Builds the models from configs with seeded random weights (no file is read).

    Args:
        unet_config: UNet2DConditionModel config (default: the real SD-1.5 inpainting one).
        vae_config: AutoencoderKL config (default: sd-vae-ft-mse's).
        seed: seed of the weights' random initialisation (a private generator; the
            global RNG is left alone).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**(unet_config or UNET_CONFIG))
        vae = AutoencoderKL(**(vae_config or VAE_CONFIG))
        # Diffusers zero-initialises some output layers; perturb every tensor so that no
        # path of the network is silently a no-op in tests.
        with torch.no_grad():
            for model in (unet, vae):
                for param in model.parameters():
                    param.add_(torch.randn_like(param) * 0.02)
    install_processors(unet)
    unet.eval()
    vae.eval()
    return DiffusionModels(unet, vae, DDIMScheduler.from_config(SCHEDULER_CONFIG))


def load_models(root: Path, version_name: str = DEFAULT_VERSION) -> DiffusionModels:
    """Loads the base UNet, the VAE and CatVTON's attention from a weights directory.

    Every file is checked: the UNet and VAE must fill every parameter of their configs
    with no key left over (diffusers' own loader, which also renames the old attention
    keys of sd-vae-ft-mse), the attention checkpoint key by key and shape by shape.
    Models stay on the CPU in float32; move them with ``DiffusionModels.to``.

    Raises:
        WeightsError: a file is missing, unreadable or does not fit, naming it and the
            command that fetches the weights.
    """
    paths = require_files(root, version_name)
    models = load_base_models(root)
    report = load_attention(
        models.unet, read_safetensors(paths.attention, root), paths.attention, root
    )
    models.unet.eval()
    return DiffusionModels(models.unet, models.vae, models.scheduler, report)


def load_base_models(root: Path) -> DiffusionModels:
    """Loads the SD-1.5 inpainting UNet with its own self-attention (no CatVTON weights),
    the VAE and the scheduler: the start of a training run from the base.

    Raises:
        WeightsError: as ``load_models``, for the base's and the VAE's files.
    """
    paths = require_files(root, version_name=None)
    unet = _from_pretrained(UNet2DConditionModel, paths.unet, root)
    if unet.config.in_channels != 9:
        raise WeightsError(
            f"{str(paths.unet_config)!r} describes a UNet with {unet.config.in_channels} input "
            f"channels; CatVTON needs the 9-channel inpainting UNet: {fetch_hint(root)}"
        )
    vae = _from_pretrained(AutoencoderKL, paths.vae, root)
    scheduler = DDIMScheduler.from_config(read_json(paths.scheduler_config, root))
    install_processors(unet)
    unet.eval()
    vae.eval()
    return DiffusionModels(unet, vae, scheduler)


def read_safetensors(path: Path, root: Path) -> dict[str, torch.Tensor]:
    """Reads a safetensors file of the weights directory.

    Raises:
        WeightsError: unreadable or truncated, naming the file and the fix.
    """
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise WeightsError(
            f"cannot read {str(path)!r} ({exc}); the file is damaged or incomplete: delete it "
            f"and {fetch_hint(root)}"
        ) from None


ModelT = TypeVar("ModelT", UNet2DConditionModel, AutoencoderKL)


def _from_pretrained(cls: type[ModelT], weights: Path, root: Path) -> ModelT:
    """Diffusers' loader on one local folder, turned strict: every key used, none missing."""
    folder = weights.parent
    try:
        model, info = cls.from_pretrained(
            str(folder),
            local_files_only=True,
            use_safetensors=True,
            low_cpu_mem_usage=False,
            output_loading_info=True,
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise WeightsError(
            f"cannot load {str(weights)!r} with its config ({message}); {fetch_hint(root)}"
        ) from None
    problems = [
        f"{len(info[kind])} {kind.replace('_keys', '')} (first {sorted(map(str, info[kind]))[0]})"
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
        if info.get(kind)
    ]
    if problems:
        raise WeightsError(
            f"{str(weights)!r} does not fit its config: {'; '.join(problems)} keys; "
            f"{fetch_hint(root)}"
        )
    return model


def random_attention_state(unet: UNet2DConditionModel, seed: int = 1) -> dict[str, torch.Tensor]:
    """A random attention checkpoint in CatVTON's key layout for ``unet`` (tests, parity)."""
    generator = torch.Generator().manual_seed(seed)
    modules = dict(unet.named_modules())
    return {
        key: torch.randn(modules[name].get_parameter(param).shape, generator=generator) * 0.05
        for key, (name, param) in checkpoint_keys(unet).items()
    }


def save_weights(
    models: DiffusionModels,
    attention: dict[str, torch.Tensor],
    root: Path,
    version_name: str = DEFAULT_VERSION,
) -> WeightsPaths:
    """Writes models and an attention checkpoint as a weights directory (HF layout).

    For tests and parity runs with random weights; users get real ones with
    ``tryon weights fetch``.
    """
    paths = weights_paths(root, version_name)
    models.unet.save_pretrained(paths.unet.parent, safe_serialization=True)
    models.scheduler.save_pretrained(paths.scheduler_config.parent)
    models.vae.save_pretrained(paths.vae.parent, safe_serialization=True)
    paths.attention.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in attention.items()}, str(paths.attention))
    return paths
