"""Errors raised for bad input: each says what was wrong and what to do.

Every error the package raises on purpose derives from ``TryOnError`` (itself a
``ValueError``), so callers can catch one type; the CLI turns them into exit code 2.
"""

from __future__ import annotations


class TryOnError(ValueError):
    """Base class of the errors caused by the caller's input."""


class InvalidImageError(TryOnError):
    """The input is not a readable image (wrong format, truncated, empty)."""


class ImageSizeError(TryOnError):
    """The image is too small to analyse or too large to process safely."""


class NoPersonError(TryOnError):
    """No person was found in the person photo."""


class BodyNotVisibleError(TryOnError):
    """The body parts the garment needs are not in the photo (e.g. no legs for trousers)."""


class GarmentNotFoundError(TryOnError):
    """No garment could be separated from the garment photo."""


class UnknownEngineError(TryOnError):
    """The engine name is not registered."""
