"""Garment analysis: mask, category, landmarks and pieces, from either kind of photo.

A garment photo is *worn* when it shows a person's face (person-to-person try-on),
otherwise it is a *product* photo on a plain backdrop.
"""

from __future__ import annotations

from tryon.body.analyze import BodyAnalyzer
from tryon.errors import GarmentNotFoundError
from tryon.garment.landmarks import bottom_landmarks, infer_category, outline, top_landmarks
from tryon.garment.segment import cutout_mask, segment_product
from tryon.garment.worn import worn_garment
from tryon.types import Category, GarmentAnalysis, Image, Mask


class GarmentAnalyzer:
    """Analyses garment photos; the body analyser handles photos of worn garments."""

    def __init__(self, body: BodyAnalyzer) -> None:
        self.body = body

    def is_worn(self, image: Image) -> bool:
        """True when the photo shows a person's face (the garment is worn)."""
        return bool(self.body.models.face_boxes(image))

    def analyze(
        self, image: Image, category: Category | None = None, cutout: Mask | None = None
    ) -> GarmentAnalysis:
        """Analyses a garment photo.

        Args:
            image: (H, W, 3) RGB uint8 garment photo.
            category: the category to use; None infers it (product photos from the
                outline; worn photos default to the upper garment).
            cutout: the opaque pixels of a cut-out photo (its alpha channel): then they
                are the garment's mask, and the backdrop is not looked at.

        Raises:
            GarmentNotFoundError: no garment could be separated, or its outline does not
                fit the category.
        """
        if self.is_worn(image):
            body = self.body.analyze(image, role="garment photo")
            return worn_garment(image, body, category or Category.UPPER)
        mask = segment_product(image) if cutout is None else cutout_mask(cutout)
        shape = outline(mask)
        found = infer_category(shape)
        category = category or found
        if category is Category.LOWER:
            if found is not Category.LOWER:
                raise GarmentNotFoundError(
                    "the garment photo shows no trouser legs (no gap between two legs), so it "
                    f"cannot be worn as {category.value}; it looks like {found.value}: ask for "
                    "that category, or auto"
                )
            landmarks, pieces, limbs = bottom_landmarks(mask, shape)
        else:
            if found is Category.LOWER:
                raise GarmentNotFoundError(
                    f"the garment photo shows trousers, which cannot be worn as {category.value}: "
                    "ask for the category lower, or auto"
                )
            landmarks, pieces, limbs = top_landmarks(mask, shape)
        return GarmentAnalysis(
            image=image,
            mask=mask,
            pieces=pieces,
            category=category,
            landmarks=landmarks,
            limbs=limbs,
            source="product",
        )
