"""The engine interface."""

from __future__ import annotations

from typing import Protocol

from tryon.types import Category, GarmentAnalysis, Image, TryOnResult


class Engine(Protocol):
    """Dresses a person photo in an analysed garment."""

    name: str

    def analyze_garment(self, garment: Image, category: Category | None) -> GarmentAnalysis:
        """Analyses a garment photo (cacheable per garment)."""
        ...

    def dress(
        self, person: Image, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        """Runs the try-on of ``garment`` on ``person``."""
        ...
