"""Per-garment LoRA adapters on the self-attention projections, applied while rendering.

A garment's adapter (``tryon.types.GarmentAdapter``, tuned by ``tryon catalog tune``) is a
LoRA on every self-attention projection (``attn1.to_q``, ``to_k``, ``to_v``,
``to_out.0``), in peft's tensor names. Tuning wraps the projections with peft; rendering
does not: the UNet is shared by every request, and wrapping it would rename its
parameters (``to_q.base_layer.weight``) under every other user. Instead each projection
gets a forward hook that adds the adapter's term, ``(alpha / r) B A x``, computed as peft
computes it, to the projection's output, on the batch rows of the people whose garment
has that adapter; the other rows are left untouched, so a garment without an adapter
renders bit for bit as with no hook at all, in a batch with tuned garments or not. The
active adapters are per thread: a request for another garment, running at the same time
on another thread, sees none.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from safetensors import SafetensorError
from safetensors.torch import load

from tryon.diffusion.attention import self_attentions
from tryon.errors import TryOnError
from tryon.types import GarmentAdapter

PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")
"""The projections of each self-attention that a garment's LoRA adapts."""


ForwardHook = Callable[
    [torch.nn.Module, tuple[torch.Tensor, ...], torch.Tensor], torch.Tensor | None
]


class AdapterError(TryOnError):
    """A garment's adapter file is missing, damaged or made for another model."""


def lora_targets(unet: UNet2DConditionModel) -> list[str]:
    """Full names of the self-attention projections an adapter adapts, in UNet order.

    A list of full names, for peft's ``target_modules``: a list of short names
    (``"to_q"``) would also wrap the cross-attentions, which CatVTON skips.
    """
    return [
        f"{name}.{projection}" for name, _ in self_attentions(unet) for projection in PROJECTIONS
    ]


@dataclass(frozen=True)
class LoadedAdapter:
    """An adapter's tensors on the rendering device, checked against the UNet.

    Attributes:
        digest: SHA-256 of the file it was read from.
        scaling: alpha / rank.
        pairs: projection name -> (A (rank, in), B (out, rank)), float32.
    """

    digest: str
    scaling: float
    pairs: dict[str, tuple[torch.Tensor, torch.Tensor]]


def read_adapter(
    adapter: GarmentAdapter, unet: UNet2DConditionModel, device: torch.device
) -> LoadedAdapter:
    """Reads a garment's adapter file and checks it fits ``unet`` tensor by tensor.

    Raises:
        AdapterError: the file is missing, unreadable, changed since the catalog listed
            it, or lacks a projection's tensors or has other shapes than ``unet`` needs.
    """
    where = f"the adapter of garment {adapter.garment} ({str(adapter.weights)!r})"
    retune = f"tune it again with 'tryon catalog tune {adapter.garment} --photos PHOTO...'"
    try:
        data = adapter.weights.read_bytes()
        state = load(data)
    except (OSError, SafetensorError) as exc:
        raise AdapterError(f"cannot read {where} ({exc}); {retune}") from None
    if hashlib.sha256(data).hexdigest() != adapter.digest:
        raise AdapterError(f"{where} changed while it was being read; try again")
    modules = dict(unet.named_modules())
    pairs = {}
    for target in lora_targets(unet):
        down, up = (
            state.pop(f"{target}.lora_A.weight", None),
            state.pop(f"{target}.lora_B.weight", None),
        )
        linear = modules[target]
        assert isinstance(linear, torch.nn.Linear)
        wanted = ((adapter.rank, linear.in_features), (linear.out_features, adapter.rank))
        if down is None or up is None or (tuple(down.shape), tuple(up.shape)) != wanted:
            raise AdapterError(f"{where} does not fit this model at {target}; {retune}")
        pairs[target] = (down.to(device, torch.float32), up.to(device, torch.float32))
    if state:
        raise AdapterError(
            f"{where} holds tensors this model has no place for ({min(state)}); {retune}"
        )
    return LoadedAdapter(adapter.digest, adapter.alpha / adapter.rank, pairs)


Batch = tuple[LoadedAdapter | None, ...]
"""The adapter of each person of a model batch (None: that person's garment has none)."""


class AdapterHooks:
    """Forward hooks on one UNet's self-attention projections that add, row by row, the
    adapters the calling thread made active (none by default) to their outputs.

    One per UNet (``hooks_for``): renderers sharing a UNet share its hooks.
    """

    def __init__(self, unet: UNet2DConditionModel) -> None:
        self._local = threading.local()
        modules = dict(unet.named_modules())
        for target in lora_targets(unet):
            modules[target].register_forward_hook(self._hook(target))

    @contextmanager
    def active(self, people: Batch) -> Iterator[None]:
        """Applies each person's adapter to this thread's forward passes inside the block.

        Row ``r`` of a UNet batch is person ``r % len(people)``: the pipeline stacks its
        guidance branches as ``[uncond, cond]``, each the people in order.
        """
        previous = getattr(self._local, "people", None)
        self._local.people = people if any(a is not None for a in people) else None
        try:
            yield
        finally:
            self._local.people = previous

    def _hook(self, target: str) -> ForwardHook:
        def add_lora(
            module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor
        ) -> torch.Tensor | None:
            people: Batch | None = getattr(self._local, "people", None)
            if people is None:
                return None  # the projection's output, untouched
            rows = [people[r % len(people)] for r in range(output.shape[0])]
            if all(a is rows[0] for a in rows):
                return _with_update(output, inputs[0], rows[0], target)
            # Only the rows of people with an adapter change; the others stay bit for bit.
            result = output.clone()
            for digest in {a.digest for a in rows if a is not None}:
                index = [r for r, a in enumerate(rows) if a is not None and a.digest == digest]
                result[index] = _with_update(
                    output[index], inputs[0][index], rows[index[0]], target
                )
            return result

        return add_lora


def _with_update(
    output: torch.Tensor, x: torch.Tensor, adapter: LoadedAdapter | None, target: str
) -> torch.Tensor:
    """A projection's output plus the adapter's update, as peft's LoRA layer computes it:
    ``result + lora_B(lora_A(x)) * scaling`` in A's dtype, cast back to the output's."""
    if adapter is None:
        return output
    down, up = adapter.pairs[target]
    return (output + F.linear(F.linear(x.to(down.dtype), down), up) * adapter.scaling).to(
        output.dtype
    )


_HOOKS: weakref.WeakKeyDictionary[UNet2DConditionModel, AdapterHooks] = weakref.WeakKeyDictionary()
_HOOKS_LOCK = threading.Lock()


def hooks_for(unet: UNet2DConditionModel) -> AdapterHooks:
    """The UNet's adapter hooks, installed the first time an adapter is used on it."""
    with _HOOKS_LOCK:
        hooks = _HOOKS.get(unet)
        if hooks is None:
            hooks = _HOOKS[unet] = AdapterHooks(unet)
        return hooks


@contextmanager
def applying(unet: UNet2DConditionModel, people: Batch) -> Iterator[None]:
    """Runs the block's forward passes of ``unet`` on this thread with each person's
    adapter (all None: the base model). The UNet gets its hooks the first time an
    adapter is applied to it; without one active they change nothing."""
    if all(a is None for a in people):
        with _HOOKS_LOCK:
            hooks = _HOOKS.get(unet)
        if hooks is None:
            yield
            return
    with hooks_for(unet).active(people):
        yield
