"""What a run carries from step to step, and its checkpoints on disk.

Every random draw of a run (pair order, noise, timesteps, dropout, VAE samples) comes
from one generator whose state is saved with each checkpoint, beside the model and the
optimiser (``accelerator.save_state``), so a resumed run draws what an uninterrupted one
would have and continues the same loss curve.

A checkpoint is written into ``step-N.partial`` and renamed to ``step-N`` when complete:
an interrupted save leaves no folder that looks finished. Only the newest ``keep`` are
kept.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import torch

from tryon.training.config import TrainingError

CHECKPOINTS = "checkpoints"
_STEP = re.compile(r"^step-(\d+)$")


class RunState:
    """The step reached and the run's generator (registered for checkpointing).

    Args:
        seed: seed of the generator.
        device: the generator's device (draws are made where the latents are).
    """

    def __init__(self, seed: int, device: torch.device) -> None:
        self.step = 0
        self.generator = torch.Generator(device).manual_seed(seed)

    def state_dict(self) -> dict[str, Any]:
        return {"step": torch.tensor(self.step), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINTS / f"step-{step:07d}"


def finished_checkpoints(run_dir: Path) -> list[Path]:
    """The run's complete checkpoints, oldest first."""
    folder = run_dir / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP.match(p.name))]
    return [p for _, p in sorted(found)]


def resume_from(run_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint to resume: ``latest`` (the newest, None when there is none yet), a
    checkpoint folder, or None (a new run).

    Raises:
        TrainingError: the named checkpoint does not exist or is not complete.
    """
    if resume is None:
        return None
    if resume == "latest":
        done = finished_checkpoints(run_dir)
        return done[-1] if done else None
    path = Path(resume)
    if not path.is_dir() or not _STEP.match(path.name):
        raise TrainingError(
            f"no finished checkpoint at {str(path)!r}: pass --resume latest, or a "
            f"'step-N' folder under {str(run_dir / CHECKPOINTS)!r}"
        )
    return path


def save_checkpoint(run_dir: Path, step: int, save: Any, keep: int) -> Path:
    """Saves through ``save(folder)`` (``accelerator.save_state``) into a partial folder,
    renames it complete, then removes all but the newest ``keep`` checkpoints."""
    final = checkpoint_dir(run_dir, step)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    save(str(partial))
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    for old in finished_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final
