"""The garment catalog: garments analysed once, stored in a folder, reused by every try-on.

``Catalog(path)`` adds, lists, reads and removes garments; ``Catalog.analysis(id)`` is the
stored ``GarmentAnalysis``, ready for ``TryOn.run`` without analysing the garment again.
"""

from tryon.catalog.records import PREPROCESSING_VERSION, AdapterRecord, AddResult, GarmentRecord
from tryon.catalog.store import (
    Catalog,
    CatalogError,
    NoAdapterError,
    UnknownGarmentError,
    default_catalog_dir,
    garment_id,
)

__all__ = [
    "PREPROCESSING_VERSION",
    "AdapterRecord",
    "AddResult",
    "Catalog",
    "CatalogError",
    "GarmentRecord",
    "NoAdapterError",
    "UnknownGarmentError",
    "default_catalog_dir",
    "garment_id",
]
