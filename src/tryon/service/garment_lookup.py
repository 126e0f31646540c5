"""A job's garment: the catalog's analysis of it, or its photo analysed."""

from __future__ import annotations

from tryon.catalog import Catalog
from tryon.pipeline import TryOn
from tryon.types import GarmentAnalysis


def garment_analysis(
    tryon: TryOn, catalog: Catalog, garment: bytes | None, garment_id: str | None, category: str
) -> GarmentAnalysis:
    """The garment's analysis: a catalogued garment is not analysed again unless another
    category than the one it was analysed as is asked for.

    Raises:
        UnknownGarmentError: ``garment_id`` is not in the catalog.
        TryOnError: the garment photo cannot be analysed.
        ValueError: neither a garment photo nor a garment id is given.
    """
    if garment_id is not None:
        analysis = catalog.analysis(garment_id)
        if category not in ("auto", analysis.category.value):
            analysis = tryon.analyze_garment(catalog.photo(garment_id), category)
        return analysis
    if garment is None:
        raise ValueError("a try-on needs a garment photo or a garment id")
    return tryon.analyze_garment(garment, category)
