"""Which pixels inside the agnostic mask show the garment being replaced.

The agnostic mask is generous: for a top it reaches below the hips into the trousers,
for trousers up into the top. Pixels there that the new garment leaves uncovered must
keep showing that other garment; only the old garment's own pixels are filled. With no
clothing parser, the two are told apart by colour: a few colour clusters of each,
sampled where there is no doubt (the chest for a top, the thighs for trousers); a
pixel belongs to the other garment when it is clearly nearer to the other garment's
colours and joined to that garment outside the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.frame import BodyFrame, body_frame
from tryon.body.skin import near_skin
from tryon.ops import masks as M
from tryon.ops.color import LabColours, colour_clusters, nearest_distance, rgb_to_lab
from tryon.types import BodyAnalysis, Category, Image, Joint, Mask


@dataclass(frozen=True)
class OldGarmentConfig:
    """Colour test between the old garment and its neighbour.

    Attributes:
        clusters: colour clusters per garment.
        margin: a pixel must be this much nearer (CIELAB Delta E) to the other garment.
        reach: and at most this far from one of its colours.
        samples: most pixels sampled per garment to find its colours.
    """

    clusters: int = 3
    margin: float = 6.0
    reach: float = 16.0
    samples: int = 3000


@dataclass(frozen=True)
class OldGarment:
    """The garment being replaced, as seen in the photo.

    Attributes:
        mask: (H, W) bool, its pixels inside the agnostic mask.
        colours: (K, 3) float32 CIELAB colour clusters (empty when not measured).
        person_area: (H, W) bool, the person mask grown by a few pixels: the model's
            mask edge can fall inside the clothing's.
        neighbour: (H, W) bool, the pixels of the garment next to it (the trousers
            under a top, the top over trousers), inside the mask or out; None when
            not found.
        neighbour_reach: (H, W) bool, where that neighbour would go on showing when
            the new garment is shorter than the old one (over the hips, between the
            body's sides); None when not found.
    """

    mask: Mask
    colours: LabColours
    person_area: Mask
    neighbour: Mask | None = None
    neighbour_reach: Mask | None = None


def find_old_garment(
    person: Image,
    body: BodyAnalysis,
    agnostic: Mask,
    category: Category,
    cfg: OldGarmentConfig | None = None,
) -> OldGarment:
    """Separates the old garment from the other clothes inside the agnostic mask.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        agnostic: (H, W) bool, the pixels the try-on may change.
        category: the category being replaced.

    Returns:
        The old garment's pixels and colours. For a dress (``overall``) everything of the
        person inside the mask is the old garment.
    """
    cfg = cfg or OldGarmentConfig()
    # The person mask comes from a 256 px model: its edge can fall a few pixels inside
    # the garment's, and that rim would stay as a dark or light outline.
    rim = max(2.0, 1.5 * max(agnostic.shape) / 512)
    person_area = M.dilate(body.person_mask, rim)
    inside = agnostic & person_area
    frame = body_frame(body.keypoints)
    chest = _chest(body, frame)
    thighs = _thighs(body, frame)
    own_zone, other_zone = (thighs, chest) if category is Category.LOWER else (chest, thighs)
    own = _colours(person, inside & own_zone, cfg)
    if category is Category.OVERALL or len(own) == 0:
        return OldGarment(inside, own, person_area)
    keep_out = body.head_mask | body.hands_mask
    other_region = body.person_mask & ~agnostic & ~keep_out & other_zone
    other = _colours(person, other_region, cfg)
    if len(other) == 0:
        return OldGarment(inside, own, person_area)
    # The garments meet around the hips: only there can the other one be inside the mask.
    reach = _hips(body, frame, category) & person_area
    candidates = inside & reach
    # Decided on every other row and column (the opening below removes anything finer
    # anyway), then spread back to full resolution.
    sparse = candidates[::2, ::2]
    lab = rgb_to_lab(person[::2, ::2][sparse])
    d_own = nearest_distance(lab, own)
    d_other = nearest_distance(lab, other)
    decided = np.zeros_like(sparse)
    decided[sparse] = (d_other + cfg.margin < d_own) & (d_other < cfg.reach)
    h, w = inside.shape
    spread = cv2.resize(
        decided.view(np.uint8),
        (2 * decided.shape[1], 2 * decided.shape[0]),
        interpolation=cv2.INTER_NEAREST,
    )
    looks_other = spread[:h, :w].view(bool) & candidates
    looks_other = M.open_(looks_other, 1.5)
    # Only what continues the other garment from outside the mask: a patch of similar
    # colour in the middle of the old garment (a print, a pocket) stays old garment.
    joined = M.components_touching(looks_other | other_region, other_region) & looks_other
    # The neighbour is all of the person outside the mask (where the two garments meet,
    # that is the other garment) plus what continues it inside.
    neighbour = (body.person_mask & ~agnostic & ~keep_out) | joined
    return OldGarment(inside & ~joined, own, person_area, neighbour, reach)


def _colours(person: Image, region: Mask, cfg: OldGarmentConfig) -> LabColours:
    """K-means colour clusters of ``region`` (empty when it has too few pixels)."""
    count = int(np.count_nonzero(region))
    if count < 50:
        return np.zeros((0, 3), np.float32)
    # Sample on a sparse grid first: indexing the whole photo by a mask is the slow part.
    stride = max(1, int(np.sqrt(count / cfg.samples)))
    pixels = person[::stride, ::stride][region[::stride, ::stride]]
    if len(pixels) < 10:
        pixels = person[region]
    lab = rgb_to_lab(pixels).astype(np.float32)
    return colour_clusters(lab, min(cfg.clusters, len(lab)))[0]


def _chest(body: BodyAnalysis, frame: BodyFrame) -> Mask:
    """The middle of the torso, between the shoulders and the hips, away from the arms."""
    kp = body.keypoints
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    half = (ls - rs) * 0.3
    top = frame.neck + frame.down * 0.2 * frame.torso_length
    bottom = frame.neck + frame.down * 0.8 * frame.torso_length
    return M.draw_polygon(
        body.person_mask.shape, [top - half, top + half, bottom + half, bottom - half]
    )


def _thighs(body: BodyAnalysis, frame: BodyFrame) -> Mask:
    """Both thighs, from a little below the hips to above the knees."""
    kp = body.keypoints
    out = np.zeros(body.person_mask.shape, bool)
    for hip_j, knee_j in ((Joint.R_HIP, Joint.R_KNEE), (Joint.L_HIP, Joint.L_KNEE)):
        hip, knee = kp.joint(hip_j), kp.joint(knee_j)
        start = hip + (knee - hip) * 0.2
        end = hip + (knee - hip) * 0.7
        out |= M.draw_stroke(out.shape, [start, end], 4 * frame.r)
    return out


def _hips(body: BodyAnalysis, frame: BodyFrame, category: Category) -> Mask:
    """The band around the hips where a top and trousers meet: below the waist for a
    top (the trousers' waistband shows under a short top), above it for trousers (a
    long top hangs over a low waistband)."""
    kp = body.keypoints
    rh, lh = kp.joint(Joint.R_HIP), kp.joint(Joint.L_HIP)
    # Hip joints sit well inside the hips' outline.
    half = (lh - rh) * 0.8
    length = frame.torso_length
    if category is Category.LOWER:
        top, bottom = frame.hip_mid - frame.down * 0.7 * length, frame.hip_mid
    else:
        top, bottom = (
            frame.hip_mid - frame.down * 0.35 * length,
            frame.hip_mid + frame.down * 0.4 * length,
        )
    corners = [top - half, top + half, bottom + half, bottom - half]
    return M.draw_polygon(body.person_mask.shape, corners)


def skin_pixels(
    person: Image,
    skin_lab: npt.NDArray[np.float32],
    where: Mask,
    garment_colours: LabColours,
    by_part: bool = False,
) -> Mask:
    """Pixels of ``where`` that show skin: near the face's colour, and nearer to it than
    to any colour of the garment (a beige sleeve is not an arm).

    Args:
        person: (H, W, 3) RGB uint8 photo.
        skin_lab: (3,) CIELAB colour of the person's skin.
        where: (H, W) bool, the pixels to test.
        garment_colours: (K, 3) CIELAB colours of the garment (may be empty).
        by_part: decide per connected part of ``where`` (see ``mostly_bare_parts``).
    """
    bare = looks_like_skin(person, skin_lab, where, garment_colours)
    return mostly_bare_parts(bare, where) if by_part else bare


def looks_like_skin(
    person: Image, skin_lab: npt.NDArray[np.float32], where: Mask, garment_colours: LabColours
) -> Mask:
    """``skin_pixels`` pixel by pixel: each pixel's answer depends on its colour only."""
    out = np.zeros_like(where)
    box = M.bounding_box(where)
    if box is None:
        return out
    # Everything below looks only at the box around ``where``.
    inside = where[box]
    lab = rgb_to_lab(person[box][inside])
    bare = near_skin(lab, skin_lab, chroma=12, lightness=30)
    if bare.any() and len(garment_colours):
        near = lab[bare]
        bare[bare] = nearest_distance(near, skin_lab[None, :]) < nearest_distance(
            near, garment_colours
        )
    out[box][inside] = bare
    return out


def mostly_bare_parts(bare: Mask, where: Mask) -> Mask:
    """``bare`` kept only in the connected parts of ``where`` (an arm, the neck) that are
    at least half bare, so a sleeve's few skin-coloured folds do not make it an arm."""
    out = np.zeros_like(where)
    box = M.bounding_box(where)
    if box is None:
        return out
    labels, areas = M.components(where[box])
    inside_bare = bare[box] & where[box]
    bare_areas = np.bincount(labels[inside_bare], minlength=len(areas))
    mostly_bare = bare_areas >= 0.5 * areas
    mostly_bare[0] = False
    out[box] = inside_bare & mostly_bare[labels]
    return out
