"""Checks every engine makes of a person photo before dressing it."""

from __future__ import annotations

from tryon.errors import BodyNotVisibleError
from tryon.types import BodyAnalysis, Category, Joint

# Joints a category needs inside the photo, and what to tell the user when one is missing.
REQUIRED_JOINTS: dict[Category, tuple[tuple[Joint, ...], str]] = {
    Category.UPPER: ((Joint.R_SHOULDER, Joint.L_SHOULDER), "shoulders"),
    Category.LOWER: ((Joint.R_HIP, Joint.L_HIP, Joint.R_KNEE, Joint.L_KNEE), "hips and knees"),
    Category.OVERALL: (
        (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.R_HIP, Joint.L_HIP),
        "shoulders and hips",
    ),
}


def check_visible(body: BodyAnalysis, category: Category, *, legs: bool = False) -> None:
    """Raises BodyNotVisibleError when the photo lacks the body parts the category needs
    (and the knees, for a garment with legs worn as ``overall``: a jumpsuit)."""
    joints, words = REQUIRED_JOINTS[category]
    if legs and category is Category.OVERALL:
        joints, words = (*joints, Joint.R_KNEE, Joint.L_KNEE), "shoulders, hips and knees"
    missing = [j for j in joints if not body.keypoints.joint_visible(j)]
    if missing:
        names = ", ".join(j.name.lower().replace("_", " ") for j in missing)
        hint = (
            "a full-body photo"
            if category is not Category.UPPER
            else "a photo showing both shoulders"
        )
        article = "an" if category.value[0] in "aeiou" else "a"
        raise BodyNotVisibleError(
            f"{article} {category.value} garment needs the {words} in the person photo, but these "
            f"are not visible: {names}; use {hint}"
        )
