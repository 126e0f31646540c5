"""FASHN VTON v1.5's try-on transformer: a pixel-space MMDiT on diffusers' Flux blocks.

The network predicts a rectified-flow velocity for a noisy person image (t = 0 noise,
t = 1 data), conditioned on the person image ("ca" image), its pose raster, the garment
image, the garment's pose raster and the garment category. There is no VAE and no text
encoder: 12x12 pixel patches go in and come out.

Layout (the released config, ``FashnModelConfig()``):

* person tokens: conv patches of [noisy x (3), ca image (3), person pose (1)];
  garment tokens: conv patches of [garment (3), garment pose (1)]; 72x48 tokens each,
  both with the same RoPE ids (0, row, col);
* conditioning vector: time MLP of the sinusoidal features of ``1000 t`` plus a class
  embedding (0 null, 1 tops, 2 bottoms, 3 one-pieces);
* a patch mixer of 4 single-stream blocks on the person tokens only, then 8 double-stream
  blocks (person = ``hidden_states``, garment = ``encoder_hidden_states``, joint
  attention over [garment; person]), then 16 single-stream blocks over [garment; person];
* the person tokens through an adaptive LayerNorm and a Linear to 3x12x12 pixels.

The state-dict names here are diffusers'; ``tryon.fashn.weights`` maps them onto the
reference checkpoint's names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.embeddings import TimestepEmbedding
from diffusers.models.normalization import AdaLayerNormContinuous
from diffusers.models.transformers.transformer_flux import (
    FluxPosEmbed,
    FluxSingleTransformerBlock,
    FluxTransformerBlock,
)

from tryon.fashn.blocks import (
    TIME_FEATURES,
    PixelPatchEmbed,
    drop_conditions,
    patch_positions,
    timestep_features,
    unpatchify,
    use_reference_qk_norms,
)

IMAGE_CHANNELS = 3
POSE_CHANNELS = 1


@dataclass(frozen=True)
class FashnModelConfig:
    """Shape of the transformer; the defaults are the released model's (972M parameters).

    Attributes:
        height: image height the model was trained at, pixels (multiple of patch_size).
        width: image width, pixels.
        hidden_size: token width.
        num_heads: attention heads (head_dim = hidden_size / num_heads).
        double_blocks: double-stream (joint attention) blocks.
        single_blocks: single-stream blocks after them.
        mlp_ratio: MLP width over hidden_size.
        patch_size: pixel patch side.
        rope_theta: RoPE base.
        axes_dim: RoPE dimensions per id axis (0, row, col); they sum to head_dim.
        patch_mixer_depth: single-stream blocks on the person tokens before the MMDiT.
        num_classes: garment categories (plus the null class 0).
    """

    height: int = 864
    width: int = 576
    hidden_size: int = 1280
    num_heads: int = 10
    double_blocks: int = 8
    single_blocks: int = 16
    mlp_ratio: float = 4.0
    patch_size: int = 12
    rope_theta: int = 10000
    axes_dim: tuple[int, int, int] = (16, 56, 56)
    patch_mixer_depth: int = 4
    num_classes: int = 3

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads")
        if sum(self.axes_dim) != self.head_dim:
            raise ValueError(f"axes_dim {self.axes_dim} must sum to head_dim {self.head_dim}")
        if self.height % self.patch_size or self.width % self.patch_size:
            raise ValueError(f"{self.height}x{self.width} is not a multiple of {self.patch_size}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        """Width of the MLPs' hidden layer."""
        return int(self.hidden_size * self.mlp_ratio)

    @property
    def patch_features(self) -> int:
        """Pixel values per output token: 3 x patch x patch."""
        return IMAGE_CHANNELS * self.patch_size**2


def _single_block(config: FashnModelConfig) -> FluxSingleTransformerBlock:
    block = FluxSingleTransformerBlock(
        config.hidden_size, config.num_heads, config.head_dim, mlp_ratio=config.mlp_ratio
    )
    use_reference_qk_norms(block.attn)
    return block


def _double_block(config: FashnModelConfig) -> FluxTransformerBlock:
    block = FluxTransformerBlock(config.hidden_size, config.num_heads, config.head_dim)
    if config.mlp_hidden != 4 * config.hidden_size:  # diffusers' default width is 4x
        from diffusers.models.attention import FeedForward

        for name in ("ff", "ff_context"):
            ff = FeedForward(
                config.hidden_size,
                dim_out=config.hidden_size,
                mult=config.mlp_ratio,
                activation_fn="gelu-approximate",
            )
            setattr(block, name, ff)
    use_reference_qk_norms(block.attn)
    return block


class FashnTransformer(torch.nn.Module):
    """FASHN VTON v1.5's denoiser: pixel-space velocity of the person image.

    Attributes:
        config: the shape it was built with.
        time_embed: MLP of the time features (``linear_1``, SiLU, ``linear_2``).
        class_embed: garment category embedding, row 0 the null class.
        pos_embed: RoPE of the (0, row, col) ids.
        person_embed: patches of [noisy x, ca image, person pose] (7 channels).
        garment_embed: patches of [garment, garment pose] (4 channels).
        patch_mixer: single-stream blocks on the person tokens only.
        patch_mixer_token: unused buffer (1, 1, 3*p*p), kept because checkpoints hold it.
        transformer_blocks: double-stream blocks.
        single_transformer_blocks: single-stream blocks over [garment; person].
        norm_out: final adaptive LayerNorm (no affine).
        proj_out: Linear to 3*p*p pixel values per token.
    """

    def __init__(self, config: FashnModelConfig) -> None:
        super().__init__()
        self.config = config
        hidden, patch = config.hidden_size, config.patch_size
        self.time_embed = TimestepEmbedding(TIME_FEATURES, hidden)
        self.class_embed = torch.nn.Embedding(config.num_classes + 1, hidden)
        self.pos_embed = FluxPosEmbed(config.rope_theta, list(config.axes_dim))
        self.person_embed = PixelPatchEmbed(2 * IMAGE_CHANNELS + POSE_CHANNELS, hidden, patch)
        self.garment_embed = PixelPatchEmbed(IMAGE_CHANNELS + POSE_CHANNELS, hidden, patch)
        self.patch_mixer = torch.nn.ModuleList(
            [_single_block(config) for _ in range(config.patch_mixer_depth)]
        )
        self.register_buffer("patch_mixer_token", torch.zeros(1, 1, config.patch_features))
        self.transformer_blocks = torch.nn.ModuleList(
            [_double_block(config) for _ in range(config.double_blocks)]
        )
        self.single_transformer_blocks = torch.nn.ModuleList(
            [_single_block(config) for _ in range(config.single_blocks)]
        )
        self.norm_out = AdaLayerNormContinuous(hidden, hidden, False, 1e-6)
        self.proj_out = torch.nn.Linear(hidden, config.patch_features)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        ca_image: torch.Tensor,
        person_pose: torch.Tensor,
        garment_image: torch.Tensor,
        garment_pose: torch.Tensor,
        category: torch.Tensor,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Velocity of the noisy person image.

        All images share one size H x W (multiples of ``patch_size``; the model was
        trained at ``config.height`` x ``config.width``), the model's device and dtype.

        Args:
            x: (N, 3, H, W) noisy image, x_t = t * data + (1 - t) * noise.
            t: (N,) times in [0, 1] (0 noise, 1 data), model dtype.
            ca_image: (N, 3, H, W) person image (or its masked version) in [-1, 1].
            person_pose: (N, 1, H, W) person pose raster in [-1, 1].
            garment_image: (N, 3, H, W) garment image in [-1, 1].
            garment_pose: (N, 1, H, W) garment pose raster in [-1, 1].
            category: (N,) int64: 1 tops, 2 bottoms, 3 one-pieces.
            keep: (N,) bool classifier-free-guidance mask; where False, the four images
                are replaced by zeros and the category by the null class 0. None keeps all.

        Returns:
            (N, 3, H, W) velocity, model dtype.
        """
        if keep is not None:
            ca_image, person_pose = (
                drop_conditions(ca_image, keep),
                drop_conditions(person_pose, keep),
            )
            garment_image = drop_conditions(garment_image, keep)
            garment_pose = drop_conditions(garment_pose, keep)
            category = drop_conditions(category, keep)
        rows, cols = x.shape[-2] // self.config.patch_size, x.shape[-1] // self.config.patch_size
        person = self.person_embed(torch.cat([x, ca_image, person_pose], dim=1))
        garment = self.garment_embed(torch.cat([garment_image, garment_pose], dim=1))
        vec = self.time_embed(timestep_features(t)) + self.class_embed(category)
        cos, sin = self.pos_embed(patch_positions(rows, cols).to(x.device))
        for block in self.patch_mixer:
            person = _single_stream(block, person, vec, (cos, sin))
        joint = (torch.cat([cos, cos]), torch.cat([sin, sin]))
        for double in self.transformer_blocks:
            garment, person = double(person, garment, vec, joint)
        tokens = torch.cat([garment, person], dim=1)
        for block in self.single_transformer_blocks:
            tokens = _single_stream(block, tokens, vec, joint)
        person = self.proj_out(self.norm_out(tokens[:, garment.shape[1] :], vec))
        return unpatchify(person, rows, cols, self.config.patch_size)


def _single_stream(
    block: FluxSingleTransformerBlock,
    tokens: torch.Tensor,
    vec: torch.Tensor,
    rope: tuple[torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Runs a single-stream block on one token sequence (B, L, C) -> (B, L, C)."""
    empty = tokens[:, :0]
    return block(tokens, empty, vec, rope)[1]
