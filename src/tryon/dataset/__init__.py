"""Try-on datasets: the VITON-HD and DressCode layouts, OpenPose keypoints, and a builder.

``open_dataset(path)`` reads either layout; ``build_dataset(raw, out)`` writes one from
raw person and garment photos (``tryon dataset build``).
"""

from tryon.dataset.build import BuildConfig, BuildSummary, build_dataset
from tryon.dataset.layout import Dataset, Pair, PairFiles, PairMode, open_dataset

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "Dataset",
    "Pair",
    "PairFiles",
    "PairMode",
    "build_dataset",
    "open_dataset",
]
