"""Labels sewn inside the back of the neck, seen through a top's front neckline.

A product photo of a top, front up, shows the inside of the back through the neckline,
and on it the brand label (and often a size tag). Worn, the wearer's neck hides them; a
warp that keeps them puts a white rectangle under the chin. They are found as what a
label is: a flat-coloured rectangle, upright, with a crisp edge all round (a maximally
stable extremal region that fills its bounding rectangle), standing out from the cloth
around it, high in the neckline near the centre. A print's motifs are rarely all of
that at once (they are textured, tilted, sloped, or thin lines), and a print repeats
them: more than two such shapes are taken for a print. A motif taken for a label costs
a few pixels of print under the chin, never a visible defect.

The analysis records where they are (``GarmentAnalysis.neck_labels``) and leaves the
photo as it is: the warp paints them over from the cloth around them
(``ops.inpaint.inpaint_boxes``), the diffusion engines take the photo their models were
trained on.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.types import Box, GarmentLandmarks, Image, Mask

LABEL_WINDOW = (0.15, 0.2)
"""Where a label can be: up to this fraction of the garment's shoulder width to either
side of the neckline's centre, and below the neckline's top."""
LABEL_SIDE = (0.015, 0.2)
"""A label's shorter side is at least, and its longer side at most, this fraction of the
shoulder width."""
MIN_LABEL_PX = 7.0
"""And at least this many pixels: below it a print's dot is as flat and as square (and a
label that small hardly shows on the person)."""
MIN_FILL = 0.8
"""A label fills at least this fraction of its tightest rectangle (an ellipse, pi / 4)."""
MAX_TILT = 12.0
"""Degrees a label's rectangle may be turned from upright."""
MIN_CONTRAST = 18.0
"""Grey levels (of 255) between a label's median and the cloth just around it."""
MAX_SPREAD = 0.3
"""A label's own grey-level spread is at most this fraction of its contrast (flat)."""
MIN_EDGE = 0.5
"""The steepest grey-level step across a label's edge (median along it, per pixel) is at
least this fraction of its contrast: a sewn edge is a step, a print's blob a slope."""
MAX_LABELS = 2
"""A brand label and a size tag: more label-like shapes than this are a print's motifs."""
_SQUARE = np.ones((3, 3), np.uint8)
_MARGIN = 3  # pixels hidden around a found label: its stitched edge and shadow


def find_neck_labels(image: Image, mask: Mask, landmarks: GarmentLandmarks) -> tuple[Box, ...]:
    """The labels inside the back of a top's neck.

    Args:
        image: (H, W, 3) RGB uint8 product photo of a top, front up.
        mask: (H, W) bool garment pixels.
        landmarks: the top's landmarks (neckline and shoulders, in ``image`` pixels).

    Returns:
        Each label's box (x0, y0, x1, y1), exclusive ends, in ``image`` pixels, with a
        small margin; none when the top has no neckline and shoulders, or no label shows.
    """
    if None in (landmarks.neckline, landmarks.shoulder_r, landmarks.shoulder_l):
        return ()
    assert landmarks.neckline and landmarks.shoulder_r and landmarks.shoulder_l
    span = abs(landmarks.shoulder_l[0] - landmarks.shoulder_r[0])
    cx, top = landmarks.neckline
    h, w = mask.shape
    x0, x1 = max(0, int(cx - LABEL_WINDOW[0] * span)), min(w, int(cx + LABEL_WINDOW[0] * span))
    y0, y1 = max(0, int(top)), min(h, int(top + LABEL_WINDOW[1] * span))
    shortest, longest = max(LABEL_SIDE[0] * span, MIN_LABEL_PX), LABEL_SIDE[1] * span
    if x1 - x0 < 3 * shortest or y1 - y0 < 3 * shortest:
        return ()
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    # Away from the garment's outline: a label is sewn on the cloth, inside it.
    inside = cv2.erode(mask[y0:y1, x0:x1].astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    steepness = _steepness(grey)
    regions, _ = cv2.MSER_create(
        delta=3,
        min_area=max(int(shortest**2), 16),
        max_area=int(longest * 0.5 * longest),
        max_variation=1.0,
    ).detectRegions(grey)
    found: list[Box] = []
    for points in regions:
        box = _label_box(grey, steepness, inside, points, shortest, longest)
        if box is not None and not any(_overlaps(box, other) for other in found):
            found.append(box)
    if len(found) > MAX_LABELS:
        return ()
    return tuple(
        (
            max(0, bx0 + x0 - _MARGIN),
            max(0, by0 + y0 - _MARGIN),
            min(w, bx1 + x0 + _MARGIN),
            min(h, by1 + y0 + _MARGIN),
        )
        for bx0, by0, bx1, by1 in found
    )


def _label_box(
    grey: np.ndarray,
    steepness: np.ndarray,
    inside: Mask,
    points: np.ndarray,
    shortest: float,
    longest: float,
) -> Box | None:
    """The region's box when it looks like a label (see the module's notes), else None."""
    if not inside[points[:, 1], points[:, 0]].all():
        return None
    (_, _), (rw, rh), angle = cv2.minAreaRect(points.astype(np.float32))
    if min(rw, rh) < shortest or max(rw, rh) > longest:
        return None
    if len(points) < MIN_FILL * rw * rh or min(angle % 90, 90 - angle % 90) > MAX_TILT:
        return None
    region = np.zeros(grey.shape, np.uint8)
    region[points[:, 1], points[:, 0]] = 1
    ring = cv2.dilate(region, np.ones((7, 7), np.uint8)) > cv2.dilate(
        region, np.ones((3, 3), np.uint8)
    )
    label, cloth = grey[region > 0].astype(np.float32), grey[ring].astype(np.float32)
    contrast = abs(float(np.median(label)) - float(np.median(cloth)))
    if contrast < MIN_CONTRAST or float(label.std()) > MAX_SPREAD * contrast:
        return None
    edge = (cv2.dilate(region, _SQUARE) > 0) & (cv2.erode(region, _SQUARE) == 0)
    if float(np.median(steepness[edge])) < MIN_EDGE * contrast:
        return None
    x, y, bw, bh = cv2.boundingRect(points)
    return (x, y, x + bw, y + bh)


def _steepness(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32: the steepest grey-level slope within a pixel of each pixel, grey
    levels per pixel."""
    g = grey.astype(np.float32)
    slope = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) / 8
    return cv2.dilate(slope, _SQUARE)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
