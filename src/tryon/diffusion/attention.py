"""CatVTON's attention, installed through diffusers' attention-processor hook.

CatVTON keeps SD-1.5's UNet as it is and changes two things:

* every cross-attention (``attn2``) is skipped: its processor returns its input. The
  transformer block still computes ``h = attn2(norm2(h)) + h``, so each block adds
  ``norm2(h)`` to ``h``: ``norm2`` is part of the model and must not be dropped;
* every self-attention (``attn1``) gets fine-tuned ``to_q``, ``to_k``, ``to_v`` and
  ``to_out.0`` weights, loaded here strictly from CatVTON's checkpoint.

Key layout of CatVTON's ``attention/model.safetensors``: the reference collects the
modules whose name contains ``attn1`` from ``unet.named_modules()``: for each ``attn1``
eight entries (the module, ``to_q``, ``to_k``, ``to_v``, ``to_out``, ``to_out.0``,
``to_out.1``, its processor), so the i-th self-attention's tensors are named
``"{8*i}.to_q.weight"`` and so on, i counting the ``attn1`` modules in registration order:
down blocks, then up blocks, then the mid block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

from tryon.diffusion.weights import WeightsError, fetch_hint

MODULES_PER_ATTENTION = 8
"""Entries per ``attn1`` in the reference's module list, hence the key stride."""

PARAMETERS = ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias")
"""The tensors of one self-attention in CatVTON's checkpoint."""


class SkipCrossAttention:
    """Attention processor that returns its input unchanged (CatVTON's cross-attention).

    Installed on ``attn2``; the transformer block then computes ``h + norm2(h)``.
    """

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return hidden_states


def self_attentions(unet: UNet2DConditionModel) -> list[tuple[str, Attention]]:
    """The UNet's self-attention modules in CatVTON's checkpoint order.

    Returns:
        (module name, module) for every ``attn1``, in ``named_modules`` order (down
        blocks, up blocks, mid block: the order the UNet registers them).
    """
    return [
        (name, module)
        for name, module in unet.named_modules()
        if name.endswith("attn1") and isinstance(module, Attention)
    ]


def install_processors(unet: UNet2DConditionModel) -> None:
    """Skips every cross-attention and runs self-attention with diffusers' SDPA processor."""
    processors: dict[str, object] = {}
    for name in unet.attn_processors:
        if name.endswith("attn2.processor"):
            processors[name] = SkipCrossAttention()
        elif name.endswith("attn1.processor"):
            processors[name] = AttnProcessor2_0()
        else:
            raise WeightsError(f"unexpected attention {name!r}: the UNet is not SD-1.5 shaped")
    unet.set_attn_processor(processors)


def checkpoint_keys(unet: UNet2DConditionModel) -> dict[str, tuple[str, str]]:
    """Every key CatVTON's checkpoint must hold for ``unet``.

    Returns:
        checkpoint key -> (``attn1`` module name, parameter name inside it).
    """
    keys: dict[str, tuple[str, str]] = {}
    for i, (name, _) in enumerate(self_attentions(unet)):
        for param in PARAMETERS:
            keys[f"{MODULES_PER_ATTENTION * i}.{param}"] = (name, param)
    return keys


@dataclass(frozen=True)
class AttentionReport:
    """What a strict check of an attention checkpoint found.

    Attributes:
        loaded: number of tensors loaded (every key of the file).
        modules: number of self-attention modules covered (all of the UNet's).
        parameters: number of scalar parameters loaded.
    """

    loaded: int
    modules: int
    parameters: int


def check_attention_state(
    unet: UNet2DConditionModel, state: dict[str, torch.Tensor], source: Path, root: Path
) -> AttentionReport:
    """Checks that ``state`` fits ``unet`` exactly: no key left over, none missing, same shapes.

    Raises:
        WeightsError: naming the file, the first offending keys and the fetch command.
    """
    expected = checkpoint_keys(unet)
    modules = dict(self_attentions(unet))
    unused = sorted(set(state) - set(expected))
    missing = sorted(set(expected) - set(state), key=_key_order)
    where = f"{str(source)!r}"
    if unused or missing:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first {', '.join(missing[:3])})")
        if unused:
            parts.append(f"{len(unused)} unexpected (first {', '.join(unused[:3])})")
        raise WeightsError(
            f"{where} is not a CatVTON attention checkpoint for this UNet: "
            f"{'; '.join(parts)} of {len(expected)} keys; {fetch_hint(root)}"
        )
    total = 0
    for key, (module_name, param) in expected.items():
        target = modules[module_name].get_parameter(param)
        if tuple(state[key].shape) != tuple(target.shape):
            raise WeightsError(
                f"{where}: {key} has shape {tuple(state[key].shape)} but {module_name}.{param} "
                f"needs {tuple(target.shape)}; the file is damaged or for another model: "
                f"{fetch_hint(root)}"
            )
        total += target.numel()
    return AttentionReport(loaded=len(state), modules=len(modules), parameters=total)


def load_attention(
    unet: UNet2DConditionModel, state: dict[str, torch.Tensor], source: Path, root: Path
) -> AttentionReport:
    """Copies CatVTON's self-attention weights into ``unet`` after a strict check.

    Args:
        unet: the SD-1.5 inpainting UNet (any size of the same block layout).
        state: the checkpoint's tensors by key.
        source: the file they came from (for messages).
        root: the weights directory (for the fetch command in messages).

    Raises:
        WeightsError: the checkpoint does not fit (see ``check_attention_state``).
    """
    report = check_attention_state(unet, state, source, root)
    modules = dict(self_attentions(unet))
    with torch.no_grad():
        for key, (module_name, param) in checkpoint_keys(unet).items():
            modules[module_name].get_parameter(param).copy_(state[key])
    return report


def _key_order(key: str) -> tuple[int, str]:
    index, _, rest = key.partition(".")
    return (int(index) if index.isdigit() else -1, rest)
