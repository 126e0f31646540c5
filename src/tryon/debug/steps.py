"""Writes every intermediate of a try-on to a folder, for debugging and for reports.

``save_steps(result, folder)`` writes one file per stage with a self-explanatory name
(``person.png``, ``agnostic_mask.png``, ``keypoints.json``, ...) and a contact sheet,
``steps.png``, showing the main stages side by side with a caption under each.

Conventions of the files:

* masks are 8-bit greyscale PNGs, 255 inside the mask and 0 outside;
* ``keypoints.json`` is OpenPose-18 (COCO-18) JSON as written by OpenPose 1.3 and read by
  VITON-HD; a joint that is not visible is (0, 0, 0);
* ``agnostic.png`` is the person photo with the region the engine may change in grey
  (128, 128, 128), like VITON-HD's agnostic images;
* ``shading.png`` shows the shading factor as grey = 128 x factor: mid grey is
  unchanged, darker is shadow, lighter is highlight.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from tryon.ops.working_size import working_view
from tryon.types import (
    DiffusionDetails,
    Image,
    Joint,
    Mask,
    Piece,
    TryOnResult,
    WarpDetails,
    WarpedGarment,
)

TILE_HEIGHT = 384
"""Height of every tile of the contact sheet, pixels."""

AGNOSTIC_GREY = (128, 128, 128)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

PIECE_COLOURS: dict[Piece, tuple[int, int, int]] = {
    Piece.NONE: (0, 0, 0),
    Piece.TORSO: (230, 159, 0),
    Piece.SLEEVE_R: (86, 180, 233),
    Piece.SLEEVE_L: (0, 158, 115),
    Piece.LEG_R: (204, 121, 167),
    Piece.LEG_L: (240, 228, 66),
}
"""Colour of each garment piece (Okabe-Ito palette, readable by colour-blind people)."""

# OpenPose-18 limbs, drawn as lines between two joints, with OpenPose's usual colours.
SKELETON: tuple[tuple[Joint, Joint], ...] = (
    (Joint.NECK, Joint.R_SHOULDER),
    (Joint.NECK, Joint.L_SHOULDER),
    (Joint.R_SHOULDER, Joint.R_ELBOW),
    (Joint.R_ELBOW, Joint.R_WRIST),
    (Joint.L_SHOULDER, Joint.L_ELBOW),
    (Joint.L_ELBOW, Joint.L_WRIST),
    (Joint.NECK, Joint.R_HIP),
    (Joint.R_HIP, Joint.R_KNEE),
    (Joint.R_KNEE, Joint.R_ANKLE),
    (Joint.NECK, Joint.L_HIP),
    (Joint.L_HIP, Joint.L_KNEE),
    (Joint.L_KNEE, Joint.L_ANKLE),
    (Joint.NECK, Joint.NOSE),
    (Joint.NOSE, Joint.R_EYE),
    (Joint.R_EYE, Joint.R_EAR),
    (Joint.NOSE, Joint.L_EYE),
    (Joint.L_EYE, Joint.L_EAR),
)
LIMB_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
)

MEDIAPIPE_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""MediaPipe pose landmark names, in index order (the person's left and right)."""

# The tiles of steps.png: (file written by save_steps, caption).
SHEET: tuple[tuple[str, str], ...] = (
    ("person.png", "1. person photo"),
    ("garment.png", "2. garment photo"),
    ("garment_pieces.png", "3. garment pieces"),
    ("garment_landmarks.png", "4. garment landmarks"),
    ("keypoints.png", "5. body keypoints (OpenPose-18)"),
    ("agnostic.png", "6. agnostic: grey = may change"),
    ("warped_landmarks.png", "7. garment warped onto the body"),
    ("shading.png", "8. shading (mid grey = unchanged)"),
    ("fill_mask.png", "9. filled-in pixels"),
    ("result.png", "10. result"),
)


def _details_shape(result: TryOnResult) -> tuple[int, int] | None:
    """The (h, w) the engine's own intermediates have, when it is not the result's."""
    if isinstance(result.details, WarpDetails):
        shape = result.details.fill_mask.shape
    elif isinstance(result.details, DiffusionDetails):
        shape = result.details.generated.shape[:2]
    else:
        return None
    return None if shape == result.image.shape[:2] else (int(shape[0]), int(shape[1]))


def save_steps(result: TryOnResult, directory: Path) -> list[Path]:
    """Writes every intermediate of ``result`` into ``directory`` (created if needed).

    Returns:
        The paths written, ``steps.png`` (the contact sheet) last.
    """
    directory = Path(directory)
    # A large photo's intermediates are at the engine's working size: the whole set is
    # drawn at that size, so the pictures line up.
    shape = _details_shape(result)
    if shape is not None:
        result = working_view(result, shape)
    images = step_images(result)
    masks = {
        "garment_mask.png": result.garment.mask,
        "person_mask.png": result.body.person_mask,
        "face_mask.png": result.body.face_mask,
        "head_mask.png": result.body.head_mask,
        "hands_mask.png": result.body.hands_mask,
        "agnostic_mask.png": result.agnostic_mask,
    }
    if isinstance(result.details, WarpDetails):
        masks["fill_mask.png"] = result.details.fill_mask
    documents = {
        "garment_landmarks.json": garment_landmarks_json(result),
        "keypoints.json": openpose_json(result.body.keypoints.openpose18()),
        "keypoints_mediapipe33.json": mediapipe_json(result),
        "timings.json": {"seconds": {k: round(v, 4) for k, v in result.timings.items()}},
        "config/summary.json": summary_json(result),
    }
    written = [save_png(image, directory / name) for name, image in images.items()]
    written += [save_mask(mask, directory / name) for name, mask in masks.items()]
    written += [save_json(doc, directory / name) for name, doc in documents.items()]
    tiles = {
        **images,
        **{name: mask_image(masks[name]) for name in ("fill_mask.png",) if name in masks},
    }
    sheet = contact_sheet([(tiles[name], caption) for name, caption in SHEET if name in tiles])
    written.append(save_png(sheet, directory / "steps.png"))
    return written


def step_images(result: TryOnResult) -> dict[str, PILImage.Image]:
    """Returns the pictures of the stages, by file name (the warp's only for the engines
    that warp the garment)."""
    garment = PILImage.fromarray(result.garment.image)
    agnostic = agnostic_image(result.person, result.agnostic_mask)
    pictures = {
        "person.png": PILImage.fromarray(result.person),
        "garment.png": garment,
        "garment_pieces.png": pieces_image(result.garment.pieces),
        "garment_landmarks.png": draw_points(garment, result.garment.landmarks.as_dict()),
        "keypoints.png": keypoints_image(result),
        "agnostic.png": agnostic,
    }
    if isinstance(result.details, WarpDetails):
        warped = warped_rgba(result.details.warped)
        over_agnostic = PILImage.alpha_composite(agnostic.convert("RGBA"), warped).convert("RGB")
        landmarks = result.details.warped.landmarks.as_dict()
        pictures["warped_garment.png"] = warped
        pictures["warped_landmarks.png"] = draw_points(over_agnostic, landmarks)
        pictures["shading.png"] = shading_image(result.details.shading)
    pictures["result.png"] = PILImage.fromarray(result.image)
    return pictures


# --- pictures ------------------------------------------------------------------------


def mask_image(mask: Mask) -> PILImage.Image:
    """A mask as an 8-bit greyscale picture: 255 inside, 0 outside."""
    return PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L")


def pieces_image(pieces: npt.NDArray[np.uint8]) -> PILImage.Image:
    """The piece map in colour, with a legend of the pieces present."""
    palette = np.zeros((256, 3), np.uint8)
    for piece, colour in PIECE_COLOURS.items():
        palette[piece] = colour
    picture = PILImage.fromarray(palette[pieces])
    present = [p for p in Piece if p is not Piece.NONE and bool((pieces == p).any())]
    legend = {p.name.lower(): PIECE_COLOURS[p] for p in present}
    return draw_legend(picture, legend)


def agnostic_image(person: Image, mask: Mask) -> PILImage.Image:
    """The person with the pixels the engine may change painted grey (VITON-HD style)."""
    out = person.copy()
    out[mask] = AGNOSTIC_GREY
    return PILImage.fromarray(out)


def warped_rgba(warped: WarpedGarment) -> PILImage.Image:
    """The warped garment as RGBA, its alpha the garment's coverage."""
    alpha = np.clip(np.rint(warped.alpha * 255), 0, 255).astype(np.uint8)
    return PILImage.fromarray(np.dstack([warped.image, alpha]), "RGBA")


def shading_image(shading: npt.NDArray[np.float32]) -> PILImage.Image:
    """The shading factor as grey = 128 x factor (1.0 is mid grey)."""
    grey = np.clip(np.rint(shading * 128), 0, 255).astype(np.uint8)
    return PILImage.fromarray(grey, "L")


def keypoints_image(result: TryOnResult) -> PILImage.Image:
    """The OpenPose-18 skeleton drawn over the person photo."""
    rows = result.body.keypoints.openpose18()
    seen = {Joint(i): (float(x), float(y)) for i, (x, y, c) in enumerate(rows) if c > 0}
    picture = PILImage.fromarray(result.person)
    draw = ImageDraw.Draw(picture)
    width = marker_radius(picture)
    for (a, b), colour in zip(SKELETON, LIMB_COLOURS, strict=True):
        if a in seen and b in seen:
            draw.line([seen[a], seen[b]], fill=colour, width=width)
    return draw_points(picture, {j.name.lower(): xy for j, xy in seen.items()})


def draw_points(
    picture: PILImage.Image,
    points: Mapping[str, tuple[float, float]],
    colour: tuple[int, int, int] = (255, 40, 40),
) -> PILImage.Image:
    """Returns a copy of ``picture`` with each point drawn as a dot labelled with its name."""
    out = picture.convert("RGB")
    draw = ImageDraw.Draw(out)
    radius = marker_radius(out)
    font = label_font(out)
    for name, (x, y) in points.items():
        box = (x - radius, y - radius, x + radius, y + radius)
        draw.ellipse(box, fill=colour, outline=WHITE)
        fits = x + radius + 2 + font.getlength(name) < out.width
        xy, anchor = ((x + radius + 2, y), "lm") if fits else ((x - radius - 2, y), "rm")
        draw.text(xy, name, WHITE, font, anchor=anchor, stroke_width=2, stroke_fill=BLACK)
    return out


def draw_legend(
    picture: PILImage.Image, entries: Mapping[str, tuple[int, int, int]]
) -> PILImage.Image:
    """Returns a copy of ``picture`` with a colour legend in its top-left corner."""
    out = picture.convert("RGB")
    draw = ImageDraw.Draw(out)
    font = label_font(out)
    size = int(font.size)
    for row, (name, colour) in enumerate(entries.items()):
        top = size // 2 + row * (size + size // 2)
        draw.rectangle((size // 2, top, size // 2 + size, top + size), fill=colour)
        draw.text((2 * size, top + size / 2), name, fill=WHITE, font=font, anchor="lm")
    return out


def marker_radius(picture: PILImage.Image) -> int:
    """A dot or line size that stays visible at any photo size."""
    return max(3, round(min(picture.size) / 120))


def label_font(picture: PILImage.Image, size: int | None = None) -> ImageFont.FreeTypeFont:
    """PIL's default font, sized for ``picture`` (about 1/32 of its short side)."""
    font = ImageFont.load_default(size=size or max(12, round(min(picture.size) / 32)))
    assert isinstance(font, ImageFont.FreeTypeFont), "Pillow was built without FreeType"
    return font


def contact_sheet(tiles: Sequence[tuple[PILImage.Image, str]]) -> PILImage.Image:
    """Puts pictures side by side at a common height, each with a caption under it."""
    font = label_font(PILImage.new("L", (1, 1)), size=18)
    line = int(font.size) + 4
    scaled = [to_height(picture, TILE_HEIGHT) for picture, _ in tiles]
    widths = [max(picture.width, 160) for picture in scaled]
    captions = [
        wrap(caption, font, width) for (_, caption), width in zip(tiles, widths, strict=True)
    ]
    gap = 8
    text_height = line * max(len(lines) for lines in captions) + gap
    sheet = PILImage.new(
        "RGB", (sum(widths) + gap * (len(tiles) + 1), TILE_HEIGHT + text_height + 2 * gap), "white"
    )
    draw = ImageDraw.Draw(sheet)
    left = gap
    for picture, lines, width in zip(scaled, captions, widths, strict=True):
        sheet.paste(picture, (left + (width - picture.width) // 2, gap))
        for row, text in enumerate(lines):
            y = TILE_HEIGHT + 2 * gap + row * line
            draw.text((left + width / 2, y), text, fill=BLACK, font=font, anchor="mt")
        left += width + gap
    return sheet


def to_height(picture: PILImage.Image, height: int) -> PILImage.Image:
    """The picture scaled to ``height`` pixels tall, as RGB (transparency on checkers)."""
    if picture.mode == "RGBA":
        picture = PILImage.alpha_composite(checkerboard(picture.size), picture)
    width = max(1, round(picture.width * height / picture.height))
    return picture.convert("RGB").resize((width, height), PILImage.Resampling.LANCZOS)


def checkerboard(size: tuple[int, int], cell: int = 32) -> PILImage.Image:
    """A light grey checkerboard, the usual background for transparent pixels."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    grey = np.where((xx // cell + yy // cell) % 2 == 0, 255, 204).astype(np.uint8)
    return PILImage.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA")


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Splits ``text`` into lines no wider than ``width`` pixels (long words stay whole)."""
    for chars in range(len(text), 0, -1):
        lines = textwrap.wrap(text, chars) or [""]
        if all(font.getlength(line) <= width for line in lines):
            return lines
    return textwrap.wrap(text, 1)


# --- documents -----------------------------------------------------------------------


def openpose_json(rows: npt.NDArray[np.float32]) -> dict[str, Any]:
    """OpenPose 1.3 JSON for one person from (18, 3) rows (x, y, confidence)."""
    person: dict[str, Any] = {
        "person_id": [-1],
        "pose_keypoints_2d": [round(float(v), 3) for v in rows.reshape(-1)],
    }
    for part in ("face", "hand_left", "hand_right"):
        person[f"{part}_keypoints_2d"] = []
    for part in ("pose", "face", "hand_left", "hand_right"):
        person[f"{part}_keypoints_3d"] = []
    return {"version": 1.3, "people": [person]}


def mediapipe_json(result: TryOnResult) -> dict[str, Any]:
    """The 33 MediaPipe pose landmarks, named, in person-photo pixels."""
    keypoints = result.body.keypoints
    h, w = keypoints.image_size
    rows = zip(MEDIAPIPE_NAMES, keypoints.mediapipe, keypoints.visibility, strict=True)
    landmarks = [
        {
            "index": i,
            "name": name,
            "x": round(float(x), 2),
            "y": round(float(y), 2),
            "visibility": round(float(v), 4),
        }
        for i, (name, (x, y), v) in enumerate(rows)
    ]
    return {"image_width": w, "image_height": h, "landmarks": landmarks}


def garment_landmarks_json(result: TryOnResult) -> dict[str, Any]:
    """The garment's named landmarks, in garment-photo and in person-photo pixels."""
    return {
        "coordinates": "pixels, x to the right, y down; _r / _l are the wearer's right / left",
        "garment_photo": points_json(result.garment.landmarks.as_dict()),
        **(
            {"person_photo": points_json(result.details.warped.landmarks.as_dict())}
            if isinstance(result.details, WarpDetails)
            else {}
        ),
    }


def points_json(points: Mapping[str, tuple[float, float]]) -> dict[str, list[float]]:
    return {name: [round(float(x), 2), round(float(y), 2)] for name, (x, y) in points.items()}


def summary_json(result: TryOnResult) -> dict[str, Any]:
    """What was run on what: category, garment source, sizes, warnings."""
    return {
        "category": result.category.value,
        "garment_category": result.garment.category.value,
        "garment_source": result.garment.source,
        "person_size": size_json(result.person),
        "garment_size": size_json(result.garment.image),
        "result_size": size_json(result.image),
        "other_people": result.body.other_people,
        "agnostic_fraction": round(float(result.agnostic_mask.mean()), 4),
        "warnings": list(result.warnings),
    }


def size_json(image: Image) -> dict[str, int]:
    return {"width": int(image.shape[1]), "height": int(image.shape[0])}


# --- writing -------------------------------------------------------------------------


def save_png(picture: PILImage.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def save_mask(mask: Mask, path: Path) -> Path:
    """Writes a mask as an 8-bit greyscale PNG, 255 inside and 0 outside."""
    return save_png(mask_image(mask), path)


def save_json(document: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
