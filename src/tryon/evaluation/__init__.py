"""Scoring try-on systems on a dataset: SSIM, LPIPS, FID, KID and what shops care about.

``evaluate(dataset, systems, out)`` runs our engines (or reads another system's result
folder) over a dataset's pairs; ``write_report(evaluation)`` writes ``metrics.json``,
``report.md`` and ``report.html`` (``tryon eval``). The metric networks' weights come
from a local cache folder (``tryon.evaluation.weights``).

The names below are imported on first use: importing this package (as the ``tryon``
command line does) loads neither torch nor matplotlib, which only the ``eval`` extra
installs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tryon.evaluation.report import write_report
    from tryon.evaluation.scoring import (
        EngineSystem,
        EvalConfig,
        Evaluation,
        FolderSystem,
        Networks,
        evaluate,
    )

_EXPORTS = {
    "EngineSystem": "tryon.evaluation.scoring",
    "EvalConfig": "tryon.evaluation.scoring",
    "Evaluation": "tryon.evaluation.scoring",
    "FolderSystem": "tryon.evaluation.scoring",
    "Networks": "tryon.evaluation.scoring",
    "evaluate": "tryon.evaluation.scoring",
    "write_report": "tryon.evaluation.report",
}

__all__ = [
    "EngineSystem",
    "EvalConfig",
    "Evaluation",
    "FolderSystem",
    "Networks",
    "evaluate",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tryon.evaluation' has no attribute {name!r}")
