"""The person side every engine shares: the body analysis, the check that the photo shows
what the category needs, and the agnostic mask (the pixels a try-on may change).

The warp, catvton and hybrid engines, the service's diffusion jobs and the dataset
builder all prepare a person photo this one way, so a mask is the same whichever of
them made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tryon.body.agnostic import AgnosticConfig, agnostic_mask
from tryon.body.analyze import BodyAnalyzer
from tryon.body.models import BodyModels
from tryon.closing import Closeable
from tryon.engines.checks import check_visible
from tryon.garment.analyze import GarmentAnalyzer
from tryon.types import BodyAnalysis, Category, GarmentAnalysis, Image, Mask


@dataclass(frozen=True)
class MaskedPerson:
    """A person photo ready for a try-on of one category.

    Attributes:
        image: (H, W, 3) RGB uint8 photo, upright.
        body: its body analysis.
        category: the category tried on.
        agnostic_mask: (H, W) bool, the pixels the try-on may change.
    """

    image: Image
    body: BodyAnalysis
    category: Category
    agnostic_mask: Mask


class Analyzers:
    """The body and garment analysers, sharing one set of MediaPipe models.

    Own them once per process (or per engine) and hand them to the engines that need
    them; ``close`` stops the body analyser's thread pool.

    Args:
        models: the MediaPipe models (loaded here when None).
        agnostic: margins of the agnostic mask.
    """

    def __init__(
        self, models: BodyModels | None = None, agnostic: AgnosticConfig | None = None
    ) -> None:
        self.body = BodyAnalyzer(models or BodyModels())
        self.garments = GarmentAnalyzer(self.body)
        self.agnostic = agnostic or AgnosticConfig()

    def mask_person(
        self, image: Image, category: Category, body: BodyAnalysis | None = None
    ) -> MaskedPerson:
        """Analyses ``image`` (unless ``body`` is its analysis already), checks that it
        shows what ``category`` needs and makes its agnostic mask.

        Raises:
            NoPersonError: nobody, or no head and shoulders, in the photo.
            BodyNotVisibleError: the photo lacks the body parts the category needs.
        """
        body = body or self.body.analyze(image)
        check_visible(body, category)
        mask = agnostic_mask(body, category, self.agnostic, image)
        return MaskedPerson(image, body, category, mask)

    def close(self) -> None:
        """Stops the analysers' threads (the models stay usable by other owners)."""
        self.body.close()


class AnalysingEngine(Closeable):
    """The part of an engine that analyses photos: body and garment analysers shared
    with other engines (given), or its own (made here from ``models`` and closed with
    it)."""

    def __init__(self, analyzers: Analyzers | None, models: BodyModels | None = None) -> None:
        self._owns_analyzers = analyzers is None
        self.analyzers = analyzers or Analyzers(models)

    def close(self) -> None:
        """Stops the analysers' threads when the engine made them."""
        if self._owns_analyzers:
            self.analyzers.close()

    def analyze_garment(
        self, garment: Image, category: Category | None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        return self.analyzers.garments.analyze(garment, category, cutout)


def other_people_warnings(body: BodyAnalysis) -> list[str]:
    """The warning every engine gives when the photo shows more than one person."""
    if not body.other_people:
        return []
    count = body.other_people
    others = "1 other person is" if count == 1 else f"{count} other people are"
    return [f"{others} in the photo; dressed the most prominent person"]
