"""FASHN VTON v1.5's checkpoint: where it comes from, its key layout, strict loading.

The released ``model.safetensors`` (Hugging Face ``fashn-ai/fashn-vton-1.5``, Apache-2.0,
stored in bfloat16) holds 366 tensors named after the reference's modules. They map onto
``FashnTransformer`` (diffusers' names) one to one, except:

* ``double_blocks.i.{img,txt}_attn.qkv``: rows [q; k; v] split into ``to_q/to_k/to_v``
  (person) and ``add_q_proj/add_k_proj/add_v_proj`` (garment);
* ``single_blocks.i.linear1`` (and ``x_patch_mixer.i.linear1``): rows [q; k; v; mlp]
  split into ``attn.to_q/to_k/to_v`` and ``proj_mlp``;
* ``final_layer.adaLN_modulation.1``: rows (shift, scale) become ``norm_out.linear``'s
  (scale, shift).

Both directions are exact (rows are only moved).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tryon.diffusion.weights import WeightsError, WeightsRecord
from tryon.fashn.model import FashnModelConfig, FashnTransformer

FASHN_WEIGHTS = WeightsRecord(
    name="FASHN VTON v1.5 try-on transformer",
    repo_id="fashn-ai/fashn-vton-1.5",
    folder="fashn-vton-1.5",
    files=("model.safetensors",),
    licence="Apache-2.0",
)
FASHN_FETCH_COMMAND = "tryon weights fetch --engine fashn"
RELEASED = FashnModelConfig()
"""The released model's shape."""


@dataclass(frozen=True)
class KeyRule:
    """How one reference tensor maps onto the model's tensors.

    Attributes:
        reference: the key in the reference checkpoint.
        ours: the model's keys its rows go to, in row order.
        swap: the two halves of the reference's rows are stored in the other order
            (then ``ours`` has one key).
    """

    reference: str
    ours: tuple[str, ...]
    swap: bool = False


def _linear(reference: str, ours: str) -> Iterator[KeyRule]:
    for kind in ("weight", "bias"):
        yield KeyRule(f"{reference}.{kind}", (f"{ours}.{kind}",))


def _split_linear(reference: str, ours: tuple[str, ...]) -> Iterator[KeyRule]:
    for kind in ("weight", "bias"):
        yield KeyRule(f"{reference}.{kind}", tuple(f"{name}.{kind}" for name in ours))


def _qk_norms(reference: str, ours: str, added: bool = False) -> Iterator[KeyRule]:
    infix = "added_" if added else ""
    yield KeyRule(f"{reference}.norm.query_norm.scale", (f"{ours}.norm_{infix}q.weight",))
    yield KeyRule(f"{reference}.norm.key_norm.scale", (f"{ours}.norm_{infix}k.weight",))


def _single_block_rules(reference: str, ours: str) -> Iterator[KeyRule]:
    parts = (*(f"{ours}.attn.to_{x}" for x in "qkv"), f"{ours}.proj_mlp")
    yield from _split_linear(f"{reference}.linear1", parts)
    yield from _linear(f"{reference}.linear2", f"{ours}.proj_out")
    yield from _qk_norms(reference, f"{ours}.attn")
    yield from _linear(f"{reference}.modulation.lin", f"{ours}.norm.linear")


def _double_block_rules(reference: str, ours: str) -> Iterator[KeyRule]:
    # (reference stream, q/k/v projection, out projection, suffix of norm1 and ff, added)
    streams = (
        ("img", "to_{}", "to_out.0", "", False),  # person: diffusers' hidden_states
        ("txt", "add_{}_proj", "to_add_out", "_context", True),  # garment: the "context"
    )
    for stream, proj, out, context, added in streams:
        ref = f"{reference}.{stream}"
        qkv = tuple(f"{ours}.attn.{proj.format(x)}" for x in "qkv")
        yield from _split_linear(f"{ref}_attn.qkv", qkv)
        yield from _qk_norms(f"{ref}_attn", f"{ours}.attn", added)
        yield from _linear(f"{ref}_attn.proj", f"{ours}.attn.{out}")
        yield from _linear(f"{ref}_mod.lin", f"{ours}.norm1{context}.linear")
        yield from _linear(f"{ref}_mlp.0", f"{ours}.ff{context}.net.0.proj")
        yield from _linear(f"{ref}_mlp.2", f"{ours}.ff{context}.net.2")


def key_rules(config: FashnModelConfig) -> list[KeyRule]:
    """Every tensor of the reference checkpoint for ``config`` (module by module) with
    where it goes in ``FashnTransformer``."""
    rules = [
        *_linear("t_embedder.mlp.in_layer", "time_embed.linear_1"),
        *_linear("t_embedder.mlp.out_layer", "time_embed.linear_2"),
        KeyRule("y_embedder.weight", ("class_embed.weight",)),
        *_linear("x_embedder.proj", "person_embed.proj"),
        *_linear("garment_embedder.proj", "garment_embed.proj"),
    ]
    for i in range(config.patch_mixer_depth):
        rules += _single_block_rules(f"x_patch_mixer.{i}", f"patch_mixer.{i}")
    rules.append(KeyRule("patch_mixer_token", ("patch_mixer_token",)))
    for i in range(config.double_blocks):
        rules += _double_block_rules(f"double_blocks.{i}", f"transformer_blocks.{i}")
    for i in range(config.single_blocks):
        rules += _single_block_rules(f"single_blocks.{i}", f"single_transformer_blocks.{i}")
    rules += _linear("final_layer.linear", "proj_out")
    rules.append(
        KeyRule("final_layer.adaLN_modulation.1.weight", ("norm_out.linear.weight",), True)
    )
    rules.append(KeyRule("final_layer.adaLN_modulation.1.bias", ("norm_out.linear.bias",), True))
    return rules


def to_reference_state(model: FashnTransformer) -> dict[str, torch.Tensor]:
    """The model's tensors under the reference checkpoint's names and row layout.

    Returns:
        key -> contiguous tensor (the model's dtype and device), 366 entries for the
        released config.
    """
    ours = model.state_dict()
    state = {}
    for rule in key_rules(model.config):
        parts = [ours[name] for name in rule.ours]
        if rule.swap:
            parts = list(parts[0].chunk(2, dim=0))[::-1]
        state[rule.reference] = torch.cat(parts, dim=0).contiguous()
    return state


def from_reference_state(
    state: dict[str, torch.Tensor], model: FashnTransformer
) -> dict[str, torch.Tensor]:
    """The reference-named ``state`` under the model's names, after a strict check.

    Args:
        state: the checkpoint's tensors by reference key.
        model: the model they are for (any device, meta included: only shapes are read).

    Returns:
        model key -> tensor (views of ``state``'s tensors, their dtype and device).

    Raises:
        WeightsError: a missing, unexpected or misshapen key, naming the key(s).
    """
    rules = key_rules(model.config)
    _check_keys(state, {rule.reference for rule in rules})
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    converted: dict[str, torch.Tensor] = {}
    for rule in rules:
        tensor = state[rule.reference]
        rows = [shapes[name][0] if shapes[name] else 0 for name in rule.ours]
        expected = (sum(rows), *shapes[rule.ours[0]][1:])
        if tuple(tensor.shape) != expected:
            raise WeightsError(
                f"checkpoint tensor {rule.reference!r} has shape {tuple(tensor.shape)}, "
                f"the model needs {expected}: the file is damaged or for another model"
            )
        parts = tensor.split(rows, dim=0) if len(rule.ours) > 1 else (tensor,)
        if rule.swap:
            parts = (torch.cat(tensor.chunk(2, dim=0)[::-1]),)
        converted.update(zip(rule.ours, parts, strict=True))
    return converted


def _check_keys(state: dict[str, torch.Tensor], expected: set[str]) -> None:
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if not (missing or unexpected):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing: {', '.join(missing[:5])}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected: {', '.join(unexpected[:5])}")
    more = " (first five shown)" if max(len(missing), len(unexpected)) > 5 else ""
    raise WeightsError(
        f"not a FASHN VTON v1.5 checkpoint for this model: {'; '.join(parts)}{more} "
        f"of {len(expected)} keys"
    )


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, on the CPU.

    Raises:
        WeightsError: the file is missing (naming it and the fetch command) or unreadable.
    """
    if not path.is_file():
        raise WeightsError(
            f"missing weights file {str(path)!r} ({FASHN_WEIGHTS.name}, "
            f"{FASHN_WEIGHTS.repo_id}); run '{FASHN_FETCH_COMMAND}' on a machine with "
            "internet access"
        )
    try:
        return load_file(path, device="cpu")
    except (OSError, SafetensorError) as exc:
        raise WeightsError(
            f"cannot read weights file {str(path)!r} ({exc}); it is damaged: delete it and "
            f"run '{FASHN_FETCH_COMMAND}'"
        ) from None


def load_fashn_transformer(
    path: Path,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    config: FashnModelConfig = RELEASED,
) -> FashnTransformer:
    """Builds the transformer from a checkpoint in the reference's layout, strictly.

    The model is built on the meta device (no random initialisation) and takes the
    checkpoint's tensors, cast to ``dtype`` (a bfloat16 file upcasts exactly).

    Args:
        path: the ``model.safetensors`` file.
        device: where the model goes.
        dtype: the model's dtype (float32; bfloat16 on a GPU).
        config: the shape the checkpoint must have.

    Returns:
        The model in eval mode, on ``device`` in ``dtype``.

    Raises:
        WeightsError: a missing or unreadable file; a missing, unexpected or misshapen key.
    """
    state = read_checkpoint(Path(path))
    with torch.device("meta"):
        model = FashnTransformer(config)
    ours = from_reference_state(state, model)
    ours = {k: v.to(device=device, dtype=dtype).contiguous() for k, v in ours.items()}
    model.load_state_dict(ours, strict=True, assign=True)
    return model.eval()


def save_fashn_checkpoint(model: FashnTransformer, path: Path) -> None:
    """Writes the model as a ``.safetensors`` file in the reference's key layout (the
    model's dtype)."""
    state = {k: v.detach().cpu() for k, v in to_reference_state(model).items()}
    save_file(state, str(path))
