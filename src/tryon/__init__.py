"""tryon: virtual try-on. A person photo plus a garment photo gives the person wearing it."""

from tryon.engines.warp import PreparedPerson
from tryon.errors import (
    BodyNotVisibleError,
    GarmentNotFoundError,
    ImageSizeError,
    InvalidImageError,
    NoPersonError,
    TryOnError,
    UnknownEngineError,
)
from tryon.pipeline import TryOn
from tryon.process import configure_process
from tryon.types import Category, GarmentAnalysis, TryOnResult

__version__ = "0.1.0"

__all__ = [
    "BodyNotVisibleError",
    "Category",
    "GarmentAnalysis",
    "GarmentNotFoundError",
    "ImageSizeError",
    "InvalidImageError",
    "NoPersonError",
    "PreparedPerson",
    "TryOn",
    "TryOnError",
    "TryOnResult",
    "UnknownEngineError",
    "configure_process",
]
