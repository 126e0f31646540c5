"""Try-on datasets: the VITON-HD and DressCode layouts, OpenPose keypoints, and a builder.

``open_dataset(path, split)`` reads either layout; ``build_dataset(raw, out)`` writes one
from raw person and garment photos or a shop's product photos (``tryon dataset build``);
``training_pairs(dataset)`` lists the paired pairs training reads, their files checked;
``write_project_masks(dataset)`` gives a published dataset the engines' agnostic masks.
"""

from tryon.dataset.build import BuildConfig, BuildSummary, build_dataset
from tryon.dataset.layout import (
    Dataset,
    DatasetError,
    Pair,
    PairFiles,
    PairMode,
    open_dataset,
)
from tryon.dataset.masks import MaskSummary, write_project_masks
from tryon.dataset.training_pairs import MaskSource, TrainingPair, training_pairs

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "Dataset",
    "DatasetError",
    "MaskSource",
    "MaskSummary",
    "Pair",
    "PairFiles",
    "PairMode",
    "TrainingPair",
    "build_dataset",
    "open_dataset",
    "training_pairs",
    "write_project_masks",
]
