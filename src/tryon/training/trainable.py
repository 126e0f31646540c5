"""Which UNet parameters a run trains (CatVTON's ablation, Table 4)."""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel

from tryon.diffusion.attention import self_attentions
from tryon.training.config import Trainable


def trainable_parameters(
    unet: UNet2DConditionModel, which: Trainable
) -> list[tuple[str, torch.nn.Parameter]]:
    """The named parameters ``which`` selects, in ``named_parameters`` order.

    ``attention``: the self-attention modules (``attn1``: to_q, to_k, to_v, to_out.0);
    ``transformer``: every transformer block (``transformer_blocks``); ``unet``: all.
    """
    if which == "unet":
        return list(unet.named_parameters())
    if which == "attention":
        prefixes = tuple(f"{name}." for name, _ in self_attentions(unet))
    else:
        prefixes = tuple(
            f"{name}."
            for name, module in unet.named_modules()
            if name.endswith("transformer_blocks") and isinstance(module, torch.nn.ModuleList)
        )
    return [(n, p) for n, p in unet.named_parameters() if n.startswith(prefixes)]


def freeze_all_but(unet: UNet2DConditionModel, which: Trainable) -> list[torch.nn.Parameter]:
    """Sets ``requires_grad`` on the selected parameters only; returns them."""
    unet.requires_grad_(False)
    chosen = [p for _, p in trainable_parameters(unet, which)]
    for param in chosen:
        param.requires_grad_(True)
    return chosen
