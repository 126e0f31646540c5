"""The paired pairs training reads: a person, the garment they wear, and an agnostic mask.

``training_pairs(dataset)`` lists them with every file checked: a missing or unreadable
file, a mask of another size than its person photo, or too few pairs is one
``DatasetError`` that names each bad file and its pair.

The agnostic mask is the project's own by default (``MaskSource.PROJECT``): the mask the
engines use at inference, since a model learns the mask it is trained on. A dataset
built by ``tryon dataset build`` holds those masks already; for another dataset (the
official VITON-HD or DressCode) ``tryon dataset masks`` writes them next to it, in
``ROOT/tryon-agnostic-mask/<split>/<category folder>/<person stem>.png``.
``MaskSource.DATASET`` takes the dataset's own agnostic-mask files instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import Image as PILImage

from tryon.dataset.layout import DRESSCODE_FOLDERS, Dataset, DatasetError, Pair, PairMode
from tryon.types import Category

PROJECT_MASKS = "tryon-agnostic-mask"
BUILT_FORMAT = "tryon-dataset-build/1"
MAX_LISTED = 20


class MaskSource(StrEnum):
    """Where a training pair's agnostic mask comes from."""

    PROJECT = "project"
    """The engines' own agnostic mask (what inference uses): the default."""
    DATASET = "dataset"
    """The dataset's own agnostic-mask file."""


@dataclass(frozen=True)
class TrainingPair:
    """One paired pair for training, by path.

    Attributes:
        person: the person photo (also the target: they wear ``garment``).
        garment: the product photo of the garment the person wears.
        mask: the agnostic mask of the person photo (white = the region to repaint).
        category: what the garment is (upper, lower, overall).
        pair: the pair as the dataset names it.
        garment_mask: the garment's mask, when the dataset has one.
    """

    person: Path
    garment: Path
    mask: Path
    category: Category
    pair: Pair
    garment_mask: Path | None = None


def built_by_tryon(dataset: Dataset) -> bool:
    """Whether ``tryon dataset build`` made the dataset (its agnostic masks are ours)."""
    path = dataset.root / "manifest.json"
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("format") == BUILT_FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def project_mask_path(dataset: Dataset, pair: Pair, masks: Path | None = None) -> Path:
    """Where ``tryon dataset masks`` writes the project's agnostic mask of a pair's person.

    Args:
        dataset: the dataset.
        pair: the pair.
        masks: the masks folder (default ``ROOT/tryon-agnostic-mask/<split>``).
    """
    folder = masks if masks is not None else dataset.root / PROJECT_MASKS / dataset.split
    return Path(folder) / DRESSCODE_FOLDERS[pair.category] / f"{Path(pair.person).stem}.png"


def mask_path(dataset: Dataset, pair: Pair, source: MaskSource, masks: Path | None) -> Path:
    """The agnostic mask a training pair uses (the expected path, when it is missing)."""
    files = dataset.files(pair)
    if source is MaskSource.PROJECT and (masks is not None or not built_by_tryon(dataset)):
        return project_mask_path(dataset, pair, masks)
    if files.agnostic_mask is not None:
        return files.agnostic_mask
    if dataset.layout == "viton-hd":
        return files.person.parent.parent / "agnostic-mask" / f"{Path(pair.person).stem}_mask.png"
    return files.person.parent.parent / "agnostic_masks" / f"{Path(pair.person).stem}.png"


def training_pairs(
    dataset: Dataset,
    mask_source: MaskSource | str = MaskSource.PROJECT,
    *,
    masks: Path | None = None,
    min_pairs: int = 1,
    check: bool = True,
) -> list[TrainingPair]:
    """The dataset's paired pairs with their files, checked.

    Args:
        dataset: an open dataset (``open_dataset(root, split="train")``).
        mask_source: "project" (the engines' own masks, the default) or "dataset".
        masks: the folder of the project's masks for a dataset not built by
            ``tryon dataset build`` (default ``ROOT/tryon-agnostic-mask/<split>``).
        min_pairs: fewer pairs than this is an error.
        check: open every file's header: it must be an image, and the mask the size of
            its person photo.

    Raises:
        DatasetError: too few pairs, or files missing, unreadable or of another size;
            the message names each file and its pair (the first 20, and how many more).
    """
    source = MaskSource(mask_source)
    found = [
        TrainingPair(
            person=files.person,
            garment=files.garment,
            mask=mask_path(dataset, pair, source, masks),
            category=pair.category,
            pair=pair,
            garment_mask=files.garment_mask,
        )
        for pair in dataset.pairs(PairMode.PAIRED)
        for files in (dataset.files(pair),)
    ]
    if len(found) < min_pairs:
        raise DatasetError(
            f"{dataset.root} ({dataset.layout}, {dataset.split} split) has {len(found)} "
            f"paired pairs; at least {min_pairs} are needed"
        )
    if check:
        check_training_pairs(found, source, dataset)
    return found


def check_training_pairs(pairs: list[TrainingPair], source: MaskSource, dataset: Dataset) -> None:
    """Raises one ``DatasetError`` naming every bad file of ``pairs`` (and its pair)."""
    problems: list[str] = []
    for record in pairs:
        problems += pair_problems(record)
    if not problems:
        return
    listed = problems[:MAX_LISTED]
    more = len(problems) - len(listed)
    hint = ""
    if any("agnostic mask" in p and "no such file" in p for p in problems):
        hint = (
            f"\nmake the project's masks with 'tryon dataset masks {dataset.root} --split "
            f"{dataset.split}', or train on the dataset's own (mask source 'dataset')"
            if source is MaskSource.PROJECT
            else "\nuse the project's masks (mask source 'project') instead"
        )
    raise DatasetError(
        f"{dataset.root} ({dataset.split} split): {len(problems)} bad file(s) in "
        f"{len(pairs)} pairs:\n  "
        + "\n  ".join(listed)
        + (f"\n  ... and {more} more" if more else "")
        + hint
    )


def pair_problems(record: TrainingPair) -> list[str]:
    """What is wrong with one pair's files (empty when nothing)."""
    where = f"pair '{record.pair.person} {record.pair.garment}'"
    problems: list[str] = []
    sizes: dict[str, tuple[int, int]] = {}
    for role, path in (
        ("person photo", record.person),
        ("garment photo", record.garment),
        ("agnostic mask", record.mask),
    ):
        size, why = image_header(path)
        if why is not None:
            problems.append(f"{where}: {role} {path}: {why}")
        elif size is not None:
            sizes[role] = size
    person, mask = sizes.get("person photo"), sizes.get("agnostic mask")
    if person is not None and mask is not None and person != mask:
        problems.append(
            f"{where}: agnostic mask {record.mask} is {mask[0]}x{mask[1]}, its person photo "
            f"{record.person} {person[0]}x{person[1]} (width x height)"
        )
    return problems


def image_header(path: Path) -> tuple[tuple[int, int] | None, str | None]:
    """(width, height) from the file's header, or why it cannot be read."""
    if not path.is_file():
        return None, "no such file"
    try:
        with PILImage.open(path) as image:
            return (int(image.size[0]), int(image.size[1])), None
    except (OSError, ValueError) as exc:
        return None, f"not a readable image ({' '.join(str(exc).split())})"
