"""Parity of the ``compat`` preset with CatVTON's reference pipeline on random weights.

Writes one weights directory with seeded random weights (``make_random_weights.py``:
``tiny``, SD-1.5 inpainting's block layout narrow, or ``real``), loads it into both our pipeline
and the reference's ``CatVTONPipeline`` (imported from a checkout of
github.com/Zheng-Chong/CatVTON given with ``--reference``), feeds both the same tensors
and the same random streams, and prints the maximum absolute difference of the float
outputs (values in [0, 1]) and of the 8-bit images, as JSON.

The reference imports ``accelerate`` and ``transformers``; run this in an environment
that has them besides this package's ``diffusion`` extra. Its VAE id
(``stabilityai/sd-vae-ft-mse``) is served from a local offline Hugging Face cache made
here from the random VAE; nothing is downloaded.

    python benchmarks/parity_catvton.py --reference PATH/TO/CatVTON [--size tiny|real]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tryon.diffusion.weights import VAE, WeightsPaths

# diffusers and huggingface_hub read HF_HOME when imported: they are imported in main(),
# after it points at the offline cache made there.


def offline_vae_cache(hf_home: Path, paths: WeightsPaths) -> None:
    """Lays the random VAE out as an offline hub cache entry for ``stabilityai/sd-vae-ft-mse``."""
    repo = hf_home / "hub" / ("models--" + VAE.repo_id.replace("/", "--"))
    commit = hashlib.sha1(b"random-vae").hexdigest()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in (paths.vae_config, paths.vae):
        shutil.copy(f, snapshot / f.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def record_decoder_input(vae: Any) -> list[torch.Tensor]:
    """Wraps ``vae.decode`` (on this instance) to keep a copy of the latents it decodes."""
    seen: list[torch.Tensor] = []
    decode = vae.decode

    def recording(z: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        seen.append(z.detach().clone())
        return decode(z, *args, **kwargs)

    vae.decode = recording
    return seen


def inputs(height: int, width: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A smooth random person and garment in [-1, 1] and a rectangular mask."""
    g = torch.Generator().manual_seed(seed)
    person = torch.nn.functional.interpolate(
        torch.rand(1, 3, height // 16, width // 16, generator=g), size=(height, width)
    )
    garment = torch.nn.functional.interpolate(
        torch.rand(1, 3, height // 16, width // 16, generator=g), size=(height, width)
    )
    mask = torch.zeros(1, 1, height, width)
    mask[..., height // 4 : 3 * height // 4, width // 5 : 4 * width // 5] = 1
    return person * 2 - 1, garment * 2 - 1, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, type=Path, help="CatVTON checkout")
    parser.add_argument("--size", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--guidance", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--vae-seed", type=int, default=42)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="catvton-parity-"))
    hf_home = work / "hf"
    os.environ["HF_HOME"] = str(hf_home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.path.insert(0, str(Path(__file__).parent))
    from make_random_weights import write_random_weights  # the sibling script

    from tryon.diffusion.models import load_models
    from tryon.diffusion.pipeline import CatVTONPipeline
    from tryon.diffusion.sampling import preset

    # float32 files at both sizes: the weights the published figures were measured on.
    paths = write_random_weights(work / "weights", args.size, seed=0, dtype=torch.float32)
    offline_vae_cache(hf_home, paths)
    sys.path.insert(0, str(args.reference))
    import model.pipeline as reference  # the reference's own module, unchanged

    person, garment, mask = inputs(args.height, args.width, seed=7)
    captured: list[np.ndarray] = []
    to_pil = reference.numpy_to_pil

    def capture(images: np.ndarray) -> Any:
        captured.append(images.copy())
        return to_pil(images)

    reference.numpy_to_pil = capture  # records the float output before 8-bit rounding
    ref = reference.CatVTONPipeline(
        base_ckpt=str(paths.unet.parent.parent),
        attn_ckpt=str(paths.attention.parent.parent.parent),
        attn_ckpt_version="mix",
        weight_dtype=torch.float32,
        device="cpu",
        skip_safety_check=True,
        use_tf32=False,
    )
    ref_latents = record_decoder_input(ref.vae)
    torch.manual_seed(args.vae_seed)  # the reference samples its VAE latents from here
    t0 = time.perf_counter()
    ref_images = ref(
        person.clone(),
        garment.clone(),
        mask.clone(),
        num_inference_steps=args.steps,
        guidance_scale=args.guidance,
        height=args.height,
        width=args.width,
        generator=torch.Generator("cpu").manual_seed(args.seed),
    )
    ref_seconds = time.perf_counter() - t0
    ref_float = captured[0][0]

    config = replace(preset("compat"), steps=args.steps, guidance=args.guidance)
    ours = CatVTONPipeline(load_models(work / "weights"), config)
    our_latents = record_decoder_input(ours.models.vae)
    t0 = time.perf_counter()
    out = ours(
        person,
        mask,
        ours.encode_garment(garment),
        generator=torch.Generator("cpu").manual_seed(args.seed),
        vae_generator=torch.Generator("cpu").manual_seed(args.vae_seed),
    )
    our_seconds = time.perf_counter() - t0
    our_float = out[0].permute(1, 2, 0).numpy()
    our_u8 = (our_float * 255).round().astype(np.uint8)
    ref_u8 = np.asarray(ref_images[0])
    print(
        json.dumps(
            {
                "size": args.size,
                "height": args.height,
                "width": args.width,
                "steps": args.steps,
                "dtype": "float32",
                "max_abs_diff_float": float(np.abs(our_float - ref_float).max()),
                "max_abs_diff_uint8": int(np.abs(our_u8.astype(int) - ref_u8.astype(int)).max()),
                "mean_abs_diff_float": float(np.abs(our_float - ref_float).mean()),
                "max_abs_diff_decoder_input": float((our_latents[0] - ref_latents[0]).abs().max()),
                "vae_weights_equal": all(
                    torch.equal(a, b)
                    for a, b in zip(
                        ours.models.vae.state_dict().values(),
                        ref.vae.state_dict().values(),
                        strict=True,
                    )
                ),
                "output_std": float(our_float.std()),
                "reference_seconds": round(ref_seconds, 2),
                "ours_seconds": round(our_seconds, 2),
            }
        )
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
