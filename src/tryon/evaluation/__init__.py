"""Scoring try-on systems on a dataset: SSIM, LPIPS, FID, KID and what shops care about.

``evaluate(dataset, systems, out)`` runs our engines (or reads another system's result
folder) over a dataset's pairs; ``write_report(evaluation)`` writes ``metrics.json``,
``report.md`` and ``report.html`` (``tryon eval``). The metric networks' weights come
from a local cache folder (``tryon.evaluation.weights``).
"""

from tryon.evaluation.evaluate import (
    EngineSystem,
    EvalConfig,
    Evaluation,
    FolderSystem,
    Networks,
    evaluate,
)
from tryon.evaluation.report import write_report

__all__ = [
    "EngineSystem",
    "EvalConfig",
    "Evaluation",
    "FolderSystem",
    "Networks",
    "evaluate",
    "write_report",
]
