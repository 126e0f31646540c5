"""The head mask: face plus hair, ears and beard (never repainted)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tryon.body.frame import chin_y, head_size
from tryon.ops import masks as M
from tryon.ops.color import LabColour, LabColours, colour_clusters, nearest_distance, rgb_to_lab
from tryon.types import BodyKeypoints, Image, Joint, Mask


def head_mask(
    image: Image,
    kp: BodyKeypoints,
    person: Mask,
    face: Mask,
    skin_lab: LabColour,
    clothes: LabColours,
) -> Mask:
    """Face plus hair, ears and beard.

    The person's pixels above the chin over the face's width, hair-coloured pixels
    joined to them below the chin (long hair over the shoulders), and a beard below the
    chin (see ``_beard``; ``clothes``: the colours of the clothes on the chest).
    """
    h, w = person.shape
    size = head_size(kp)
    nose = kp.joint(Joint.NOSE)
    chin = chin_y(kp, face)
    cols = np.flatnonzero(face.any(0))
    left, right = (cols[0], cols[-1]) if len(cols) else (nose[0] - 0.5 * size, nose[0] + 0.5 * size)
    # Work in a box around the head: the rest of the photo cannot be hair.
    x0, x1 = int(max(0, nose[0] - 2.5 * size)), int(min(w, nose[0] + 2.5 * size))
    y1 = int(min(h, chin + 2.2 * size))
    if x1 <= x0 or y1 <= 0:
        return face.copy()
    crop = image[:y1, x0:x1]
    box_person, box_face = person[:y1, x0:x1], face[:y1, x0:x1]
    xs, ys = np.arange(x0, x1), np.arange(y1)[:, None]
    over_face = (xs >= left - 0.35 * size) & (xs <= right + 0.35 * size)
    above_chin = box_person & over_face & (ys <= chin)
    head = above_chin | box_face
    hair_zone = above_chin & ~M.dilate(box_face, 0.05 * size)
    if hair_zone.sum() > 0.15 * max(box_face.sum(), 1):
        hair_lab = np.median(rgb_to_lab(crop[hair_zone]), axis=0)
        skin = np.median(rgb_to_lab(crop[box_face]), axis=0) if box_face.any() else hair_lab
        contrast = float(np.linalg.norm(hair_lab - skin))
        if contrast > 12:
            below = box_person & (ys > chin)
            hairlike = np.zeros_like(below)
            to_hair = nearest_distance(rgb_to_lab(crop[below]), hair_lab[None])
            hairlike[below] = to_hair < 0.5 * contrast
            hair = M.open_(hairlike, 0.03 * size)
            head |= M.component_at(hair | head, [nose - (x0, 0)]) & hair
    head |= _beard(crop, box_face, box_person & (ys > chin), size, skin_lab, clothes)
    out = np.zeros((h, w), bool)
    out[:y1, x0:x1] = M.close(head, 0.05 * size)
    return (out & (person | face)) | face


def _hue_distance(lab: LabColours, colours: LabColours) -> npt.NDArray[np.float32]:
    """``nearest_distance`` with lightness at half weight: shade changes L* far more
    than a* and b*."""
    return nearest_distance(lab, colours, lightness_weight=0.5)


def clothes_colours(
    image: Image, kp: BodyKeypoints, person: Mask, face: Mask, skin_lab: LabColour
) -> LabColours:
    """Up to three CIELAB colour clusters of the clothes on the chest, just under the
    neck (none near the skin's colour: an open neckline shows skin there)."""
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    sw = float(np.linalg.norm(ls - rs))
    neck = (rs + ls) / 2
    h, w = person.shape
    y0, y1 = int(max(0, neck[1] + 0.1 * sw)), int(min(h, neck[1] + 0.45 * sw))
    x0, x1 = int(max(0, neck[0] - 0.3 * sw)), int(min(w, neck[0] + 0.3 * sw))
    if y1 - y0 < 4 or x1 - x0 < 4:
        return np.zeros((0, 3), np.float32)
    chest = person[y0:y1, x0:x1] & ~M.dilate(face[y0:y1, x0:x1], 0.05 * sw)
    pixels = image[y0:y1, x0:x1][chest]
    if len(pixels) < 50:
        return np.zeros((0, 3), np.float32)
    samples = rgb_to_lab(pixels[:: max(1, len(pixels) // 2000)])
    k = min(3, len(samples))
    centres, labels = colour_clusters(samples, k)
    share = np.bincount(labels, minlength=k) / len(samples)
    keep = (share >= 0.15) & (_hue_distance(centres, skin_lab[None]) > 10)
    return centres[keep]


def _beard(
    crop: Image,
    face: Mask,
    below_chin: Mask,
    size: float,
    skin_lab: LabColour,
    clothes: LabColours,
) -> Mask:
    """A beard below the chin: pixels there coloured like the lower face where it is
    not skin, joined to the face, within half a head of the chin. Nothing when the lower
    face is mostly skin, or the beard has the clothes' colour (no telling them apart)."""
    out = np.zeros_like(face)
    rows = np.flatnonzero(face.any(1))
    cols = np.flatnonzero(face.any(0))
    if len(rows) < 8 or not below_chin.any():
        return out
    top, bottom = rows[0], rows[-1]
    lower = face.copy()
    lower[: int(top + 0.7 * (bottom - top))] = False
    lab = rgb_to_lab(crop[lower])
    far = _hue_distance(lab, skin_lab[None]) > 18
    if far.mean() < 0.3:
        return out
    beard_lab = np.median(lab[far], axis=0).astype(np.float32)
    contrast = float(_hue_distance(beard_lab[None], skin_lab[None])[0])
    if len(clothes) and _hue_distance(beard_lab[None], clothes)[0] < 0.5 * contrast:
        return out
    zone = below_chin.copy()
    zone[int(bottom + 0.5 * size) :] = False
    zone[:, : cols[0]] = False
    zone[:, cols[-1] + 1 :] = False
    zone_lab = rgb_to_lab(crop[zone])
    out[zone] = _hue_distance(zone_lab, beard_lab[None]) < 0.5 * contrast
    out = M.open_(out, 0.02 * size)
    return M.components_touching(out | face, face) & out
