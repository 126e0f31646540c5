"""The ``warp`` engine: body analysis, agnostic mask, thin-plate-spline warp, composite.

Deterministic and CPU-only; its models ship inside the mediapipe wheel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from tryon.body.models import BodyModels
from tryon.compose import BareArms, ComposeConfig, Scene, compose, find_bare_arms, prepare_scene
from tryon.engines.checks import check_visible
from tryon.engines.person import AnalysingEngine, Analyzers, MaskedPerson, other_people_warnings
from tryon.types import (
    BodyAnalysis,
    Category,
    GarmentAnalysis,
    Image,
    Mask,
    TryOnResult,
    WarpDetails,
    WarpedGarment,
)
from tryon.warp import WarpConfig, warp_garment

T = TypeVar("T")

WARP_THREADS = 8
"""Warps run on these, beside the person side of the same try-on (one thread per
try-on in flight; more would only wait for the CPU)."""


@dataclass(frozen=True)
class PersonSide:
    """What a try-on of one category needs from the person photo alone.

    Attributes:
        agnostic_mask: the pixels the try-on may change.
        scene: the old garment, the shading and the backdrop (see ``compose.Scene``).
    """

    agnostic_mask: Mask
    scene: Scene


class PersonSides:
    """A prepared person's ``PersonSide`` per category: made the first time a garment of
    that category is tried on, then kept. Safe to share between threads (two threads
    asking for a new category at once may both make it; the first one kept wins)."""

    def __init__(self) -> None:
        self._sides: dict[Category, PersonSide] = {}
        self._lock = threading.Lock()

    def get(self, category: Category, make: Callable[[], PersonSide]) -> PersonSide:
        """The side of ``category``, made by ``make`` when there is none yet."""
        with self._lock:
            side = self._sides.get(category)
        if side is None:
            made = make()
            with self._lock:
                side = self._sides.setdefault(category, made)
        return side

    def __iter__(self) -> Iterator[Category]:
        with self._lock:
            return iter(list(self._sides))


@dataclass(frozen=True)
class PreparedPerson:
    """A person photo analysed once, to try many garments on it.

    The body analysis is made at once; each category's ``PersonSide`` the first time a
    garment of that category is tried on, then kept in ``sides`` (a thread-safe cache,
    the one part that fills in). Nothing in it depends on a garment: share it between
    threads freely.

    Attributes:
        image: the photo (RGB uint8, upright).
        body: its body analysis.
        sides: per category, what its try-ons need.
        agnostic_mask: (H, W) bool in the photo's frame, the pixels a try-on may change
            as a user drew them; used for every category instead of the computed mask.
            None: computed per category.
    """

    image: Image
    body: BodyAnalysis
    sides: PersonSides = field(default_factory=PersonSides)
    agnostic_mask: Mask | None = None


class WarpEngine(AnalysingEngine):
    """Try-on by warping the garment photo onto the body (no generative model).

    Owns a thread pool (and the analysers' pools when it made them): ``close`` it, or use
    it as a context manager.

    Args:
        models: the MediaPipe models (loaded here when None and ``analyzers`` is None).
        analyzers: body and garment analysers to share with other engines; made here
            (from ``models``) when None, and then closed with the engine.
        warp: fit of the garment on the body.
        composite: parameters of the composite.
    """

    name = "warp"

    def __init__(
        self,
        models: BodyModels | None = None,
        *,
        analyzers: Analyzers | None = None,
        warp: WarpConfig | None = None,
        composite: ComposeConfig | None = None,
    ) -> None:
        super().__init__(analyzers, models)
        self.warp_config = warp or WarpConfig()
        self.compose_config = composite or ComposeConfig()
        self._warps = ThreadPoolExecutor(max_workers=WARP_THREADS, thread_name_prefix="tryon-warp")

    def close(self) -> None:
        """Stops the engine's threads (and its analysers' when it made them)."""
        self._warps.shutdown(wait=True)
        super().close()

    def prepare_person(self, person: Image) -> PreparedPerson:
        """Analyses a person photo for ``dress`` to reuse.

        Raises:
            NoPersonError: nobody, or no head and shoulders, in the photo.
        """
        return PreparedPerson(person, self.analyzers.body.analyze(person))

    def dress(
        self, person: Image | PreparedPerson, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        timings: dict[str, float] = {}
        chosen = category or garment.category
        if isinstance(person, PreparedPerson):
            prepared = person
        else:
            image = person
            prepared = _timed(timings, "body", lambda: self.prepare_person(image))
        body, photo = prepared.body, prepared.image
        # The garment side (the warp, and where the arms are bare below its sleeves)
        # needs only the body; the person side (the agnostic mask, the old garment, the
        # shading) never looks at the new garment. They run at the same time, on two
        # cores where there are two.
        check_visible(body, chosen, legs=garment.landmarks.crotch is not None)
        warping = self._warps.submit(
            _timed, timings, "warp", lambda: self._garment_side(garment, body, chosen)
        )
        side = prepared.sides.get(chosen, lambda: self._person_side(prepared, chosen, timings))
        warped, bare_arms = warping.result()
        result = _timed(
            timings,
            "compose",
            lambda: compose(
                photo,
                body,
                warped,
                side.agnostic_mask,
                chosen,
                cfg=self.compose_config,
                scene=side.scene,
                bare_arms=bare_arms,
            ),
        )
        return TryOnResult(
            image=result.image,
            agnostic_mask=side.agnostic_mask,
            category=chosen,
            timings=timings,
            person=photo,
            body=body,
            garment=garment,
            warnings=other_people_warnings(body) + painted_skin_warnings(result.painted),
            details=WarpDetails(warped, result.shading, result.fill_mask),
        )

    def _garment_side(
        self, garment: GarmentAnalysis, body: BodyAnalysis, category: Category
    ) -> tuple[WarpedGarment, BareArms | None]:
        warped = warp_garment(garment, body, category, self.warp_config)
        if category is Category.LOWER:
            return warped, None
        return warped, find_bare_arms(body, warped)

    def _person_side(
        self, person: PreparedPerson, category: Category, timings: dict[str, float]
    ) -> PersonSide:
        agnostic_mask = person.agnostic_mask
        if agnostic_mask is None:
            masked: MaskedPerson = _timed(
                timings,
                "agnostic_mask",
                lambda: self.analyzers.mask_person(person.image, category, person.body),
            )
            agnostic_mask = masked.agnostic_mask
        given = agnostic_mask
        scene = _timed(
            timings,
            "scene",
            lambda: prepare_scene(
                person.image, person.body, given, category, cfg=self.compose_config
            ),
        )
        return PersonSide(agnostic_mask, scene)


PAINTED_SKIN = "painted skin"
"""How a painted-skin warning begins (the hybrid engine repaints that skin and drops it)."""


def painted_skin_warnings(parts: tuple[str, ...]) -> list[str]:
    """The warning for skin painted where the old garment covered it, if any."""
    if not parts:
        return []
    named = " and the ".join([", the ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
    return [
        f"{PAINTED_SKIN}: the old garment covered the {named}, which the new one leaves "
        "bare; that skin is painted in the colour of the person's own skin, with the "
        "photo's light, and is approximate (the hybrid engine repaints it)"
    ]


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = step()
    timings[name] = time.perf_counter() - start
    return out
