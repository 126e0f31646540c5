"""``TryOn``: the public entry point."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar, cast

import numpy as np

from tryon.closing import Closeable
from tryon.engines import Engine, create_engine
from tryon.engines.warp import PersonSides, PreparedPerson, WarpEngine
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
from tryon.types import Category, GarmentAnalysis, Image, Mask, TryOnResult

PERSON = "person photo"
OUTFIT_MOST = 2
"""Most garments of an outfit: a top and a bottom."""
DRESSING_ORDER = (Category.LOWER, Category.UPPER, Category.OVERALL)
"""The order an outfit's garments are put on: the bottom first, so the top's hem lies
over the bottom's waistband."""

Garment = ImageSource | GarmentAnalysis
"""A garment as ``TryOn.run`` takes it: a photo, or its analysis."""


R = TypeVar("R", bound=TryOnResult)


class OutfitError(TryOnError):
    """The garments of an outfit do not go together (two tops, a dress and a top, ...)."""


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
        drawn_area: (H, W) bool at the full size, the try-on area a user drew (see
            ``with_area``; ``agnostic_mask`` is its working-size copy), or None. The
            full-size try-on changes no pixel outside it.
    """

    original: FullSizePhoto = field(kw_only=True)
    drawn_area: Mask | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class OutfitResult(TryOnResult):
    """The try-on of an outfit: several garments put on one after the other.

    ``image`` is the person in every garment; ``agnostic_mask`` the union of the
    garments' masks (every pixel outside it is the input's); ``category``, ``garment``
    and ``details`` are those of the garment put on last (the top over a bottom);
    ``timings`` add up each stage over the garments; ``warnings`` are every garment's.

    Attributes:
        pieces: each garment's own try-on, in the order they were put on (the bottom
            first): its ``image`` the photo in the garments so far, its
            ``agnostic_mask`` the pixels that garment could change. For a photo over the
            working size, at the working size (as ``details`` are).
    """

    pieces: tuple[TryOnResult, ...] = field(default=(), kw_only=True)


def photo_shape(person: PreparedPerson) -> tuple[int, int]:
    """The (height, width) of the photo ``person`` was prepared from, upright: the
    full size for a ``ReducedPerson``, whose ``image`` is the working copy."""
    if isinstance(person, ReducedPerson):
        return person.original.shape
    return person.image.shape[0], person.image.shape[1]


def with_area(person: PreparedPerson, area: Mask) -> PreparedPerson:
    """``person`` with a try-on area a user drew, used instead of the computed agnostic
    mask for every garment tried on it (warp engine).

    For a photo over the working size the area is reduced to the working copy (every
    working pixel it touches may change) and the full-size try-on is cut back to the
    area as drawn. The body analysis is shared; the per-category sides are not.

    Args:
        person: from ``TryOn.prepare_person``.
        area: (H, W) bool, True where the try-on may change the photo, at
            ``photo_shape(person)``.

    Raises:
        ValueError: ``area`` is empty or not of the photo's size.
    """
    if area.shape != photo_shape(person):
        raise ValueError(f"area {area.shape} must have the photo's shape {photo_shape(person)}")
    if not area.any():
        raise ValueError("the area is empty")
    if not isinstance(person, ReducedPerson):
        return PreparedPerson(person.image, person.body, PersonSides(), area)
    grey = np.where(area, np.uint8(255), np.uint8(0))
    working = reduce_image(grey, (person.image.shape[0], person.image.shape[1])) > 0
    return replace(person, sides=PersonSides(), agnostic_mask=working, drawn_area=area)


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
        result = _put_back(result, photo, _drawn_area(person), timings)
        timings["total"] = time.perf_counter() - start
        warnings = list(result.warnings) + _worn_warnings([analysis], [wanted])
        return replace(result, timings=timings, warnings=warnings)

    def run_outfit(
        self,
        person: ImageSource | PreparedPerson,
        garments: Sequence[Garment],
        categories: Sequence[str | Category] | None = None,
    ) -> OutfitResult:
        """Dresses ``person`` in an outfit: a top and a bottom, or one garment alone.

        The garments are put on one after the other: the bottom first, then the top on
        that try-on, so the top's hem lies over the bottom's waistband. The top's try-on
        reuses the person's body analysis (the pose and the body do not change with the
        trousers) and finds its agnostic mask, old garment and shading on the photo in
        the new bottom. Every pixel outside the union of the two agnostic masks is the
        input's, bit for bit.

        Args:
            person: as for ``run``.
            garments: one or two garments (photos or analyses), in any order.
            categories: each garment's category, in the order of ``garments``: "upper",
                "lower", "overall" or "auto" (inferred from the garment). None: all auto.

        Returns:
            The outfit's try-on (see ``OutfitResult``), at the photo's size as ``run``'s.

        Raises:
            OutfitError: more than two garments, categories not one per garment, two
                garments of one category, or a dress ("overall") with another garment.
            TryOnError: bad input, as for ``run``.
        """
        start = time.perf_counter()
        wanted = _outfit_categories(len(garments), categories)
        refuse_clashes([c for c in wanted if c is not None], len(garments))  # before analyses
        t0 = time.perf_counter()
        analyses = [
            g if isinstance(g, GarmentAnalysis) else self.analyze_garment(g, c or "auto")
            for g, c in zip(garments, wanted, strict=True)
        ]
        analysed = time.perf_counter() - t0
        chosen = [c or a.category for c, a in zip(wanted, analyses, strict=True)]
        order = dressing_order(chosen)
        timings = {"garment": analysed}
        current, photo = self._outfit_person(person, timings)
        pieces: list[TryOnResult] = []
        for index in order:
            piece = self._dress_one(current, analyses[index], chosen[index])
            pieces.append(piece)
            current = _dressed_person(current, piece.image)
        result = combine_pieces(pieces)
        timings.update(result.timings)
        result = _put_back(result, photo, _drawn_area(person), timings)
        timings["total"] = time.perf_counter() - start
        warnings = list(result.warnings) + _worn_warnings(analyses, wanted)
        return replace(result, timings=timings, warnings=warnings)

    def _outfit_person(
        self, person: ImageSource | PreparedPerson, timings: dict[str, float]
    ) -> tuple[PreparedPerson | Image, FullSizePhoto | None]:
        """What an outfit's first garment is put on (a prepared person for the warp
        engine, so the second garment reuses its body analysis), and the full-size
        photo when that is a working copy; the seconds taken go into ``timings``."""
        if isinstance(person, PreparedPerson):
            self._warp_engine()
            return person, person.original if isinstance(person, ReducedPerson) else None
        t0 = time.perf_counter()
        working, photo = read_person(person)
        timings["read"] = time.perf_counter() - t0
        if not isinstance(self.engine, WarpEngine):
            return working, photo
        t0 = time.perf_counter()
        prepared = self.engine.prepare_person(working)
        timings["body"] = time.perf_counter() - t0
        return prepared, photo

    def _dress_one(
        self, person: PreparedPerson | Image, garment: GarmentAnalysis, category: Category
    ) -> TryOnResult:
        if isinstance(person, PreparedPerson):
            return self._warp_engine().dress(person, garment, category)
        return self.engine.dress(person, garment, category)

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


def dressing_order(categories: Sequence[Category]) -> list[int]:
    """The order to put an outfit's garments on, as indices into ``categories``: the
    bottom before the top.

    Raises:
        OutfitError: two garments of one category, or a dress with another garment.
    """
    refuse_clashes(categories, len(categories))
    return sorted(range(len(categories)), key=lambda i: DRESSING_ORDER.index(categories[i]))


def refuse_clashes(categories: Sequence[Category], count: int) -> None:
    """Raises OutfitError when an outfit of ``count`` garments, of which ``categories``
    are known, holds two garments of one category or a dress with another garment."""
    if count > 1 and Category.OVERALL in categories:
        raise OutfitError(
            "a dress or other one-piece (overall) is worn alone; try it without the other garment"
        )
    for category in set(categories):
        if categories.count(category) > 1:
            kind = "tops" if category is Category.UPPER else "bottoms"
            raise OutfitError(
                f"{categories.count(category)} garments are {kind} ({category.value}); "
                "an outfit is one top and one bottom, or a dress alone"
            )


def combine_pieces(pieces: Sequence[TryOnResult]) -> OutfitResult:
    """One result of garments put on one after the other (each on the one before).

    Args:
        pieces: the try-ons in the order made, all of one size; the first's ``person``
            is the photo before any garment.

    Returns:
        The last try-on's image, category, garment and details with the union of the
        pieces' agnostic masks, the first's person and body, the stages' seconds added
        up and every warning once.
    """
    last = pieces[-1]
    timings: dict[str, float] = {}
    warnings: list[str] = []
    for piece in pieces:
        for stage, seconds in piece.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
        warnings += [w for w in piece.warnings if w not in warnings]
    return OutfitResult(
        image=last.image,
        agnostic_mask=np.logical_or.reduce([piece.agnostic_mask for piece in pieces]),
        category=last.category,
        timings=timings,
        person=pieces[0].person,
        body=pieces[0].body,
        garment=last.garment,
        warnings=warnings,
        details=last.details,
        pieces=tuple(pieces),
    )


def _outfit_categories(
    count: int, categories: Sequence[str | Category] | None
) -> list[Category | None]:
    """The category asked for each of ``count`` garments (None: auto).

    Raises:
        OutfitError: no garment, more than ``OUTFIT_MOST``, or not one category each.
    """
    if not 1 <= count <= OUTFIT_MOST:
        raise OutfitError(
            f"an outfit is one or two garments (a top and a bottom, or a dress), got {count}"
        )
    given = ["auto"] * count if categories is None else list(categories)
    if len(given) != count:
        raise OutfitError(
            f"{len(given)} categories for {count} garments; give one per garment, in the "
            "same order (auto to infer it)"
        )
    return [_category(c) for c in given]


def _dressed_person(person: PreparedPerson | Image, image: Image) -> PreparedPerson | Image:
    """The person of an outfit's next garment: the try-on so far, with the body analysis
    of the photo (a try-on changes garments, not the pose) and its drawn area, if any."""
    if isinstance(person, PreparedPerson):
        return PreparedPerson(image, person.body, PersonSides(), person.agnostic_mask)
    return image


def _drawn_area(person: object) -> Mask | None:
    return person.drawn_area if isinstance(person, ReducedPerson) else None


def _put_back(
    result: R,
    photo: FullSizePhoto | None,
    drawn_area: Mask | None,
    timings: dict[str, float],
) -> R:
    """A working-size try-on put back into the full-size ``photo`` (None: the try-on is
    of the photo itself) and cut back to the full-size ``drawn_area``, if any; the
    seconds it took are added to ``timings`` as ``restore``."""
    if photo is None:
        return result
    t0 = time.perf_counter()
    result = cast(R, restore(result, photo.load()))  # a copy of the same type
    if drawn_area is not None:
        # The working copy's area covers every working pixel the drawn one touches.
        outside = result.agnostic_mask & ~drawn_area
        image = result.image.copy()
        image[outside] = result.person[outside]
        result = replace(result, image=image, agnostic_mask=result.agnostic_mask & drawn_area)
    timings["restore"] = time.perf_counter() - t0
    return result


def _worn_warnings(
    analyses: Sequence[GarmentAnalysis], wanted: Sequence[Category | None]
) -> list[str]:
    """The note for each garment photo of a person whose category was inferred."""
    if any(c is None and a.source == "worn" for a, c in zip(analyses, wanted, strict=True)):
        return [
            "the garment photo shows a person; took their upper garment (pass a category "
            "to choose another)"
        ]
    return []


def _category(value: str | Category) -> Category | None:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    return Category.parse(value)
