"""Binary mask operations: drawing, morphology, components. Masks are (H, W) bool."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from tryon.types import Mask


def _bytes(mask: Mask) -> npt.NDArray[np.uint8]:
    """The mask as 0/1 bytes for OpenCV: a view when it is contiguous, else a copy."""
    if mask.dtype == np.bool_ and mask.flags.c_contiguous:
        return mask.view(np.uint8)
    return mask.astype(np.uint8)


def bounding_box(mask: Mask, pad: int = 0) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the mask's bounding box grown by ``pad`` and clipped to the
    image; None for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if len(rows) == 0:
        return None
    y0, y1 = max(0, rows[0] - pad), min(mask.shape[0], rows[-1] + pad + 1)
    x0, x1 = max(0, cols[0] - pad), min(mask.shape[1], cols[-1] + pad + 1)
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


# Up to this radius a kernel is faster than a distance transform.
_KERNEL_RADIUS = 5.0


def _disc(radius: float) -> npt.NDArray[np.uint8]:
    """Pixels whose centre lies within ``radius`` of the kernel's centre."""
    r = int(np.floor(radius))
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1]
    return (xs * xs + ys * ys <= radius * radius).astype(np.uint8)


def _distance_outside(mask: Mask, exact: bool = True) -> npt.NDArray[np.float32]:
    """Euclidean distance of every pixel to the nearest mask pixel (0 on the mask)."""
    kind = cv2.DIST_MASK_PRECISE if exact else cv2.DIST_MASK_5
    return cv2.distanceTransform(_bytes(~mask), cv2.DIST_L2, kind)


def dilate(mask: Mask, radius: float, exact: bool = True) -> Mask:
    """Grows ``mask`` by ``radius`` pixels (Euclidean); radius <= 0 returns a copy.

    Small radii use a disc-shaped kernel; larger ones a distance transform, whose cost
    does not grow with the radius. Both give exactly the pixels within ``radius``.
    With ``exact=False``, for margins that need no precision, large radii use a 5x5
    chamfer distance instead (within about 2% of the radius), and from
    ``_COARSE_RADIUS`` on it is measured at half resolution (within 2% plus two
    pixels, a quarter of the work); the mask itself is always kept.
    """
    if radius <= 0 or not mask.any():
        return mask.copy()
    if radius <= _KERNEL_RADIUS:
        return cv2.dilate(_bytes(mask), _disc(radius)).view(bool)
    # Only the mask's bounding box grown by the radius can change: work on that window.
    box = bounding_box(mask, int(np.ceil(radius)) + 2)
    assert box is not None  # the mask is not empty
    out = np.zeros_like(mask, dtype=bool)
    if not exact and radius >= _COARSE_RADIUS:
        out[box] = _dilate_coarse(mask[box], radius)
    else:
        out[box] = _distance_outside(mask[box], exact) <= radius
    return out


# From this radius, an inexact dilation is measured on a half-resolution copy.
_COARSE_RADIUS = 16.0


def _dilate_coarse(mask: Mask, radius: float) -> Mask:
    """Chamfer dilation on a copy pooled 2x2 (a cell is set when any of its pixels is)."""
    h, w = mask.shape
    # 255 for set pixels: the 2x2 average of one set pixel is then still above 0.
    pixels = mask.astype(np.uint8) * np.uint8(255)
    if h % 2 or w % 2:
        pixels = cv2.copyMakeBorder(pixels, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT, value=0)
    half = (pixels.shape[1] // 2, pixels.shape[0] // 2)
    pooled = cv2.resize(pixels, half, interpolation=cv2.INTER_AREA) > 0
    grown = (_distance_outside(pooled, exact=False) <= radius / 2).astype(np.uint8)
    full = cv2.resize(grown, (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_NEAREST)
    return (full[:h, :w] > 0) | mask


def paste(target: npt.NDArray[np.uint8], source: npt.NDArray[np.uint8], where: Mask) -> None:
    """Copies ``source`` into ``target`` (same shape, uint8, may be a view) at the pixels
    of ``where``, in place. An order of magnitude faster than ``np.copyto`` with a mask
    broadcast over the channels."""
    cv2.copyTo(source, where.view(np.uint8), target)


def erode(mask: Mask, radius: float) -> Mask:
    """Shrinks ``mask`` by ``radius`` pixels (Euclidean); radius <= 0 returns a copy."""
    if radius <= 0:
        return mask.copy()
    if mask.all():
        return mask.copy()
    return ~dilate(~mask, radius)


def close(mask: Mask, radius: float) -> Mask:
    """Morphological closing: fills gaps narrower than about 2 * radius."""
    return erode(dilate(mask, radius), radius)


def open_(mask: Mask, radius: float) -> Mask:
    """Morphological opening: removes specks and strands narrower than about 2 * radius."""
    return dilate(erode(mask, radius), radius)


def fill_holes(mask: Mask) -> Mask:
    """Fills every background region not connected to the image border."""
    out = mask.copy()
    box = bounding_box(mask)
    if box is None:
        return out
    # Only the mask's box can hold holes: every pixel outside it is background joined
    # to the border, so a pixel on the box's edge is too. The box gets a background
    # frame and is flooded from its corner.
    inner = mask[box]
    h, w = inner.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = inner
    cv2.floodFill(padded, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    out[box] |= padded[1:-1, 1:-1] == 0
    return out


class _Labelled(NamedTuple):
    """A mask's 8-connected components, labelled inside its bounding box only (most
    masks are a small part of the photo).

    Attributes:
        box: the mask's bounding box.
        labels: (box height, box width) int32, 0 for the background.
        total: how many labels, the background's included.
    """

    box: tuple[slice, slice]
    labels: npt.NDArray[np.int32]
    total: int


def _labelled_box(mask: Mask) -> _Labelled | None:
    """The mask's components (None for an empty mask)."""
    box = bounding_box(mask)
    if box is None:
        return None
    count, labels = cv2.connectedComponents(_bytes(mask[box]), connectivity=8)
    return _Labelled(box, labels, count)


def components(mask: Mask) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Labels 8-connected components; returns (labels, areas) with areas[0] the background."""
    labels = np.zeros(mask.shape, np.int32)
    labelled = _labelled_box(mask)
    if labelled is None:
        return labels, np.array([mask.size], np.int32)
    box, inner, count = labelled
    labels[box] = inner
    areas = np.bincount(inner.ravel(), minlength=count).astype(np.int32)
    areas[0] = mask.size - int(areas[1:].sum())
    return labels, areas


def _keep_labels(
    mask: Mask,
    labelled: _Labelled,
    keep: npt.NDArray[np.bool_],
) -> Mask:
    """The mask's pixels whose component label is set in ``keep`` (one bool per label)."""
    box, inner, _ = labelled
    out = np.zeros(mask.shape, bool)
    keep[0] = False
    out[box] = keep[inner]
    return out


def largest_component(mask: Mask) -> Mask:
    """Keeps only the largest 8-connected component (empty in, empty out)."""
    labelled = _labelled_box(mask)
    if labelled is None or labelled.total <= 1:
        return np.zeros_like(mask, bool)
    areas = np.bincount(labelled.labels.ravel(), minlength=labelled.total)
    keep = np.zeros(labelled.total, bool)
    keep[1 + int(np.argmax(areas[1:]))] = True
    return _keep_labels(mask, labelled, keep)


def component_at(mask: Mask, points: npt.ArrayLike) -> Mask:
    """Keeps the components of ``mask`` that contain any of the (N, 2) (x, y) points."""
    labelled = _labelled_box(mask)
    if labelled is None:
        return np.zeros_like(mask, bool)
    box, inner, count = labelled
    keep = np.zeros(count, bool)
    for x, y in np.asarray(points, np.float64).reshape(-1, 2):
        xi, yi = round(x), round(y)
        if box[1].start <= xi < box[1].stop and box[0].start <= yi < box[0].stop:
            keep[inner[yi - box[0].start, xi - box[1].start]] = True
    return _keep_labels(mask, labelled, keep)


def draw_polygon(shape: tuple[int, ...], polygon: npt.ArrayLike) -> Mask:
    """Rasterises a filled (N, 2) (x, y) polygon into a mask of ``shape`` (H, W)."""
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(polygon, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(canvas, [pts], 1)
    return canvas.view(bool)  # cv2 drew 0s and 1s: the bytes are valid bools


def draw_stroke(shape: tuple[int, ...], polyline: npt.ArrayLike, width: float) -> Mask:
    """Rasterises a polyline of the given width with round joints and caps."""
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(np.asarray(polyline, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    thickness = max(1, round(width))
    cv2.polylines(canvas, [pts], False, 1, thickness=thickness, lineType=cv2.LINE_8)
    for x, y in pts.reshape(-1, 2):
        cv2.circle(canvas, (int(x), int(y)), max(1, thickness // 2), 1, -1)
    return canvas.view(bool)  # cv2 drew 0s and 1s: the bytes are valid bools


def draw_tapered_stroke(
    shape: tuple[int, ...], polyline: npt.ArrayLike, widths: npt.ArrayLike
) -> Mask:
    """Rasterises a polyline whose width changes linearly from vertex to vertex (the
    union of the convex hulls of consecutive end discs), like a limb."""
    canvas = np.zeros(shape[:2], np.uint8)
    pts = np.asarray(polyline, np.float64).reshape(-1, 2)
    radii = np.maximum(np.asarray(widths, np.float64).reshape(-1) / 2, 0.5)
    circle = np.stack([np.cos(t := np.linspace(0, 2 * np.pi, 24, endpoint=False)), np.sin(t)], 1)
    discs = [p + r * circle for p, r in zip(pts, radii, strict=True)]
    for a, b in zip(discs, discs[1:] or discs, strict=False):
        hull = cv2.convexHull(np.vstack([a, b]).astype(np.float32))
        cv2.fillConvexPoly(canvas, np.round(hull).astype(np.int32), 1)
    return canvas.view(bool)  # cv2 drew 0s and 1s: the bytes are valid bools


def draw_ellipse(
    shape: tuple[int, ...], centre: npt.ArrayLike, axes: tuple[float, float], angle_deg: float
) -> Mask:
    """Rasterises a filled ellipse with semi-axes ``axes`` rotated by ``angle_deg``."""
    canvas = np.zeros(shape, np.uint8)
    cx, cy = np.asarray(centre, np.float64)
    cv2.ellipse(
        canvas,
        (round(cx), round(cy)),
        (max(1, round(axes[0])), max(1, round(axes[1]))),
        angle_deg,
        0,
        360,
        1,
        -1,
    )
    return canvas.view(bool)  # cv2 drew 0s and 1s: the bytes are valid bools


def half_plane(shape: tuple[int, ...], origin: npt.ArrayLike, normal: npt.ArrayLike) -> Mask:
    """Pixels p with (p - origin) . normal > 0, for a unit ``normal``."""
    o = np.asarray(origin, np.float64)
    n = np.asarray(normal, np.float64)
    along = np.array([-n[1], n[0]])
    big = 4.0 * (shape[0] + shape[1]) + float(np.abs(o).sum())
    return draw_polygon(
        shape,
        [o + along * big, o + along * big + n * big, o - along * big + n * big, o - along * big],
    )


def inner_ramp(mask: Mask, width: float) -> npt.NDArray[np.float32]:
    """Returns a weight that is 0 outside ``mask``, rising to 1 at ``width`` pixels inside.

    Used to blend seams so that nothing outside the mask changes.
    """
    if width <= 0:
        return mask.astype(np.float32)
    dist = cv2.distanceTransform(_bytes(mask), cv2.DIST_L2, 3)
    return np.clip(dist / width, 0.0, 1.0).astype(np.float32)


def components_touching(mask: Mask, seeds: Mask) -> Mask:
    """Keeps the 8-connected components of ``mask`` that share a pixel with ``seeds``."""
    labelled = _labelled_box(mask)
    if labelled is None:
        return np.zeros(mask.shape, bool)
    box, inner, count = labelled
    keep = np.zeros(count, bool)
    keep[inner[seeds[box] & mask[box]]] = True
    return _keep_labels(mask, labelled, keep)
