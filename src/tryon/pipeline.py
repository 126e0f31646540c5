"""``TryOn``: the public entry point."""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path

from tryon.closing import Closeable
from tryon.engines import Engine, create_engine
from tryon.engines.warp import PreparedPerson, WarpEngine
from tryon.errors import TryOnError
from tryon.imageio import ImageSource, load_cutout, load_image
from tryon.types import Category, GarmentAnalysis, TryOnResult


class TryOn(Closeable):
    """Dresses a person photo in a garment.

    Example:
        >>> result = TryOn(engine="warp").run("person.jpg", "shirt.jpg", category="upper")
        >>> result.image.shape  # same as the person photo

    Owns its engine's threads: ``close`` it, or use it as a context manager. The engine
    changes no process-wide setting; ``tryon.configure_process`` applies the ones the
    command line and the service use.

    Args:
        engine: engine name ("warp", "catvton", "hybrid") or an engine instance.
        weights: diffusion weights directory for "catvton" and "hybrid" (None:
            ``$TRYON_WEIGHTS`` or ``~/.cache/tryon/weights``; see ``tryon weights``).
    """

    def __init__(self, engine: str | Engine = "warp", weights: str | Path | None = None) -> None:
        folder = Path(weights) if weights is not None else None
        self.engine = create_engine(engine, folder) if isinstance(engine, str) else engine

    def analyze_garment(
        self, garment: ImageSource, category: str | Category = "auto"
    ) -> GarmentAnalysis:
        """Analyses a garment photo once, for reuse across many people.

        Args:
            garment: path, encoded bytes or RGB uint8 array of the garment photo. A
                cut-out (PNG, WebP or RGBA array with a transparent backdrop) is cut out
                by its alpha channel, whatever the garment's colour.
            category: "upper", "lower", "overall" or "auto" (inferred from the garment).
        """
        image, cutout = load_cutout(garment, role="garment photo")
        return self.engine.analyze_garment(image, _category(category), cutout)

    def prepare_person(self, person: ImageSource) -> PreparedPerson:
        """Analyses a person photo once, to try many garments on it (``warp`` engine).

        A try-on with the result skips the body analysis, and for a category tried
        before, the agnostic mask and the scene: about half the work.

        Args:
            person: path, encoded bytes or RGB uint8 (H, W, 3) array of the person photo.

        Raises:
            TryOnError: bad input (not an image, nobody in it, ...), or an engine that
                cannot reuse a person analysis.
        """
        engine = self._warp_engine()
        return engine.prepare_person(load_image(person, role="person photo"))

    def run(
        self,
        person: ImageSource | PreparedPerson,
        garment: ImageSource | GarmentAnalysis,
        category: str | Category = "auto",
    ) -> TryOnResult:
        """Dresses ``person`` in ``garment``.

        Args:
            person: path, encoded bytes or RGB uint8 (H, W, 3) array of the person photo,
                or a ``PreparedPerson`` from ``prepare_person``.
            garment: the same for the garment photo (product or worn), or a
                ``GarmentAnalysis`` from ``analyze_garment`` (then nothing is re-analysed).
            category: "upper", "lower", "overall" or "auto" (inferred from the garment).

        Returns:
            The result; ``result.image`` has the person photo's size and orientation.

        Raises:
            TryOnError: bad input; the message says what was wrong and what to do.
        """
        start = time.perf_counter()
        wanted = _category(category)
        read = 0.0
        if isinstance(person, PreparedPerson):
            dress = functools.partial(self._warp_engine().dress, person)
        else:
            dress = functools.partial(self.engine.dress, load_image(person, role="person photo"))
            read = time.perf_counter() - start
        if isinstance(garment, GarmentAnalysis):
            analysis, analysed = garment, 0.0
        else:
            t0 = time.perf_counter()
            analysis = self.analyze_garment(garment, wanted or "auto")
            analysed = time.perf_counter() - t0
        result = dress(analysis, wanted)
        timings = {"read": read, "garment": analysed, **result.timings}
        timings["total"] = time.perf_counter() - start
        warnings = list(result.warnings)
        if wanted is None and analysis.source == "worn":
            warnings.append(
                "the garment photo shows a person; took their upper garment (pass a category "
                "to choose another)"
            )
        return replace(result, timings=timings, warnings=warnings)

    def close(self) -> None:
        """Stops the engine's threads; the ``TryOn`` cannot be used afterwards."""
        self.engine.close()

    def _warp_engine(self) -> WarpEngine:
        if not isinstance(self.engine, WarpEngine):
            raise TryOnError(
                f"the {self.engine.name} engine does not reuse person analyses; "
                "pass the person photo itself"
            )
        return self.engine


def _category(value: str | Category) -> Category | None:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    return Category.parse(value)
