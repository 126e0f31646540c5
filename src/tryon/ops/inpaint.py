"""Inpainting scenery: a smooth fill that continues gradients, plus the surroundings'
texture carried into the hole.

A plain smooth fill (``push_pull_fill``) continues the colours at a hole's edge flatly:
a backdrop that brightens towards the hole (a studio glow) leaves a plateau the shape of
the hole, and gravel, leaves or a wall's grain become a flat patch. Here the smooth part
is a quadratic trend fitted to the known pixels (which carries a glow or a vignette
across the hole; used where it fits the scenery) plus the push-pull fill of what the
trend leaves, and the texture is
the known pixels' fine detail reflected into the hole across its nearest edge.

OpenCV's patch-based ``xphoto.inpaint`` (shift-map, FSR) copies texture too, but takes
seconds on a person-sized hole even at a quarter of the resolution; this is linear in
the pixels and takes milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.ops.fill import check_known, push_pull_fill, push_pull_fill_float
from tryon.ops.masks import bounding_box
from tryon.types import Box, FloatImage, Image, Mask

# The quadratic trend is used in full up to this RMS misfit (grey levels) on the known
# pixels, not at all beyond the next: studio sweeps and plain walls fit within 2-10,
# rooms and outdoor scenes leave 30-50.
_TIGHT_FIT = 10.0
_LOOSE_FIT = 20.0
# Detail beyond this many robust deviations (1.4826 * MAD) of the known detail is an
# outlier (a hair strand, an edge the person mask missed) and is clipped, not copied.
_DETAIL_SPREAD = 3.0
# The finest texture carried into a painted-over box (a weave, a print's line), pixels.
_BOX_GRAIN_SIGMA = 2.0


def trend_fill(image: Image, known: Mask, *, step: int = 2) -> FloatImage:
    """A smooth fill of the pixels outside ``known`` that continues their gradients.

    A quadratic polynomial in x and y is fitted to the known pixels of each channel
    (least squares, on every ``step``-th row and column) and clipped to the range of the
    known values; what it leaves over (the residual) is filled by pull-push and added
    back. A linear or quadratic backdrop is continued exactly. The trend is faded out
    where it fits the known pixels poorly (RMS misfit from 10 to 20 grey levels), so a
    scene of several surfaces (a wall next to a floor) is continued as
    ``push_pull_fill`` continues it.

    Args:
        image: (H, W, C) uint8.
        known: (H, W) bool, the pixels to fill from; must not be empty.
        step: sampling stride of the fit, in pixels.

    Returns:
        (H, W, C) float32 in [0, 255], equal to ``image`` on ``known``.

    Raises:
        ValueError: ``known`` is empty or its shape differs from the image's.
    """
    check_known(image, known)
    values = image.astype(np.float32)
    trend, misfit = _quadratic_trend(values, known, step)
    # A backdrop the quadratic describes (a studio sweep, a wall) is continued as one;
    # a scene it does not (a wall above a floor, trees above gravel) would take a blend
    # of its colours deep in the hole: there each row's own scenery is continued across
    # it instead (a floor stays floor beside the legs, a wall stays wall).
    fit = np.float32(np.clip((_LOOSE_FIT - misfit) / (_LOOSE_FIT - _TIGHT_FIT), 0.0, 1.0))
    rest = values - trend * fit
    smooth = push_pull_fill_float(rest, known)
    if fit < 1.0:
        across = scanline_fill(rest, known)
        found = np.isfinite(across[..., 0])
        smooth[found] = fit * smooth[found] + (1 - fit) * across[found]
    filled = trend * fit + smooth
    return np.clip(filled, 0.0, 255.0, out=filled)


def scanline_fill(values: FloatImage, known: Mask, *, sigma: float = 2.0) -> FloatImage:
    """Each row's unknown pixels interpolated between the nearest known pixels to their
    left and right on that row (copied from the one side where only one exists), from
    the known values smoothed along the columns first (one noisy pixel at a hole's edge
    would streak the row otherwise).

    Args:
        values: (H, W, C) float32.
        known: (H, W) bool.
        sigma: vertical smoothing of the known values, pixels.

    Returns:
        (H, W, C) float32: ``values`` on ``known``, NaN in rows with no known pixel.
    """
    h, w = known.shape
    weight = known.astype(np.float32)
    # Normalised vertical blur: only known pixels contribute.
    kernel = (1, max(3, 2 * round(3 * sigma) + 1))
    seen = cv2.GaussianBlur(weight, kernel, 0, sigmaY=sigma)
    summed = cv2.GaussianBlur(values * weight[..., None], kernel, 0, sigmaY=sigma)
    summed = summed.reshape(values.shape)  # OpenCV drops a single channel's axis
    source = summed / np.maximum(seen, 1e-6)[..., None]
    cols = np.arange(w)
    left = np.maximum.accumulate(np.where(known, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(known, cols, w)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(h)[:, None]
    left_value = source[rows, np.clip(left, 0, w - 1)]
    right_value = source[rows, np.clip(right, 0, w - 1)]
    has_left, has_right = left >= 0, right < w
    share = np.where(
        has_left & has_right,
        (cols - left) / np.maximum(right - left, 1),
        np.where(has_right, 1.0, 0.0),
    ).astype(np.float32)[..., None]
    out = left_value + share * (right_value - left_value)
    out[~(has_left | has_right)] = np.nan
    out[known] = values[known]
    return out.astype(np.float32)


def _quadratic_trend(values: FloatImage, known: Mask, step: int) -> tuple[FloatImage, float]:
    """(H, W, C) float32, the per-channel quadratic fitted to ``values`` on ``known``,
    and the root mean square of what it leaves over there."""
    h, w = known.shape
    ys, xs = np.nonzero(known[::step, ::step])
    if len(ys) == 0:
        ys, xs = np.nonzero(known)
        step = 1
    samples = values[ys * step, xs * step].astype(np.float64)
    scale = float(max(h, w))

    y, x = (ys * float(step) - h / 2) / scale, (xs * float(step) - w / 2) / scale
    a = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)
    # A tiny ridge keeps the fit defined when the samples lie on a line or a point.
    coef = np.linalg.solve(a.T @ a + 1e-6 * np.eye(6), a.T @ samples)
    misfit = float(np.sqrt(np.mean((a @ coef - samples) ** 2)))
    coef = coef.astype(np.float32)
    col = ((np.arange(w, dtype=np.float32) - w / 2) / scale)[None, :]
    row = ((np.arange(h, dtype=np.float32) - h / 2) / scale)[:, None]
    low, high = samples.min(0), samples.max(0)
    channels = []
    for c in range(values.shape[2]):
        c0, cx, cy, cxx, cxy, cyy = coef[:, c]
        # Separable: a row term, a column term and the cross term.
        plane = (c0 + cy * row + cyy * row * row) + (cx + cxy * row) * col + cxx * col * col
        # Outside the known pixels' span the quadratic only extrapolates: keep it
        # within the colours it was fitted to.
        channels.append(np.clip(plane, low[c], high[c]))
    return np.asarray(cv2.merge(channels), np.float32), misfit


def fine_detail(image: Image, known: Mask, sigma: float) -> FloatImage:
    """The known pixels' detail finer than ``sigma``: each minus the Gaussian mean of the
    known pixels around it (unknown ones take no part), outliers clipped.

    Args:
        image: (H, W, C) uint8.
        known: (H, W) bool.
        sigma: Gaussian standard deviation, pixels.

    Returns:
        (H, W, C) float32, 0 outside ``known``; clipped to three robust deviations of
        its values on ``known`` (the channels' mean).
    """
    mask = known.astype(np.uint8)
    # Blurred as uint8 (several times faster than float32; the rounding is far below
    # any texture worth carrying), the known pixels only, then normalised by how many
    # known pixels each mean saw.
    mean = cv2.GaussianBlur(cv2.bitwise_and(image, image, mask=mask), (0, 0), sigma)
    seen = cv2.GaussianBlur(mask * np.uint8(255), (0, 0), sigma)
    # Same-shape arithmetic: broadcasting a trailing axis of 3 is several times slower.
    inverse = np.float32(255) / np.maximum(seen.astype(np.float32), 1.0)
    inverse = cv2.merge([inverse] * image.shape[2])
    detail = image.astype(np.float32) - cv2.multiply(mean.astype(np.float32), inverse)
    out = np.zeros_like(detail)
    cv2.copyTo(detail, mask, out)
    # The spread from every fourth row and column: the same figure, far less work.
    sample = out[::4, ::4][known[::4, ::4]]
    if len(sample) == 0:
        return out
    # One limit for all channels (their mean): a scalar clip is several times faster.
    limit = float(_DETAIL_SPREAD * 1.4826 * np.median(np.abs(sample), axis=0).mean())
    return np.clip(out, -limit, limit, out=out)


def reflect_texture(detail: FloatImage, known: Mask, targets: Mask, period: int) -> FloatImage:
    """Carries ``detail`` into ``targets`` by reflecting across the nearest known pixel.

    A target pixel at distance d from its nearest known pixel n takes the detail at n
    plus s along the same direction, away from the hole, where s runs 0..period..0 as d
    grows (a reflection that folds back every ``period`` pixels, so deep pixels still
    take detail from near the edge). Stripes and trunks across the edge carry on;
    where the reflected pixel is not known, the detail is 0.

    Args:
        detail: (H, W, C) float32, e.g. from ``fine_detail``.
        known: (H, W) bool, where ``detail`` may be taken from.
        targets: (H, W) bool, where it is wanted (known targets keep their own).
        period: fold length, pixels, >= 1.

    Returns:
        (H, W, C) float32, the carried detail on ``targets``, 0 elsewhere.

    Raises:
        ValueError: ``period`` < 1 or the shapes differ.
    """
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    if known.shape != targets.shape or known.shape != detail.shape[:2]:
        raise ValueError(f"shapes differ: {detail.shape}, {known.shape}, {targets.shape}")
    out = np.zeros_like(detail)
    box = bounding_box(targets & ~known)
    if not known.any() or box is None:
        cv2.copyTo(detail, targets.view(np.uint8), out)
        return out
    w = known.shape[1]
    _, labels = cv2.distanceTransformWithLabels(
        (~known).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # DIST_LABEL_PIXEL numbers every zero (known) pixel: where each number is.
    where_known = np.flatnonzero(known)
    number = labels.ravel()[where_known]
    known_y = np.zeros(int(number.max()) + 1, np.float32)
    known_x = np.zeros_like(known_y)
    known_y[number], known_x[number] = where_known // w, where_known % w
    nearest = labels[box]
    ny, nx = known_y[nearest], known_x[nearest]
    dy = ny - np.arange(box[0].start, box[0].stop, dtype=np.float32)[:, None]
    dx = nx - np.arange(box[1].start, box[1].stop, dtype=np.float32)[None, :]
    d = np.maximum(cv2.magnitude(dx, dy), 1e-6)
    folded = d - (2 * period) * np.floor(d / (2 * period))
    step = np.minimum(folded, 2 * period - folded) / d
    # Known detail only; a reflection that lands off it (the person, outside) takes 0.
    source = np.zeros_like(detail)
    cv2.copyTo(detail, known.view(np.uint8), source)
    carried = cv2.remap(
        source, nx + dx * step, ny + dy * step, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
    )
    cv2.copyTo(carried, (targets[box] & ~known[box]).view(np.uint8), out[box])
    cv2.copyTo(detail, (targets & known).view(np.uint8), out)
    return out


def inpaint_boxes(image: Image, known: Mask, boxes: tuple[Box, ...]) -> Image:
    """Paints each box over from the known pixels around it (within half the box's
    longer side): their smooth continuation (``push_pull_fill``) plus their fine detail
    reflected in across the nearest edge (``reflect_texture``, folding every half
    shorter side).

    Args:
        image: (H, W, 3) uint8.
        known: (H, W) bool, the pixels a box may be painted from (a box's own pixels
            never are).
        boxes: (x0, y0, x1, y1) pixel boxes, ends exclusive.

    Returns:
        A copy of ``image`` with the boxes painted over (``image`` itself when there is
        no box); a box with no known pixel near it is left as it is.
    """
    if not boxes:
        return image
    out = image.copy()
    h, w = image.shape[:2]
    for x0, y0, x1, y1 in boxes:
        pad = max(x1 - x0, y1 - y0) // 2 + 4
        wx0, wy0, wx1, wy1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
        window = out[wy0:wy1, wx0:wx1]
        hole = np.zeros((wy1 - wy0, wx1 - wx0), bool)
        hole[max(0, y0 - wy0) : y1 - wy0, max(0, x0 - wx0) : x1 - wx0] = True
        source = known[wy0:wy1, wx0:wx1] & ~hole
        if not source.any() or not hole.any():
            continue
        filled = push_pull_fill(window, source).astype(np.float32)
        detail = fine_detail(window, source, _BOX_GRAIN_SIGMA)
        filled += reflect_texture(detail, source, hole, max(2, min(x1 - x0, y1 - y0) // 2))
        window[hole] = np.clip(filled[hole] + 0.5, 0, 255).astype(np.uint8)
    return out
