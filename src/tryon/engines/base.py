"""The engine interface."""

from __future__ import annotations

from typing import Protocol

from tryon.types import Category, GarmentAnalysis, Image, Mask, TryOnResult


class Engine(Protocol):
    """Dresses a person photo in an analysed garment."""

    name: str

    def analyze_garment(
        self, garment: Image, category: Category | None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        """Analyses a garment photo (cacheable per garment); ``cutout``: the opaque
        pixels when the photo is a cut-out (transparent backdrop)."""
        ...

    def dress(
        self, person: Image, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        """Runs the try-on of ``garment`` on ``person``."""
        ...

    def close(self) -> None:
        """Stops the engine's threads; the engine cannot be used afterwards."""
        ...
