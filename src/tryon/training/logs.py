"""What a run reports while it trains: a progress bar (loss, steps/s, ETA), a JSON-lines
log and TensorBoard scalars under the run's folder."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from tryon.closing import Closeable

LOG_FILE = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"


class RunLog(Closeable):
    """Writes a run's figures (the main process only) and its progress bar.

    Args:
        run_dir: the run's folder.
        total: the run's last step.
        first: the step the run starts from (a resumed run's).
        show: draw the progress bar (on standard error).
        main: this process writes the log files (the other processes of a run on
            several GPUs write nothing).
    """

    def __init__(
        self, run_dir: Path, total: int, first: int, *, show: bool = True, main: bool = True
    ) -> None:
        from tqdm import tqdm

        self._file = (run_dir / LOG_FILE).open("a") if main else None
        self._board = _summary_writer(run_dir / TENSORBOARD_DIR) if main else None
        shown = show and main
        self._bar = tqdm(
            total=total, initial=first, disable=not shown, file=sys.stderr, unit="step"
        )
        self._start, self._first = time.perf_counter(), first

    def step(self, step: int, figures: dict[str, float]) -> None:
        """Records ``figures`` (loss, learning rate, ...) at ``step``."""
        elapsed = time.perf_counter() - self._start
        rate = (step - self._first) / elapsed if elapsed > 0 else 0.0
        row: dict[str, Any] = {"step": step, **figures, "steps_per_s": round(rate, 4)}
        self._write(row)
        if self._board is not None:
            for name, value in {**figures, "steps_per_s": rate}.items():
                self._board.add_scalar(f"train/{name}", value, step)
        self._bar.set_postfix(loss=f"{figures.get('loss', float('nan')):.4f}")

    def advance(self, steps: int = 1) -> None:
        self._bar.update(steps)

    def event(self, step: int, kind: str, **details: Any) -> None:
        """Records a checkpoint, a validation, an interrupt, ... in the JSON-lines log."""
        self._write({"step": step, "event": kind, **details})
        if self._board is not None:
            for name, value in details.items():
                if isinstance(value, int | float):
                    self._board.add_scalar(f"{kind}/{name}", value, step)

    def _write(self, row: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._bar.close()
        if self._file is not None:
            self._file.close()
        if self._board is not None:
            self._board.close()


def _summary_writer(folder: Path) -> Any:
    """TensorBoard's writer, or None when the ``train`` extra's tensorboard is absent."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(folder))
