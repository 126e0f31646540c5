"""The parts of FASHN VTON v1.5's transformer that diffusers has no class for, and the
hooks that make diffusers' Flux blocks compute what the reference computes, bit for bit.

* ``SlicedOutputFluxProcessor``: Flux joint attention whose output projections run on
  the non-contiguous token slices of the joint attention output, as the reference does
  (diffusers' processor copies each slice first, which changes the GEMM's rounding).
* ``use_reference_qk_norms``: swaps the per-head QK RMSNorms of a ``FluxAttention`` to
  ``diffusers.models.normalization.RMSNorm``, whose bfloat16 rounding is the reference's
  (``torch.nn.RMSNorm`` differs by one ulp).
* ``timestep_features``: the sinusoidal time features with the frequencies built on the
  CPU, as the reference does on every device.
* ``PixelPatchEmbed``, ``patch_tokens``, ``patch_positions``, ``unpatchify``: the 12x12
  pixel patches in and out (no VAE: the model works on pixels).
* ``drop_conditions``: the classifier-free-guidance drop (conditions replaced by zeros).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import apply_rotary_emb
from diffusers.models.normalization import RMSNorm
from diffusers.models.transformers.transformer_flux import FluxAttention

QK_NORM_EPS = 1e-6
TIME_FEATURES = 256
"""Width of the sinusoidal time features fed to the time MLP."""
TIME_FACTOR = 1000.0
"""The model sees ``t * 1000`` (t in [0, 1], computed in the model dtype)."""
MAX_PERIOD = 10000


class SlicedOutputFluxProcessor:
    """Attention processor for diffusers' ``FluxAttention`` matching the reference.

    Same computation as diffusers' ``FluxAttnProcessor`` with unfused projections (QK
    norm per head, garment tokens first, RoPE in float32, PyTorch SDPA without a mask),
    except that ``to_out`` and ``to_add_out`` are applied to the slices of the joint
    output without copying them to contiguous memory first.
    """

    def __call__(
        self,
        attn: FluxAttention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        image_rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Joint (double block) or plain (single block) self-attention.

        Args:
            attn: the attention module holding the projections and norms.
            hidden_states: (B, L, C) person tokens (or all tokens in a single block).
            encoder_hidden_states: (B, Lg, C) garment tokens, or None.
            attention_mask: must be None (the model attends everywhere).
            image_rotary_emb: (cos, sin), each (Lg + L, head_dim) float32.

        Returns:
            (B, L, C) person output and (B, Lg, C) garment output for a joint attention;
            (B, L, C) attention output (before any projection) otherwise.
        """
        if attention_mask is not None:
            raise ValueError("FASHN attention takes no mask")
        query, key, value = _heads(attn, hidden_states, attn.to_q, attn.to_k, attn.to_v)
        query, key = attn.norm_q(query), attn.norm_k(key)
        if encoder_hidden_states is not None:
            g_query, g_key, g_value = _heads(
                attn, encoder_hidden_states, attn.add_q_proj, attn.add_k_proj, attn.add_v_proj
            )
            g_query, g_key = attn.norm_added_q(g_query), attn.norm_added_k(g_key)
            query = torch.cat([g_query, query], dim=1)
            key = torch.cat([g_key, key], dim=1)
            value = torch.cat([g_value, value], dim=1)
        if image_rotary_emb is not None:
            query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=1)
            key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=1)
        out = F.scaled_dot_product_attention(
            query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
        )
        # (B, H, L, D) -> (B, L, H*D), as the reference's rearrange lays it out.
        out = out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)
        if encoder_hidden_states is None:
            return out
        garment_length = encoder_hidden_states.shape[1]
        person = attn.to_out[1](attn.to_out[0](out[:, garment_length:]))
        garment = attn.to_add_out(out[:, :garment_length])
        return person, garment


def _heads(
    attn: FluxAttention,
    tokens: torch.Tensor,
    to_q: torch.nn.Module,
    to_k: torch.nn.Module,
    to_v: torch.nn.Module,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, L, C) tokens -> query, key, value, each (B, L, heads, head_dim)."""
    return tuple(proj(tokens).unflatten(-1, (-1, attn.head_dim)) for proj in (to_q, to_k, to_v))


def use_reference_qk_norms(attn: FluxAttention) -> None:
    """Replaces the attention's QK norms by diffusers' ``RMSNorm`` (eps 1e-6, with scale).

    It upcasts to float32, normalises, casts back, then multiplies by the scale: the
    reference's rounding in bfloat16.
    """
    names = ["norm_q", "norm_k"]
    if attn.added_kv_proj_dim is not None:
        names += ["norm_added_q", "norm_added_k"]
    for name in names:
        setattr(attn, name, RMSNorm(attn.head_dim, eps=QK_NORM_EPS, elementwise_affine=True))
    attn.set_processor(SlicedOutputFluxProcessor())


def timestep_features(t: torch.Tensor, dim: int = TIME_FEATURES) -> torch.Tensor:
    """Sinusoidal features of ``TIME_FACTOR * t``, [cos | sin], in ``t``'s dtype.

    Diffusers' ``Timesteps`` builds its frequencies on ``t``'s device; the reference
    builds them on the CPU in float32 and moves them, so a GPU's ``exp`` never enters.

    Args:
        t: (B,) times in [0, 1], in the model dtype (the product is rounded to it).
        dim: number of features (even).

    Returns:
        (B, dim) features, ``t``'s dtype.
    """
    t = TIME_FACTOR * t
    half = dim // 2
    exponent = -math.log(MAX_PERIOD) * torch.arange(0, half, dtype=torch.float32) / half
    freqs = torch.exp(exponent).to(t.device)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(t.dtype)


class PixelPatchEmbed(torch.nn.Module):
    """Non-overlapping ``patch`` x ``patch`` pixel patches to tokens (a strided conv).

    Attributes:
        proj: Conv2d(channels -> hidden, kernel = stride = patch).
    """

    def __init__(self, channels: int, hidden: int, patch: int) -> None:
        super().__init__()
        self.proj = torch.nn.Conv2d(channels, hidden, kernel_size=patch, stride=patch)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, channels, H, W) in [-1, 1] -> (B, (H/p)*(W/p), hidden) tokens, row-major."""
        return patch_tokens(self.proj(pixels))


def patch_tokens(grid: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) feature grid -> contiguous (B, h*w, C) tokens, row-major."""
    b, c, h, w = grid.shape
    return grid.permute(0, 2, 3, 1).reshape(b, h * w, c)


def patch_positions(rows: int, cols: int) -> torch.Tensor:
    """RoPE ids of a ``rows`` x ``cols`` token grid: (rows*cols, 3) float32 of
    (0, row, col). The garment and person grids get the same ids."""
    ids = torch.zeros(rows, cols, 3)
    ids[..., 1] = ids[..., 1] + torch.arange(rows)[:, None]
    ids[..., 2] = ids[..., 2] + torch.arange(cols)[None, :]
    return ids.reshape(rows * cols, 3)


def unpatchify(tokens: torch.Tensor, rows: int, cols: int, patch: int) -> torch.Tensor:
    """(B, rows*cols, C*patch*patch) tokens -> (B, C, rows*patch, cols*patch) pixels.

    Each token's features are ordered (channel, patch row, patch column).
    """
    b, _, features = tokens.shape
    channels = features // (patch * patch)
    x = tokens.reshape(b, rows, cols, channels, patch, patch)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(b, channels, rows * patch, cols * patch)


def drop_conditions(condition: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Zeroes the conditions of the samples that ``keep`` drops (CFG's unconditional half).

    Args:
        condition: (B, ...) images in [-1, 1] (zero is mid-grey) or (B,) int64 classes
            (zero is the null class).
        keep: (B,) bool, True where the condition is kept.

    Returns:
        ``condition`` with the dropped samples set to zero, same shape and dtype.
    """
    mask = keep.view(keep.shape[0], *([1] * (condition.dim() - 1)))
    return torch.where(mask, condition, torch.zeros_like(condition))
