"""Training pairs: a dataset's paired pairs read and brought to the training size.

A paired pair is a person photo and the garment that person wears in it: the photo is
both the input (masked) and the target. ``tryon.dataset.training_pairs`` finds and
checks the files; the agnostic mask is by default the engines' own (the mask a try-on
uses at inference, so the model learns to fill exactly that region), or the dataset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from tryon.dataset.layout import Dataset
from tryon.dataset.training_pairs import MaskSource, TrainingPair, training_pairs
from tryon.diffusion.images import garment_canvas
from tryon.imageio import load_image
from tryon.types import Image, Mask


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


def read_samples(
    dataset: Dataset,
    shape: tuple[int, int],
    masks: MaskSource | str = MaskSource.PROJECT,
    masks_dir: Path | None = None,
) -> list[TrainingSample]:
    """Reads the dataset's paired pairs as training samples.

    Args:
        dataset: an opened dataset (``tryon.dataset.open_dataset(root, split)``).
        shape: (height, width) of the training size.
        masks: the engines' own masks (``project``) or the dataset's files.
        masks_dir: where the project's masks of a dataset not built here are
            (default: where ``tryon dataset masks`` writes them).

    Raises:
        DatasetError: too few pairs, or files missing, unreadable or of another size
            (each named with its pair, and how to make the project's masks).
    """
    return [_sample(pair, shape) for pair in training_pairs(dataset, masks, masks=masks_dir)]


def _sample(pair: TrainingPair, shape: tuple[int, int]) -> TrainingSample:
    person = load_image(pair.person, role=f"person photo {pair.person}")
    garment = load_image(pair.garment, role=f"garment photo {pair.garment}")
    mask = load_image(pair.mask, role=f"agnostic mask {pair.mask}").mean(-1) > 127
    return TrainingSample(
        key=pair.pair.key,
        person=cover_crop(person, shape),
        garment=garment_canvas(garment, shape),
        mask=cover_crop(mask, shape),
    )
