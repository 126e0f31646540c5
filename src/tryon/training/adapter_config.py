"""Settings of a garment adapter's tuning (``tryon catalog tune``); no torch here, so the
command line reads its defaults without loading it."""

from __future__ import annotations

from dataclasses import dataclass

from tryon.training.config import TrainingError

MIN_PHOTOS = 3
"""Fewest usable on-model photos an adapter is tuned on (5 to 10 work best)."""


def check_photo_count(count: int) -> None:
    """Refuses fewer than ``MIN_PHOTOS`` on-model photos.

    Raises:
        TrainingError: too few, saying how many are needed.
    """
    if count < MIN_PHOTOS:
        raise TrainingError(
            f"an adapter needs at least {MIN_PHOTOS} on-model photos of the garment (5 to 10 "
            f"work best), got {count}; give more with --photos"
        )


@dataclass(frozen=True)
class TuneConfig:
    """How a garment's adapter is tuned.

    Attributes:
        rank: LoRA rank r (alpha = r: the update is ``B A x``).
        steps: optimiser steps (one photo per step).
        learning_rate: AdamW's, constant.
        garment_dropout: share of steps whose garment condition is zeroed, as the
            inference's unconditional branch does (classifier-free guidance).
        dream_power: DREAM's exponent (0: off; CatVTON trains with 10; it costs an extra
            UNet pass per step).
        size: (height, width) the photos are cropped to; None: the size the renderer's
            attention weights were trained at.
        seed: seed of the LoRA's initialisation and of every draw of the run.
    """

    rank: int = 8
    steps: int = 300
    learning_rate: float = 1e-4
    garment_dropout: float = 0.1
    dream_power: float = 0.0
    size: tuple[int, int] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.rank >= 1, f"rank must be at least 1, got {self.rank}"),
            (self.steps >= 1, f"steps must be at least 1, got {self.steps}"),
            (self.learning_rate > 0, f"the learning rate must be positive ({self.learning_rate})"),
            (0 <= self.garment_dropout < 1, "garment dropout must be in [0, 1)"),
            (self.dream_power >= 0, "the DREAM power must be 0 (off) or more"),
            (
                self.size is None or all(s >= 8 and s % 8 == 0 for s in self.size),
                f"the tuning size must be two multiples of 8, got {self.size}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainingError(f"cannot tune an adapter: {message}")
