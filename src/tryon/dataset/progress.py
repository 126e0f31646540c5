"""A text progress bar for long batch commands (dataset build, eval)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints ``label [#####.....] 12/40  3.1 s/item  ETA 1m27s`` on one line.

    On a terminal the line is redrawn in place; elsewhere (a log file, CI) one line is
    printed per step, so the output stays readable.

    Args:
        total: how many items the batch has.
        label: what is being done ("build", "eval").
        stream: where to print (default: stderr).
        enabled: False prints nothing.
    """

    WIDTH = 24

    def __init__(
        self, total: int, label: str, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, note: str = "") -> None:
        """Marks one more item done; ``note`` names it."""
        self.done += 1
        if not self.enabled:
            return
        end = "" if self.tty else "\n"
        prefix = "\r\033[K" if self.tty else ""
        self.stream.write(f"{prefix}{self.line(note)}{end}")
        self.stream.flush()

    def line(self, note: str = "") -> str:
        """The progress line after ``done`` items."""
        total = self.total or 1
        filled = round(self.WIDTH * self.done / total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = time.perf_counter() - self.start
        rate = elapsed / self.done if self.done else 0.0
        left = rate * (self.total - self.done)
        eta = f"  ETA {int(left // 60)}m{int(left % 60):02d}s" if self.done < self.total else ""
        tail = f"  {note}" if note else ""
        return f"{self.label} [{bar}] {self.done}/{self.total}  {rate:.1f} s/item{eta}{tail}"

    def close(self) -> None:
        """Ends the in-place line on a terminal."""
        if self.enabled and self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()
