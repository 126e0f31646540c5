"""The project's agnostic masks for a dataset it did not build (``tryon dataset masks``).

Training learns the mask it is given, so a model meant for this project's engines is
trained on their masks, not on the ones a published dataset ships. This writes, for the
person of every paired pair, the agnostic mask the engines would make
(``PhotoAnalyzer.agnostic_mask``: the shared person side of the engines) at the person
photo's size, where ``training_pairs`` looks for it
(``ROOT/tryon-agnostic-mask/<split>/<category folder>/<person stem>.png``). A person
photo that cannot be analysed is reported and skipped (the engines need the face: a
photo cropped below it, common in DressCode, gets no mask and would be refused at
inference too); a second run writes only the masks still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tryon.dataset.build import Analyzer, PhotoAnalyzer, attempt, save_mask
from tryon.dataset.layout import Dataset, Pair, PairMode
from tryon.dataset.training_pairs import project_mask_path
from tryon.imageio import load_image


@dataclass
class MaskSummary:
    """What ``write_project_masks`` did.

    Attributes:
        folder: where the masks are.
        written: masks made by this run.
        kept: masks already there.
        failed: person photo -> why no mask was made.
    """

    folder: Path
    written: int = 0
    kept: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def write_project_masks(
    dataset: Dataset,
    masks: Path | None = None,
    analyzer: Analyzer | None = None,
    on_step: Callable[[str], None] | None = None,
) -> MaskSummary:
    """Writes the project's agnostic mask of every paired pair's person photo.

    Args:
        dataset: an open dataset (its split is the one masked).
        masks: the folder (default ``ROOT/tryon-agnostic-mask/<split>``).
        analyzer: the analyses (default: the engines', loaded here).
        on_step: called after each pair with the person photo's name.
    """
    if analyzer is None:
        with closing(PhotoAnalyzer()) as own:
            return write_project_masks(dataset, masks, own, on_step)
    step = on_step or (lambda name: None)
    pairs = dataset.pairs(PairMode.PAIRED)
    folder = project_mask_path(dataset, pairs[0], masks).parent.parent if pairs else Path()
    summary = MaskSummary(folder=folder)
    for pair in pairs:
        path = project_mask_path(dataset, pair, masks)
        if path.is_file():
            summary.kept += 1
        else:
            person = dataset.files(pair).person
            done, error = attempt(partial(write_mask, person, pair, path, analyzer))
            if error is not None:
                summary.failed[str(person)] = error
            elif done is not None:
                summary.written += 1
        step(pair.person)
    return summary


def write_mask(person: Path, pair: Pair, path: Path, analyzer: Analyzer) -> dict[str, Any]:
    image = load_image(person, role=f"person photo {person.name}")
    body = analyzer.analyze_body(image)
    save_mask(analyzer.agnostic_mask(image, body, pair.category), path)
    return {"mask": str(path)}
