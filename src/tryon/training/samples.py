"""Training pairs: a dataset's paired pairs read, masked and brought to the training size.

A paired pair is a person photo and the garment that person wears in it: the photo is
both the input (masked) and the target. Its mask is by default the engines' own
agnostic mask (``tryon.engines.person``: the mask a try-on uses at inference, so the
model learns to fill exactly that region), or the dataset's file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from tryon.dataset.layout import Dataset, Pair, PairMode
from tryon.diffusion.images import garment_canvas
from tryon.engines.person import Analyzers
from tryon.errors import TryOnError
from tryon.imageio import load_image
from tryon.training.config import MaskSource, TrainingError
from tryon.types import Image, Mask

MIN_PAIRS = 1
"""Fewest usable pairs a run starts with (an adapter may train on a handful)."""


@dataclass(frozen=True)
class TrainingSample:
    """One paired pair at the training size.

    Attributes:
        key: the pair's name (person and garment stems).
        person: (H, W, 3) RGB uint8, the person photo: input (masked) and target.
        garment: (H, W, 3) RGB uint8, the garment photo on a white canvas.
        mask: (H, W) bool, the agnostic mask: where the garment is painted.
    """

    key: str
    person: Image
    garment: Image
    mask: Mask


MaskMaker = Callable[[Image, Pair], Mask]
"""Makes a person photo's agnostic mask for a pair (the engines' own, by default)."""


ArrayT = TypeVar("ArrayT", Image, Mask)


def cover_crop(image: ArrayT, shape: tuple[int, int]) -> ArrayT:
    """Scales ``image`` to cover (height, width) ``shape`` keeping its aspect, then crops
    the middle (as CatVTON prepares a person photo). Masks are scaled nearest."""
    h, w = shape
    ih, iw = image.shape[:2]
    scale = max(h / ih, w / iw)
    sh, sw = max(h, round(ih * scale)), max(w, round(iw * scale))
    if image.dtype == np.bool_:
        scaled = cv2.resize(image.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    else:
        shrinking = scale < 1
        method = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
        scaled = cv2.resize(image, (sw, sh), interpolation=method)
    y, x = (sh - h) // 2, (sw - w) // 2
    out: ArrayT = np.ascontiguousarray(scaled[y : y + h, x : x + w])
    return out


def project_masks(analyzers: Analyzers) -> MaskMaker:
    """The engines' agnostic mask of each person photo, for the pair's category."""

    def make(person: Image, pair: Pair) -> Mask:
        return analyzers.mask_person(person, pair.category).agnostic_mask

    return make


def read_samples(
    dataset: Dataset,
    shape: tuple[int, int],
    masks: MaskSource,
    make_mask: MaskMaker | None = None,
    pairs: Sequence[Pair] | None = None,
) -> list[TrainingSample]:
    """Reads the dataset's paired pairs as training samples.

    Args:
        dataset: an opened dataset (``tryon.dataset.open_dataset``).
        shape: (height, width) of the training size.
        masks: ``project`` (``make_mask``) or ``dataset`` (the agnostic-mask files).
        make_mask: the project's mask maker; required for ``project`` masks.
        pairs: the pairs to read (default: every paired pair of the dataset).

    Raises:
        TrainingError: a file is missing or unreadable (named, with its pair), a mask
            has another size than its photo, no mask can be made, or too few pairs.
    """
    chosen = list(pairs) if pairs is not None else dataset.pairs(PairMode.PAIRED)
    samples = [_read_sample(dataset, pair, shape, masks, make_mask) for pair in chosen]
    if len(samples) < MIN_PAIRS:
        raise TrainingError(
            f"dataset {str(dataset.root)!r} has no paired pairs to train on: a paired pair "
            "is a person photo with the garment that person wears (build one with "
            "'tryon dataset build')"
        )
    return samples


def _read_sample(
    dataset: Dataset,
    pair: Pair,
    shape: tuple[int, int],
    masks: MaskSource,
    make_mask: MaskMaker | None,
) -> TrainingSample:
    files = dataset.files(pair)
    where = f"pair {pair.person} / {pair.garment}"
    person = _read(files.person, f"person photo of {where}")
    garment = _read(files.garment, f"garment photo of {where}")
    if masks == "dataset":
        if files.agnostic_mask is None:
            raise TrainingError(
                f"{where} has no agnostic mask file in {str(dataset.root)!r}: train with the "
                "project's masks (masks='project', --masks project) or add the masks"
            )
        mask = _read(files.agnostic_mask, f"agnostic mask of {where}").mean(-1) > 127
        if mask.shape != person.shape[:2]:
            raise TrainingError(
                f"the agnostic mask {str(files.agnostic_mask)!r} of {where} is "
                f"{mask.shape[0]}x{mask.shape[1]}, its person photo "
                f"{person.shape[0]}x{person.shape[1]}: a mask must have its photo's size"
            )
    else:
        if make_mask is None:
            raise TrainingError("the project's masks need the body analysers")
        try:
            mask = make_mask(person, pair)
        except TryOnError as exc:
            raise TrainingError(f"cannot mask the person of {where}: {exc}") from None
    return TrainingSample(
        key=pair.key,
        person=cover_crop(person, shape),
        garment=garment_canvas(garment, shape),
        mask=cover_crop(mask, shape),
    )


def _read(path: Path, role: str) -> Image:
    if not path.is_file():
        raise TrainingError(f"the {role} is missing: {str(path)!r}")
    try:
        return load_image(path, role=role)
    except TryOnError as exc:
        raise TrainingError(f"the {role} cannot be read ({exc})") from None
