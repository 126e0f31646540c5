"""Settings of a training run: CatVTON's recipe by default (training.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from tryon.dataset.training_pairs import MaskSource
from tryon.diffusion.weights import BASE_START
from tryon.errors import TryOnError

Trainable = Literal["attention", "transformer", "unet"]
"""What is trained: the 16 self-attention modules (CatVTON's choice, 49.6M parameters),
the transformer blocks, or the whole UNet (CatVTON's ablation, Table 4)."""

MixedPrecision = Literal["no", "fp16", "bf16"]


class TrainingError(TryOnError):
    """A training run cannot start or go on (bad settings, dataset, weights or output)."""


@dataclass(frozen=True)
class TrainConfig:
    """How a run trains.

    Attributes:
        name: the run's name: its folder under the output folder and the attention
            version name the engines load it by.
        start: ``"base"`` or a CatVTON version name (fine-tuning, CC BY-NC-SA 4.0).
        trainable: which parameters are trained.
        steps: optimiser steps.
        batch_size: pairs per step and process.
        gradient_accumulation: batches per optimiser step.
        learning_rate: AdamW's, constant.
        garment_dropout: share of pairs whose garment condition is zeroed, as the
            inference's unconditional branch does (classifier-free guidance).
        dream_power: DREAM's exponent p (0 turns DREAM off).
        height: training height, pixels (a multiple of 8).
        width: training width, pixels.
        mixed_precision: the frozen parts' dtype; trainable parameters and the
            optimiser state stay float32.
        gradient_checkpointing: recompute activations in the backward pass (less memory).
        masks: the engines' own agnostic masks (``project``) or the dataset's files.
        seed: seed of every draw (pair order, noise, timesteps, dropout, VAE samples).
        checkpoint_every: steps between checkpoints (0: only at the end or an interrupt).
        keep_checkpoints: checkpoints kept (the oldest are removed).
        validate_every: steps between validation grids (0: none).
        validation_pairs: pairs rendered in each validation grid.
        log_every: steps between log lines.
    """

    name: str = "trained"
    start: str = BASE_START
    trainable: Trainable = "attention"
    steps: int = 16_000
    batch_size: int = 1
    gradient_accumulation: int = 1
    learning_rate: float = 1e-5
    garment_dropout: float = 0.1
    dream_power: float = 10.0
    height: int = 512
    width: int = 384
    mixed_precision: MixedPrecision = "no"
    gradient_checkpointing: bool = False
    masks: MaskSource = MaskSource.PROJECT
    seed: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    validate_every: int = 500
    validation_pairs: int = 4
    log_every: int = 10

    def __post_init__(self) -> None:
        problems = []
        if not self.name or "/" in self.name or self.name.startswith("."):
            problems.append(f"name {self.name!r} must be a plain folder name")
        for field in ("steps", "batch_size", "gradient_accumulation", "log_every"):
            if getattr(self, field) < 1:
                problems.append(f"{field} must be at least 1, got {getattr(self, field)}")
        for field in ("checkpoint_every", "keep_checkpoints", "validate_every"):
            if getattr(self, field) < 0:
                problems.append(f"{field} must not be negative, got {getattr(self, field)}")
        if self.keep_checkpoints < 1:
            problems.append("keep_checkpoints must be at least 1")
        if not 0 <= self.garment_dropout < 1:
            problems.append(f"garment_dropout must be in [0, 1), got {self.garment_dropout}")
        if self.dream_power < 0:
            problems.append(f"dream_power must not be negative, got {self.dream_power}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be positive, got {self.learning_rate}")
        if self.height % 8 or self.width % 8 or min(self.height, self.width) < 32:
            problems.append(
                f"the training size {self.height}x{self.width} must be multiples of 8, at least 32"
            )
        if problems:
            raise TrainingError("bad training settings: " + "; ".join(problems))

    def as_json(self) -> dict[str, Any]:
        """The settings as a JSON object (saved beside every output)."""
        return asdict(self)
