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
    ATTENTION_FILE,
    BASE,
    DEFAULT_VERSION,
    VAE,
    VERSIONS_FOLDER,
    WeightsError,
    WeightsPaths,
    fetch_hint,
    read_json,
    require_files,
    weights_paths,
)

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
"""The file name diffusers gives a model's weights."""

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

TINY_UNET: dict[str, Any] = {
    **UNET_CONFIG,
    "block_out_channels": [32, 32, 64, 64],
    "cross_attention_dim": 32,
    "norm_num_groups": 8,
    "sample_size": 8,
}
"""SD-1.5 inpainting's UNet, narrow: the real block layout (16 self-attention modules, so
an attention checkpoint of CatVTON's 80 keys), 2% of the parameters."""

TINY_VAE: dict[str, Any] = {
    **VAE_CONFIG,
    "block_out_channels": [16, 16, 32, 32],
    "norm_num_groups": 8,
}
"""sd-vae-ft-mse's blocks, narrow."""

MICRO_UNET: dict[str, Any] = {
    **UNET_CONFIG,
    "sample_size": 8,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [32, 64],
    "layers_per_block": 1,
    "cross_attention_dim": 32,
    "norm_num_groups": 8,
}
"""SD-1.5 inpainting's block types, two levels, narrow (the unit tests' model). Self-attention
modules: down_blocks.0 (1), up_blocks.1 (2), mid_block (1): 20 attention tensors."""

MICRO_VAE: dict[str, Any] = {
    **VAE_CONFIG,
    "block_out_channels": [8, 8, 8, 8],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 64,
}
"""sd-vae-ft-mse's blocks, narrower still; downsamples by 8 like it."""

MODEL_SIZES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "micro": (MICRO_UNET, MICRO_VAE),
    "tiny": (TINY_UNET, TINY_VAE),
    "real": (UNET_CONFIG, VAE_CONFIG),
}
"""(UNet config, VAE config) of the models ``build_models`` makes for random weights:
``real`` is SD-1.5 inpainting and sd-vae-ft-mse (859.5M + 83.7M parameters), ``tiny`` the
same block layout narrow, ``micro`` the unit tests' two-level model."""


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


def load_models(root: Path, version_name: str | Path = DEFAULT_VERSION) -> DiffusionModels:
    """Loads the base UNet, the VAE and CatVTON's attention from a weights directory.

    ``version_name`` is a published CatVTON version, or trained weights: their folder's
    name under ``root`` (or ``root/CatVTON``), or their path (a folder holding
    ``attention/model.safetensors``, or the file); see ``attention_weights``.

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
    dtype: torch.dtype = torch.float32,
) -> WeightsPaths:
    """Writes models and an attention checkpoint as a weights directory (HF layout).

    For tests, benchmarks and parity runs with random weights; users get real ones with
    ``tryon weights fetch``.

    Args:
        models: the UNet, VAE and scheduler to write.
        attention: the checkpoint, in CatVTON's key layout; written in float32, as
            CatVTON's files are.
        root: the weights directory.
        version_name: the attention's folder under ``root/CatVTON`` (any name; the engines
            load it by that name).
        dtype: dtype of the UNet's and VAE's files (float16 halves them; the loader
            reads them into float32 models). The models in memory are left as they are.
    """
    folders = ((models.unet, root / BASE.folder / "unet"), (models.vae, root / VAE.folder))
    for model, folder in folders:
        # What save_pretrained writes, with the tensors cast on the way out.
        model.save_config(folder)
        state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    models.scheduler.save_pretrained(root / BASE.folder / "scheduler")
    file = root / VERSIONS_FOLDER / version_name / ATTENTION_FILE
    file.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.float().contiguous() for k, v in attention.items()}, str(file))
    return weights_paths(root, version_name)
