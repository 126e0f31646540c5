"""The trained attention in CatVTON's exact checkpoint format.

``OUT/<name>/attention/model.safetensors``: 80 float32 tensors named as CatVTON names
them (``"{8*i}.to_q.weight"``, ...; ``tryon.diffusion.attention.checkpoint_keys``), which
the ``catvton`` and ``hybrid`` engines load by name or path and CatVTON's own loader reads
unchanged; ``OUT/<name>/training.json`` says what the run started from (and so which
licence its weights carry), its settings and how far it got.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

from tryon.diffusion.attention import checkpoint_keys
from tryon.diffusion.weights import ATTENTION_FILE, TRAINING_INFO


def attention_state(unet: UNet2DConditionModel) -> dict[str, torch.Tensor]:
    """The UNet's self-attention as CatVTON's checkpoint: key -> float32 CPU tensor."""
    modules = dict(unet.named_modules())
    return {
        key: modules[name].get_parameter(param).detach().to("cpu", torch.float32).contiguous()
        for key, (name, param) in checkpoint_keys(unet).items()
    }


def export_attention(unet: UNet2DConditionModel, run_dir: Path, record: dict[str, Any]) -> Path:
    """Writes the attention and the run's record under ``run_dir``; returns the file.

    Both files are written beside their final name and renamed into place, so a reader
    never sees half a file.
    """
    path = run_dir / ATTENTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file(attention_state(unet), str(partial), metadata={"format": "pt"})
    os.replace(partial, path)
    record_path = run_dir / TRAINING_INFO
    partial_record = record_path.with_suffix(".partial")
    partial_record.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(partial_record, record_path)
    return path
