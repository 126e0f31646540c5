"""``TryOn``: the public entry point."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tryon.closing import Closeable
from tryon.engines import Engine, create_engine
from tryon.engines.warp import PreparedPerson, WarpEngine
from tryon.errors import TryOnError
from tryon.imageio import (
    ImageSource,
    load_cutout,
    load_image,
    load_reduced,
    read_bytes,
    upright_shape,
)
from tryon.ops.working_size import reduce_image, reduce_mask, restore, working_shape
from tryon.types import Category, GarmentAnalysis, Image, TryOnResult

PERSON = "person photo"


@dataclass(frozen=True)
class FullSizePhoto:
    """A person photo over the working size, kept to be read at full size when its
    try-on is put back into it (``tryon.ops.working_size``).

    Attributes:
        source: its encoded bytes (a few MB, where the decoded pixels of a 45-megapixel
            photo are 135 MB), or its RGB uint8 (H, W, 3) array as the caller passed it
            (not copied: leave it unchanged until the try-on ends).
        shape: its upright (height, width).
    """

    source: bytes | Image
    shape: tuple[int, int]

    def load(self) -> Image:
        """The full-size photo, RGB uint8 (H, W, 3)."""
        if isinstance(self.source, np.ndarray):
            return self.source
        return load_image(self.source, role=PERSON)


@dataclass(frozen=True)
class ReducedPerson(PreparedPerson):
    """A prepared person whose photo is over the working size: ``image`` is the working
    copy and ``body`` its analysis; ``TryOn.run`` puts each try-on back into the
    full-size photo, read again from ``original``.

    Attributes:
        original: the full-size photo.
    """

    original: FullSizePhoto = field(kw_only=True)


def read_person(person: ImageSource) -> tuple[Image, FullSizePhoto | None]:
    """The person photo the engines work on, and the full-size photo when that is a
    reduced copy (a photo over ``tryon.ops.working_size.WORKING_PIXELS``; a JPEG is
    then decoded reduced, its full-size pixels read only when the try-on is put back).

    Raises:
        TryOnError: not an image, or a size outside the limits.
    """
    if isinstance(person, np.ndarray):
        image = load_image(person, role=PERSON)
        full = (image.shape[0], image.shape[1])
        shape = working_shape(full)
        if shape == full:
            return image, None
        return reduce_image(image, shape), FullSizePhoto(image, full)
    data, name = read_bytes(person, PERSON)
    full = upright_shape(data, PERSON, name)
    shape = working_shape(full)
    if shape == full:
        return load_image(person, role=PERSON), None
    working = reduce_image(load_reduced(data, shape, PERSON, name), shape)
    return working, FullSizePhoto(data, full)


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
        full = (image.shape[0], image.shape[1])
        shape = working_shape(full)
        if shape != full:  # detail beyond the working size cannot show on a person
            image = reduce_image(image, shape)
            cutout = None if cutout is None else reduce_mask(cutout, shape)
        return self.engine.analyze_garment(image, _category(category), cutout)

    def prepare_person(self, person: ImageSource) -> PreparedPerson:
        """Analyses a person photo once, to try many garments on it (``warp`` engine).

        A try-on with the result skips the body analysis, and for a category tried
        before, the agnostic mask and the scene: about half the work. A photo over the
        working size is analysed on its reduced copy (a ``ReducedPerson``, whose
        ``image`` and ``body`` are the copy's); ``run`` still answers at full size.

        Args:
            person: path, encoded bytes or RGB uint8 (H, W, 3) array of the person photo.

        Raises:
            TryOnError: bad input (not an image, nobody in it, ...), or an engine that
                cannot reuse a person analysis.
        """
        engine = self._warp_engine()
        image, photo = read_person(person)
        prepared = engine.prepare_person(image)
        if photo is None:
            return prepared
        return ReducedPerson(prepared.image, prepared.body, original=photo)

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
            A photo over the working size (``tryon.ops.working_size.WORKING_PIXELS``,
            3.1 megapixels) is analysed and dressed on a reduced copy, and the changed
            region is scaled back up into the full-size photo: ``image``, ``person``,
            ``agnostic_mask`` and ``body`` are at full size (every pixel outside the
            mask is the input's), ``details`` at the working size, and the timings
            gain ``restore``.

        Raises:
            TryOnError: bad input; the message says what was wrong and what to do.
        """
        start = time.perf_counter()
        wanted = _category(category)
        read = 0.0
        photo: FullSizePhoto | None = None
        if isinstance(person, PreparedPerson):
            dress = functools.partial(self._warp_engine().dress, person)
            photo = person.original if isinstance(person, ReducedPerson) else None
        else:
            working, photo = read_person(person)
            dress = functools.partial(self.engine.dress, working)
            read = time.perf_counter() - start
        if isinstance(garment, GarmentAnalysis):
            analysis, analysed = garment, 0.0
        else:
            t0 = time.perf_counter()
            analysis = self.analyze_garment(garment, wanted or "auto")
            analysed = time.perf_counter() - t0
        result = dress(analysis, wanted)
        timings = {"read": read, "garment": analysed, **result.timings}
        if photo is not None:
            t0 = time.perf_counter()
            result = restore(result, photo.load())
            timings["restore"] = time.perf_counter() - t0
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
