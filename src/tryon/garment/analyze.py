"""Garment analysis: mask, category, landmarks and pieces, from either kind of photo.

A garment photo is *worn* when it shows a person's face (person-to-person try-on),
otherwise it is a *product* photo on a plain backdrop.
"""

from __future__ import annotations

from tryon.body.analyze import BodyAnalyzer
from tryon.errors import GarmentNotFoundError
from tryon.garment.landmarks import (
    KIND_CATEGORY,
    GarmentKind,
    bottom_landmarks,
    garment_kind,
    one_piece_landmarks,
    outline,
    top_landmarks,
)
from tryon.garment.neck_label import find_neck_labels
from tryon.garment.segment import cutout_mask, segment_product
from tryon.garment.worn import worn_garment
from tryon.types import Box, Category, GarmentAnalysis, Image, Mask


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
        kind = garment_kind(mask, shape)
        category = category or KIND_CATEGORY[kind]
        check_category(kind, category)
        labels: tuple[Box, ...] = ()
        if kind is GarmentKind.TROUSERS:
            landmarks, pieces, limbs = bottom_landmarks(mask, shape)
        elif kind is GarmentKind.LEGGED_ONE_PIECE:
            landmarks, pieces, limbs = one_piece_landmarks(mask, shape)
        else:
            landmarks, pieces, limbs = top_landmarks(mask, shape)
            labels = find_neck_labels(image, mask, landmarks)
        return GarmentAnalysis(
            image=image,
            mask=mask,
            pieces=pieces,
            category=category,
            landmarks=landmarks,
            limbs=limbs,
            source="product",
            neck_labels=labels,
        )


_PHRASE = {
    GarmentKind.TOP: "a top",
    GarmentKind.DRESS: "a dress",
    GarmentKind.TROUSERS: "trousers",
    GarmentKind.LEGGED_ONE_PIECE: "a one-piece with legs (dungarees or a jumpsuit)",
}

_ASK_FOR = {
    GarmentKind.TOP: "upper",
    GarmentKind.DRESS: "overall",
    GarmentKind.TROUSERS: "lower",
    GarmentKind.LEGGED_ONE_PIECE: "overall",
}

_WHY_NOT = {
    (GarmentKind.TOP, Category.OVERALL): "a top ends at the hips: worn as overall, which "
    "also replaces what is worn on the legs, it would leave the legs bare",
    (GarmentKind.TOP, Category.LOWER): "it shows no trouser legs (no gap between two legs)",
    (GarmentKind.DRESS, Category.UPPER): "it is as long as a dress: worn as upper, which "
    "replaces only what is worn above the hips, it would be cut off at the hips",
    (GarmentKind.DRESS, Category.LOWER): "it shows no trouser legs (no gap between two legs)",
    (GarmentKind.TROUSERS, Category.UPPER): "trousers are worn below the waist",
    (GarmentKind.TROUSERS, Category.OVERALL): "trousers end at the waist: worn as overall, "
    "which also replaces what is worn above it, they would leave the body bare",
    (GarmentKind.LEGGED_ONE_PIECE, Category.UPPER): "it has legs and is worn on the body "
    "and legs together",
    (GarmentKind.LEGGED_ONE_PIECE, Category.LOWER): "it goes on above the waist (a bib and "
    "straps, or a bodice): it replaces what is worn on the body too",
}


def check_category(kind: GarmentKind, category: Category) -> None:
    """Refuses a garment asked for as a category it does not fit.

    Raises:
        GarmentNotFoundError: the message says what the garment looks like and which
            category to ask for.
    """
    why = _WHY_NOT.get((kind, category))
    if why is not None:
        raise GarmentNotFoundError(
            f"the garment photo shows {_PHRASE[kind]}, which cannot be "
            f"worn as {category.value}: {why}; ask for the category {_ASK_FOR[kind]}, or auto"
        )
