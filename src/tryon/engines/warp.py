"""The ``warp`` engine: body analysis, agnostic mask, thin-plate-spline warp, composite.

Deterministic and CPU-only; its models ship inside the mediapipe wheel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from tryon.allocator import keep_freed_memory
from tryon.body.agnostic import AgnosticConfig, agnostic_mask
from tryon.body.analyze import BodyAnalyzer
from tryon.body.models import BodyModels
from tryon.compose import BareArms, ComposeConfig, Scene, compose, find_bare_arms, prepare_scene
from tryon.errors import BodyNotVisibleError
from tryon.garment.analyze import GarmentAnalyzer
from tryon.threads import limit_library_threads
from tryon.types import (
    BodyAnalysis,
    Category,
    GarmentAnalysis,
    Image,
    Joint,
    Mask,
    TryOnResult,
    WarpedGarment,
)
from tryon.warp import WarpConfig, warp_garment

T = TypeVar("T")

# Joints a category needs inside the photo, and what to tell the user when one is missing.
REQUIRED_JOINTS: dict[Category, tuple[tuple[Joint, ...], str]] = {
    Category.UPPER: ((Joint.R_SHOULDER, Joint.L_SHOULDER), "shoulders"),
    Category.LOWER: ((Joint.R_HIP, Joint.L_HIP, Joint.R_KNEE, Joint.L_KNEE), "hips and knees"),
    Category.OVERALL: (
        (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.R_HIP, Joint.L_HIP),
        "shoulders and hips",
    ),
}


@dataclass(frozen=True)
class PersonSide:
    """What a try-on of one category needs from the person photo alone.

    Attributes:
        agnostic_mask: the pixels the try-on may change.
        scene: the old garment, the shading and the backdrop (see ``compose.Scene``).
    """

    agnostic_mask: Mask
    scene: Scene


@dataclass(frozen=True)
class PreparedPerson:
    """A person photo analysed once, to try many garments on it.

    The body analysis is made at once; each category's ``PersonSide`` the first time a
    garment of that category is tried on, then kept. Nothing in it depends on a
    garment. Read-only once made: share it between threads freely.

    Attributes:
        image: the photo (RGB uint8, upright).
        body: its body analysis.
        sides: per category, what its try-ons need (filled in as they run).
    """

    image: Image
    body: BodyAnalysis
    sides: dict[Category, PersonSide] = field(default_factory=dict)


class WarpEngine:
    """Try-on by warping the garment photo onto the body (no generative model)."""

    name = "warp"

    def __init__(
        self,
        models: BodyModels | None = None,
        agnostic: AgnosticConfig | None = None,
        warp: WarpConfig | None = None,
        composite: ComposeConfig | None = None,
    ) -> None:
        keep_freed_memory()
        limit_library_threads()
        self.body = BodyAnalyzer(models or BodyModels())
        self.garments = GarmentAnalyzer(self.body)
        self.agnostic_config = agnostic or AgnosticConfig()
        self.warp_config = warp or WarpConfig()
        self.compose_config = composite or ComposeConfig()
        # Warps run here, beside the person side of the same try-on (one thread per
        # try-on in flight; more would only wait for the CPU).
        self._warps = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tryon-warp")

    def analyze_garment(
        self, garment: Image, category: Category | None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        return self.garments.analyze(garment, category, cutout)

    def prepare_person(self, person: Image) -> PreparedPerson:
        """Analyses a person photo for ``dress`` to reuse.

        Raises:
            NoPersonError: nobody, or no head and shoulders, in the photo.
        """
        return PreparedPerson(person, self.body.analyze(person))

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
        check_visible(body, chosen)
        # The garment side (the warp, and where the arms are bare below its sleeves)
        # needs only the body; the person side (the agnostic mask, the old garment, the
        # shading) never looks at the new garment. They run at the same time, on two
        # cores where there are two.
        warping = self._warps.submit(
            _timed, timings, "warp", lambda: self._garment_side(garment, body, chosen)
        )
        side = prepared.sides.get(chosen)
        if side is None:
            side = self._person_side(prepared, chosen, timings)
            prepared.sides[chosen] = side
        mask = side.agnostic_mask
        warped, bare_arms = warping.result()
        result = _timed(
            timings,
            "compose",
            lambda: compose(
                photo, body, warped, mask, chosen, self.compose_config, side.scene, bare_arms
            ),
        )
        warnings = []
        if body.other_people:
            warnings.append(
                f"{body.other_people} other people are in the photo; dressed the most "
                "prominent person"
            )
        return TryOnResult(
            image=result.image,
            agnostic_mask=mask,
            category=chosen,
            timings=timings,
            person=photo,
            body=body,
            garment=garment,
            warped=warped,
            shading=result.shading,
            fill_mask=result.fill_mask,
            warnings=warnings,
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
        body = person.body
        mask = _timed(
            timings, "agnostic_mask", lambda: agnostic_mask(body, category, self.agnostic_config)
        )
        scene = _timed(
            timings,
            "scene",
            lambda: prepare_scene(person.image, body, mask, category, self.compose_config),
        )
        return PersonSide(mask, scene)


def check_visible(body: BodyAnalysis, category: Category) -> None:
    """Raises BodyNotVisibleError when the photo lacks the body parts the category needs."""
    joints, words = REQUIRED_JOINTS[category]
    missing = [j for j in joints if not body.keypoints.joint_visible(j)]
    if missing:
        names = ", ".join(j.name.lower().replace("_", " ") for j in missing)
        hint = (
            "a full-body photo"
            if category is not Category.UPPER
            else "a photo showing both shoulders"
        )
        raise BodyNotVisibleError(
            f"a {category.value} garment needs the {words} in the person photo, but these "
            f"are not visible: {names}; use {hint}"
        )


def _timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = step()
    timings[name] = time.perf_counter() - start
    return out
