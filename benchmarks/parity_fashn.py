"""Parity of the ``fashn`` transformer and sampler with FASHN VTON v1.5's reference.

Imports the reference's ``tryon_mmdit`` and ``TryOnPipeline._sample`` from an unchanged
checkout of github.com/fashn-AI/fashn-vton-1.5 (``--reference``), builds its model with
seeded random weights, saves them with the reference's keys, loads that file with
``load_fashn_transformer`` and runs both samplers on the same random inputs and seed.
Prints one JSON line per case: the maximum absolute difference of the velocities (every
step's batched forward), of the float images and of the uint8 images (all 0 when the
two agree bit for bit), and the seconds each sampler took.

Cases: ``reduced`` (hidden 256, 2 heads, 2 double, 2 single, mixer 1, 96x72 pixels, the
real block structure), 30 steps with CFG, float32 and bfloat16, batch 1 and 2; ``real``
(the released shape, 972M parameters, 864x576), ``--real-steps`` steps in the
``--real-dtypes`` dtypes. The reference needs ``einops`` (``pip install einops``); its
pipeline module's heavy imports (DWPose, the human parser, torchvision's
``to_pil_image``) are replaced by stubs, the model and sampler run unchanged.

    python benchmarks/parity_fashn.py --reference PATH/TO/fashn-vton-1.5 \
        [--cases reduced,real] [--real-steps 1] [--real-dtypes float32]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from tryon.fashn.model import FashnModelConfig, FashnTransformer
from tryon.fashn.sampler import FashnInputs, FashnSampling, sample, to_uint8_images
from tryon.fashn.weights import load_fashn_transformer

REDUCED = FashnModelConfig(
    height=96,
    width=72,
    hidden_size=256,
    num_heads=2,
    double_blocks=2,
    single_blocks=2,
    patch_mixer_depth=1,
)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


REFERENCE_FLOATS: list[torch.Tensor] = []
"""The float images (C, H, W) in [0, 1] the reference's sampler converted, in order."""


def _to_pil_image(pic: torch.Tensor) -> np.ndarray:
    """torchvision's ``to_pil_image`` for a float (C, H, W) tensor, without PIL: the
    same ``mul(255).byte()`` conversion, returned as the (H, W, C) uint8 array. Keeps
    the float input in ``REFERENCE_FLOATS``."""
    REFERENCE_FLOATS.append(pic.detach().clone())
    return np.transpose(pic.mul(255).byte().cpu().numpy(), (1, 2, 0))


def _stub(name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def import_reference(root: Path) -> tuple[Any, Any]:
    """The reference's ``TryOnModel`` class and ``TryOnPipeline._sample``.

    Its package ``__init__`` (which imports the whole pipeline) is skipped; the modules
    ``_sample`` does not use are stubbed.
    """
    src = root / "src" / "fashn_vton"
    package = types.ModuleType("fashn_vton")
    package.__path__ = [str(src)]
    sys.modules["fashn_vton"] = package
    _stub("torchvision")
    _stub("torchvision.transforms")
    _stub("torchvision.transforms.functional", to_pil_image=_to_pil_image)
    _stub("fashn_human_parser", CATEGORY_TO_BODY_COVERAGE={}, FashnHumanParser=object)
    _stub("fashn_vton.dwpose", DWposeDetector=object, draw_pose=None)
    names = (
        "BODY_COVERAGE_TO_FASHN_LABELS FASHN_LABELS_TO_IDS AspectPreserveResize ResizePad "
        "create_clothing_agnostic_image create_garment_image"
    )
    _stub("fashn_vton.preprocessing", **dict.fromkeys(names.split()))
    mmdit = importlib.import_module("fashn_vton.tryon_mmdit")
    pipeline = importlib.import_module("fashn_vton.pipeline")
    return mmdit.TryOnModel, pipeline.TryOnPipeline._sample


def reference_model(model_class: Any, config: FashnModelConfig, seed: int) -> Any:
    """The reference model of ``config``'s shape with seeded random weights (norm scales,
    biases and the unused buffer randomised too, so every key's mapping shows)."""
    torch.manual_seed(seed)
    model = model_class(
        input_shape=(config.height, config.width),
        hidden_size=config.hidden_size,
        n_heads=config.num_heads,
        double_blocks_depth=config.double_blocks,
        single_blocks_depth=config.single_blocks,
        mlp_ratio=config.mlp_ratio,
        patch_size=config.patch_size,
        theta=config.rope_theta,
        axes_dim=config.axes_dim,
        n_classes=config.num_classes,
        patch_mixer_depth=config.patch_mixer_depth,
    )
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(".scale"):
                tensor.uniform_(0.5, 1.5)
            elif name.endswith(".bias") or name == "patch_mixer_token":
                tensor.normal_(0.0, 0.02)
    return model.eval()


def random_inputs(
    config: FashnModelConfig, n: int, dtype: torch.dtype, seed: int = 1
) -> FashnInputs:
    """Seeded random conditions in [-1, 1] (poses mostly -1, like a raster)."""
    g = torch.Generator().manual_seed(seed)
    h, w = config.height, config.width

    def image(channels: int) -> torch.Tensor:
        return (torch.rand(n, channels, h, w, generator=g) * 2 - 1).to(dtype)

    def pose() -> torch.Tensor:
        return torch.where(torch.rand(n, 1, h, w, generator=g) < 0.9, -1.0, 0.5).to(dtype)

    category = torch.randint(1, config.num_classes + 1, (n,), generator=g)
    return FashnInputs(image(3), pose(), image(3), pose(), category)


def record_outputs(module: torch.nn.Module, key: str | None = None) -> list[torch.Tensor]:
    """Keeps a float32 copy of every output of ``module.forward`` (``output[key]`` for a
    dict). The instance's ``forward`` is wrapped (the reference calls ``self.forward``
    directly, which module hooks do not see)."""
    seen: list[torch.Tensor] = []
    forward = module.forward

    def recording(*args: Any, **kwargs: Any) -> Any:
        output = forward(*args, **kwargs)
        seen.append((output[key] if key else output).detach().float().clone())
        return output

    module.forward = recording
    return seen


@dataclass(frozen=True)
class Case:
    size: str
    config: FashnModelConfig
    dtype: str
    batch: int
    steps: int


def run_reference(ref: Any, ref_sample: Any, inputs: FashnInputs, sampling: FashnSampling) -> Any:
    """The reference's sampler as its pipeline calls it: global seed, then ``_sample``."""
    torch.manual_seed(sampling.seed)
    return ref_sample(
        types.SimpleNamespace(tryon_model=ref),
        ca_images=inputs.ca_image,
        garment_images=inputs.garment_image,
        person_poses=inputs.person_pose,
        garment_poses=inputs.garment_pose,
        garment_categories=inputs.category,
        num_timesteps=sampling.steps,
        guidance_scale=sampling.guidance,
        skip_cfg_last_n_steps=sampling.skip_cfg_last_steps,
        use_tqdm=False,
    )


def run_case(case: Case, ref_class: Any, ref_sample: Any, workdir: Path) -> dict[str, Any]:
    """Builds both models for ``case``, samples with both, returns the JSON row."""
    dtype = DTYPES[case.dtype]
    built = time.perf_counter()
    ref = reference_model(ref_class, case.config, seed=0)
    path = workdir / f"{case.size}.safetensors"
    save_file(ref.state_dict(), str(path))
    ours: FashnTransformer = load_fashn_transformer(path, dtype=dtype, config=case.config)
    ref = ref.to(dtype=dtype)
    path.unlink()
    setup_s = time.perf_counter() - built
    ref_v, our_v = record_outputs(ref, "x"), record_outputs(ours)
    inputs = random_inputs(case.config, case.batch, dtype)
    sampling = FashnSampling(steps=case.steps)
    REFERENCE_FLOATS.clear()
    start = time.perf_counter()
    ref_pixels = run_reference(ref, ref_sample, inputs, sampling)
    ref_s = time.perf_counter() - start
    start = time.perf_counter()
    our_images = sample(ours, inputs, sampling)
    our_s = time.perf_counter() - start
    ref_uint8, ours_uint8 = np.stack(ref_pixels), to_uint8_images(our_images)
    ref_float = torch.stack(REFERENCE_FLOATS)  # (x + 1) * 0.5 of the clamped images
    velocity = max(float((a - b).abs().max()) for a, b in zip(ref_v, our_v, strict=True))
    return {
        "case": case.size,
        "dtype": case.dtype,
        "batch": case.batch,
        "steps": case.steps,
        "parameters": sum(p.numel() for p in ours.parameters()),
        "forwards": len(our_v),
        "velocity_max_abs": velocity,
        "image_max_abs": float((ref_float - (our_images + 1) * 0.5).abs().max()),
        "uint8_max_abs": int(np.abs(ref_uint8.astype(int) - ours_uint8.astype(int)).max()),
        "uint8_equal": bool(np.array_equal(ref_uint8, ours_uint8)),
        "reference_s": round(ref_s, 3),
        "ours_s": round(our_s, 3),
        "ratio": round(our_s / ref_s, 3),
        "setup_s": round(setup_s, 1),
    }


def cases(names: list[str], real_steps: int, real_dtypes: list[str]) -> list[Case]:
    """The cases to run, reduced ones first."""
    found = []
    if "reduced" in names:
        for dtype in DTYPES:
            for batch in (1, 2):
                found.append(Case("reduced", REDUCED, dtype, batch, 30))
    if "real" in names:
        for dtype in real_dtypes:
            found.append(Case("real", FashnModelConfig(), dtype, 1, real_steps))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="fashn-vton-1.5 checkout")
    parser.add_argument("--cases", default="reduced,real", help="reduced, real or both")
    parser.add_argument("--real-steps", type=int, default=1, help="steps of the real case")
    parser.add_argument("--real-dtypes", default="float32", help="float32 and/or bfloat16")
    args = parser.parse_args(argv)
    ref_class, ref_sample = import_reference(args.reference.resolve())
    selected = cases(args.cases.split(","), args.real_steps, args.real_dtypes.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in selected:
            row = run_case(case, ref_class, ref_sample, Path(tmp))
            print(json.dumps(row), flush=True)
            rows.append(row)
    exact = all(r["velocity_max_abs"] == 0 and r["uint8_equal"] for r in rows)
    print(json.dumps({"all_bit_exact": exact}))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
