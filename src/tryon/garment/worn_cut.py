"""Cutting a top out of a photo of someone wearing it (person-to-person try-on).

The agnostic region of the wearer holds more than the garment: the neck's skin, hair
falling on the shoulders, the hands, the trousers' waistband under a short top, the
scenery beside the body and, under an open jacket, the top worn inside it. With no
clothing parser, each of these is told apart by colour against the garment's own
colours, sampled where there is no doubt (the shoulders and the sides of the torso),
and only where it continues its own region from outside (skin from the face and the
hands, the trousers from the thighs, the scenery from around the person): a patch of
similar colour in the middle of the garment (a print, a fold in the light) stays
garment. The scores are smoothed with a guided filter, so the cut follows the
photo's edges.

What the garment hides behind hands, hair or (for an open front) nothing at all is
then completed from its own pixels: the outline from the mirror image of the other
side of the body, the colours by reflecting the garment across the nearest edge of
what is seen (texture carries on, no streaks). An open front is closed this way: the
inner top belongs to another garment, and the composite fills holes in the garment
with skin or scenery, never with the new wearer's own top. The back of the neckline,
hidden by the wearer's neck, is completed as the garment's inside, as a product photo
shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from tryon.body.agnostic import agnostic_mask
from tryon.body.frame import BodyFrame, body_frame, chin_y, head_size
from tryon.ops import masks as M
from tryon.ops.color import LabColours, colour_clusters, nearest_distance, rgb_to_lab
from tryon.ops.inpaint import fine_detail, reflect_texture
from tryon.types import BodyAnalysis, Category, Image, Joint, Mask

FloatMap = npt.NDArray[np.float32]


@dataclass(frozen=True)
class WornCutConfig:
    """How a worn top is told apart from what surrounds it.

    Attributes:
        clusters: colour clusters per region (garment, skin, hair, trousers, scenery).
        margin: a pixel is another region's when it is this much nearer (CIELAB Delta E)
            to that region's colours than to the garment's.
        inner_gap: an open front's inner top is at least this far (Delta E) from every
            colour of the garment.
        work_side: long side, pixels, of the copy the colours are compared on.
        min_share: garment colour clusters holding less than this share of the seed
            pixels are dropped (a seed patch that grazes another region).
        neck_bias: below the chin a pixel is skin when it is up to this much further
            (Delta E) from the skin's colours than from the garment's.
        collar_rise: the back of the neckline is completed up to this far above the
            shoulder line, x shoulder width (where the warp puts a collar's top: the
            neckline landmark of ``garment.worn``).
    """

    clusters: int = 4
    margin: float = 4.0
    inner_gap: float = 22.0
    work_side: int = 512
    min_share: float = 0.08
    neck_bias: float = 6.0
    collar_rise: float = 0.17


@dataclass(frozen=True)
class WornCut:
    """A top cut out of a worn photo.

    Attributes:
        visible: (H, W) bool, the garment's pixels that the photo shows.
        mask: (H, W) bool, ``visible`` plus what was completed behind hands and hair
            and across an open front.
        image: (H, W, 3) RGB uint8, the photo with the completed pixels painted from
            the garment's own (other pixels unchanged).
        inner: (H, W) bool, the inner top seen through an open front (empty if none).
    """

    visible: Mask
    mask: Mask
    image: Image
    inner: Mask


@dataclass(frozen=True)
class _Work:
    """The photo's region around the top at the working scale."""

    box: tuple[slice, slice]
    scale: float
    lab: FloatMap
    body: BodyAnalysis
    frame: BodyFrame


def cut_worn_top(image: Image, body: BodyAnalysis, cfg: WornCutConfig | None = None) -> WornCut:
    """Cuts the upper garment out of a photo of a person wearing it.

    Args:
        image: (H, W, 3) RGB uint8 photo of the wearer.
        body: its body analysis.
        cfg: the colour tests; defaults to ``WornCutConfig()``.

    Returns:
        The cut; all masks in the photo's frame. Empty masks when the body region holds
        no garment colour (then the caller reports that no garment was found).
    """
    cfg = cfg or WornCutConfig()
    work, region = _work_copy(image, body, agnostic_mask(body, Category.UPPER))
    seeds = _garment_seeds(work) & region
    colours = _garment_colours(work.lab[seeds], cfg)
    empty = np.zeros(image.shape[:2], bool)
    if len(colours) == 0:
        return WornCut(empty, empty, image, empty)
    d_garment = _distance_map(work.lab, colours)
    inner = _inner_top(work, region, d_garment, seeds, cfg)
    other = _other_regions(work, region, colours, inner, cfg)
    small = region & ~other & ~inner
    small = M.open_(small, max(1.0, work.frame.r / 3))
    small = M.components_touching(small, seeds)
    small = _fill_enclosed(small, region)
    # The smoothed edge may not step onto the head or the hands.
    visible = _to_full(image, work, small) & ~(body.head_mask | body.hands_mask)
    for _ in range(TRIM_PASSES):
        visible = trim_rim(image, visible, max(2, round(1.0 / work.scale)) + 1)
    inner_full = _to_full(image, work, inner) & ~visible
    mask, filled = complete_garment(image, visible, body, inner_full, cfg.collar_rise)
    return WornCut(visible, mask, filled, inner_full)


def _work_copy(image: Image, body: BodyAnalysis, agnostic: Mask) -> tuple[_Work, Mask]:
    """The box around the upper body at the working scale, with the body analysis and
    the region the garment may occupy (the upper agnostic region on the person, minus
    the head and hands) in it."""
    h, w = image.shape[:2]
    frame = body_frame(body.keypoints)
    rim = max(2.0, 1.5 * max(h, w) / 512)
    region = agnostic & M.dilate(body.person_mask, rim) & ~(body.head_mask | body.hands_mask)
    around = M.bounding_box(M.dilate(region | body.head_mask, 8 * frame.r, exact=False))
    box = around or (slice(0, h), slice(0, w))
    bh, bw = box[0].stop - box[0].start, box[1].stop - box[1].start
    scale = min(1.0, WornCutConfig.work_side / max(bh, bw))
    size = (max(1, round(bw * scale)), max(1, round(bh * scale)))
    crop = cv2.resize(image[box], size, interpolation=cv2.INTER_AREA)
    small = _small_body(body, box, scale, size)
    work = _Work(
        box, scale, rgb_to_lab(crop).astype(np.float32), small, body_frame(small.keypoints)
    )
    return work, _shrink(region[box], size)


def _shrink(mask: Mask, size: tuple[int, int]) -> Mask:
    """``mask`` resized to ``size`` (width, height), half-covered pixels set."""
    scaled = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return np.asarray(scaled >= 0.5)


def _small_body(
    body: BodyAnalysis, box: tuple[slice, slice], scale: float, size: tuple[int, int]
) -> BodyAnalysis:
    """``body`` cropped to ``box`` and scaled by ``scale`` (masks and keypoints)."""
    from dataclasses import replace

    kp = body.keypoints
    offset = np.array([box[1].start, box[0].start], np.float32)
    points = (kp.mediapipe - offset) * scale
    keypoints = replace(kp, mediapipe=points.astype(np.float32), image_size=(size[1], size[0]))
    return replace(
        body,
        keypoints=keypoints,
        person_mask=_shrink(body.person_mask[box], size),
        face_mask=_shrink(body.face_mask[box], size),
        head_mask=_shrink(body.head_mask[box], size),
        hands_mask=_shrink(body.hands_mask[box], size),
    )


def _to_full(image: Image, work: _Work, small: Mask) -> Mask:
    """A working-scale mask back in the photo's frame, its edge snapped to the photo's
    edges with a guided filter."""
    h, w = image.shape[:2]
    box = work.box
    bh, bw = box[0].stop - box[0].start, box[1].stop - box[1].start
    soft = cv2.resize(small.astype(np.float32), (bw, bh), interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(1.0 / work.scale))
    guide = np.ascontiguousarray(image[box])
    soft = cv2.ximgproc.guidedFilter(guide, soft, radius, 0.01 * 255 * 255)
    out = np.zeros((h, w), bool)
    out[box] = soft >= 0.5
    return out


TRIM_PASSES = 3
"""Rims trimmed one after the other: a sliver can be thicker than the smoothing's
radius, and each pass compares with the scenery the previous one uncovered."""


def trim_rim(image: Image, mask: Mask, width: int) -> Mask:
    """``mask`` without the pixels of its outer rim (``width`` pixels deep) that are
    coloured like what lies just outside it rather than like the garment just inside:
    the slivers of a light backdrop that an edge smoothed at a coarser scale keeps.

    Each rim pixel is compared with the mean colours (CIELAB) of the garment's inner
    pixels and of the outside pixels within twice ``width`` of it.

    Args:
        image: (H, W, 3) RGB uint8.
        mask: (H, W) bool.
        width: rim depth, pixels (>= 1).

    Returns:
        (H, W) bool, ``mask`` minus the trimmed pixels.
    """
    box = M.bounding_box(M.dilate(mask, 3 * width, exact=False))
    if box is None:
        return mask
    inside = M.erode(mask[box], width)
    rim = mask[box] & ~inside
    outside = M.dilate(mask[box], 2 * width, exact=False) & ~mask[box]
    if not rim.any() or not inside.any() or not outside.any():
        return mask
    lab = rgb_to_lab(image[box]).astype(np.float32)
    sigma = float(width)
    own = _local_mean(lab, inside, sigma)
    other = _local_mean(lab, outside, sigma)
    d_own = np.linalg.norm(lab - own, axis=2)
    d_other = np.linalg.norm(lab - other, axis=2)
    out = mask.copy()
    out[box] &= ~(rim & (d_other < d_own))
    return out


def _local_mean(lab: FloatMap, where: Mask, sigma: float) -> FloatMap:
    """(h, w, 3) the Gaussian mean of ``lab`` over ``where`` around every pixel."""
    weight = where.astype(np.float32)
    total = cv2.GaussianBlur(lab * weight[..., None], (0, 0), 2 * sigma)
    seen = cv2.GaussianBlur(weight, (0, 0), 2 * sigma)
    return total / np.maximum(seen, 1e-6)[..., None]


def _distance_map(lab: FloatMap, colours: LabColours, lightness: float = 1.0) -> FloatMap:
    """(h, w) CIELAB distance of every pixel to the nearest of ``colours``, its L*
    difference scaled by ``lightness``."""
    flat = lab.reshape(-1, 3)
    return nearest_distance(flat, colours, lightness).reshape(lab.shape[:2])


def _garment_colours(samples: npt.NDArray[np.float32], cfg: WornCutConfig) -> LabColours:
    """Colour clusters of the seed pixels, without the rare ones."""
    if len(samples) < 50:
        return np.zeros((0, 3), np.float32)
    centres, labels = colour_clusters(samples.astype(np.float32), min(cfg.clusters, len(samples)))
    share = np.bincount(labels, minlength=len(centres)) / len(labels)
    return centres[share >= cfg.min_share]


def _region_colours(lab: FloatMap, where: Mask, cfg: WornCutConfig) -> LabColours:
    """Colour clusters of ``where`` (empty when it has too few pixels)."""
    samples = lab[where]
    if len(samples) < 30:
        return np.zeros((0, 3), np.float32)
    if len(samples) > 4000:
        samples = samples[:: len(samples) // 4000]
    return colour_clusters(samples.astype(np.float32), min(cfg.clusters, len(samples)))[0]


def _garment_seeds(work: _Work) -> Mask:
    """Where a top surely is: below each shoulder and along both sides of the torso
    (not the middle of the chest, which an open front leaves to the top inside)."""
    kp, frame = work.body.keypoints, work.frame
    shape = work.lab.shape[:2]
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    across, down, length = ls - rs, frame.down, frame.torso_length
    seeds = np.zeros(shape, bool)
    for shoulder, inward in ((rs, across), (ls, -across)):
        top = shoulder + 0.18 * inward + 0.12 * length * down
        bottom = shoulder + 0.18 * inward + 0.8 * length * down
        seeds |= M.draw_stroke(shape, [top, bottom], 2.0 * frame.r)
        seeds |= M.draw_stroke(shape, [top, top + 0.12 * inward], 2.0 * frame.r)
    keep_out = M.dilate(work.body.head_mask | work.body.hands_mask, frame.r)
    return seeds & M.erode(work.body.person_mask, frame.r) & ~keep_out


def _inner_top(
    work: _Work, region: Mask, d_garment: FloatMap, seeds: Mask, cfg: WornCutConfig
) -> Mask:
    """The top worn inside an open front: a band of another colour down the middle of
    the torso, from the neckline to the hem."""
    kp, frame = work.body.keypoints, work.frame
    shape = region.shape
    rs, ls = kp.joint(Joint.R_SHOULDER), kp.joint(Joint.L_SHOULDER)
    half = 0.3 * (ls - rs)
    top, bottom = frame.neck, frame.hip_mid
    middle = M.draw_polygon(shape, [top - half, top + half, bottom + half, bottom - half])
    far = region & (d_garment > cfg.inner_gap) & ~seeds
    far = M.open_(far, max(1.0, frame.r / 2))
    # Only the front panels flank an inner top (not the sleeves beside the hips).
    core = M.draw_polygon(
        shape, [kp.joint(j) for j in (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.L_HIP, Joint.R_HIP)]
    )
    garment_like = region & (d_garment < cfg.inner_gap / 2) & core
    between = flanked(garment_like, 0.6 * float(np.linalg.norm(ls - rs)))
    band = far & middle & between
    labels, _ = M.components(band)
    out = np.zeros(shape, bool)
    neckline = M.draw_stroke(shape, [top - half, top + half], 4 * frame.r)
    for label in np.unique(labels[band & neckline]):
        part = labels == label
        rows = _extent_down(part, frame)
        if label and rows >= 0.5 * frame.torso_length:
            out |= part
    if not out.any():
        return out
    # The inner top continues beyond the band where its colour does.
    colours = _region_colours(work.lab, out, cfg)
    near = region & (_distance_map(work.lab, colours) + cfg.margin < d_garment)
    near &= core & between
    return M.components_touching(near | out, out) & region


def flanked(garment: Mask, reach: float) -> Mask:
    """Pixels with ``garment`` both to their left and to their right on their row,
    each within ``reach`` pixels (the gap of an open front between its two sides).

    Args:
        garment: (H, W) bool.
        reach: most distance, pixels, to the garment on either side.

    Returns:
        (H, W) bool.
    """
    h, w = garment.shape
    cols = np.broadcast_to(np.arange(w, dtype=np.float32), (h, w))
    last_left = np.maximum.accumulate(np.where(garment, cols, -np.inf), axis=1)
    next_right = np.minimum.accumulate(np.where(garment, cols, np.inf)[:, ::-1], axis=1)[:, ::-1]
    return np.asarray((cols - last_left <= reach) & (next_right - cols <= reach))


def _extent_down(part: Mask, frame: BodyFrame) -> float:
    """How far ``part`` reaches along the torso's down direction, pixels."""
    ys, xs = np.nonzero(part)
    if len(xs) == 0:
        return 0.0
    along = xs * frame.down[0] + ys * frame.down[1]
    return float(along.max() - along.min())


def _other_regions(
    work: _Work, region: Mask, colours: LabColours, inner: Mask, cfg: WornCutConfig
) -> Mask:
    """Pixels of ``region`` that continue the skin, the hair, the trousers or the
    scenery from outside it: nearer to that one's colours than to the garment's, and
    joined to it.

    Skin is told from a skin-coloured garment (beige, pink) by its hue: lightness,
    which shading changes most, counts half, and a smaller margin is enough.
    """
    body, frame = work.body, work.frame
    shape = region.shape
    person = body.person_mask
    outside = ~M.dilate(person, frame.r)
    hem = frame.hip_mid + frame.down * 0.1 * frame.torso_length
    below = person & M.half_plane(shape, hem, frame.down) & ~region
    hair = body.head_mask & ~body.face_mask
    head_touch = M.dilate(body.head_mask, 2)
    # Below the chin skin is expected: there it wins ties (a neck in shadow is less
    # red than the face it is compared with).
    skin_margin = np.where(_neck_zone(body, shape), -cfg.neck_bias, 1.0).astype(np.float32)
    sources = (
        (_skin_source(body), head_touch | M.dilate(body.hands_mask, 2), skin_margin, 0.5),
        (hair, head_touch, cfg.margin, 1.0),
        (below & ~body.hands_mask, below, cfg.margin, 1.0),
        (outside & M.dilate(person, 6 * frame.r, exact=False), outside, cfg.margin, 1.0),
    )
    guide = np.ascontiguousarray(np.clip(work.lab[..., 0] * 2.55, 0, 255).astype(np.uint8))
    out = np.zeros(shape, bool)
    margin: float | FloatMap
    for source, touch, margin, lightness in sources:
        other = _region_colours(work.lab, source, cfg)
        if len(other) == 0:
            continue
        d_other = _distance_map(work.lab, other, lightness)
        d_own = _distance_map(work.lab, colours, lightness)
        # Positive where the other region's colours are clearly nearer; smoothed along
        # the photo's edges so the decision follows them.
        score = np.clip(d_own - d_other - margin, -20, 20).astype(np.float32)
        score = cv2.ximgproc.guidedFilter(guide, score, max(2, round(frame.r)), 100.0)
        looks = region & (score > 0) & ~inner
        out |= M.components_touching(looks | touch, touch) & looks
    return out


def _skin_source(body: BodyAnalysis) -> Mask:
    """Skin the analysis is sure of: the upper face (no beard, no mouth) and the hands."""
    face = body.face_mask
    rows = np.flatnonzero(face.any(1))
    upper = face.copy()
    if len(rows) >= 4:
        upper[int(rows[0] + 0.62 * (rows[-1] - rows[0])) :] = False
    return upper | body.hands_mask


def _fill_enclosed(mask: Mask, region: Mask) -> Mask:
    """``mask`` with the holes it encloses filled (a print, a logo, a button)."""
    return M.fill_holes(mask) & region


def complete_garment(
    image: Image, visible: Mask, body: BodyAnalysis, inner: Mask, collar_rise: float
) -> tuple[Mask, Image]:
    """Completes a worn garment where hands, hair or an open front hide it.

    The outline behind hands and hair comes from the mirror image of the garment about
    the body's middle line (a shoulder under the hair is as wide as the other one); an
    open front is closed. The colours of the completed pixels are the garment's own,
    reflected across the nearest edge of what is seen.

    Args:
        image: (H, W, 3) RGB uint8 photo of the wearer.
        visible: (H, W) bool, the garment's pixels that the photo shows.
        body: the wearer's body analysis.
        inner: (H, W) bool, an inner top seen through an open front.
        collar_rise: how far above the shoulder line (x shoulder width) the back of
            the neckline is completed (``neck_back``).

    Returns:
        The completed (H, W) bool mask and the photo with its completed pixels painted.
    """
    frame = body_frame(body.keypoints)
    kp = body.keypoints
    mirrored = mirror_about(visible, frame.neck, frame.down)
    # Hair hides the shoulders and the collar, never the neck's opening below the chin.
    shape = visible.shape
    neck = _neck_zone(body, shape)
    hair = body.head_mask & ~body.face_mask & ~neck
    # Hands hide the garment only in front of the torso (between the hip joints): at
    # the sides they are where the sleeves end.
    core = M.draw_polygon(
        shape,
        [kp.joint(j) for j in (Joint.R_SHOULDER, Joint.L_SHOULDER, Joint.L_HIP, Joint.R_HIP)],
    )
    hidden = mirrored & ~visible & (hair | body.hands_mask & core)
    hidden &= M.dilate(visible, 2 * frame.r, exact=False)
    mask = (visible | hidden | inner) & ~body.face_mask
    filled = reflect_fill(image, visible, mask & ~visible)
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    back = neck_back(
        mask,
        neck & M.half_plane(shape, frame.neck - frame.down * collar_rise * sw, frame.down),
        body,
    )
    paint_inside(filled, visible, back, frame.r)
    return mask | back, filled


INSIDE_SHADE = (0.65, 0.85)
"""The garment's inside, seen through its neckline, is this much darker than its outside:
the first at the top of the neckline (in the neck's shadow), the second at its bottom."""


def paint_inside(image: Image, visible: Mask, inside: Mask, r: float) -> None:
    """Paints ``inside`` (in place) as the garment's inside: the median colour of the
    garment around it, shaded darker towards the top (``INSIDE_SHADE``), with the
    garment's fine grain carried in across the nearest edge."""
    box = M.bounding_box(M.dilate(inside, 4 * r, exact=False))
    if box is None:
        return
    near = visible[box] & ~inside[box]
    if not near.any():
        return
    window = image[box]
    colour = np.median(window[near], axis=0).astype(np.float32)
    rows = np.flatnonzero(inside[box].any(1))
    ramp = np.interp(np.arange(window.shape[0]), [rows[0], rows[-1]], INSIDE_SHADE).astype(
        np.float32
    )
    paint = colour[None, None, :] * ramp[:, None, None]
    grain = fine_detail(window, near, 2.0)
    paint = paint + reflect_texture(grain, near, inside[box], max(2, int(2 * r)))
    target = inside[box]
    window[target] = np.clip(paint[target] + 0.5, 0, 255).astype(np.uint8)


BACK_DIP = 0.1
"""The back neckline's dip at the middle, as a fraction of its span."""


def neck_back(mask: Mask, neck: Mask, body: BodyAnalysis) -> Mask:
    """The back of the neckline, which the wearer's neck hides: the neck's pixels
    below a shallow U joining the garment's highest points on either side of the neck
    (where the collar or hood rises beside it), down to the garment.

    A product photo shows it (the inside of the back, below the back collar), and the
    warp lays it at the base of the new wearer's neck; without it, the whole of the
    old wearer's neck is a notch in the garment, down to the front of the neckline.

    Args:
        mask: (H, W) bool, the garment's pixels.
        neck: (H, W) bool, the wearer's neck zone, from where a collar's top would be
            down to the shoulder line.
        body: the wearer's body analysis.

    Returns:
        (H, W) bool, the pixels to add (none of ``mask``, none of the face).
    """
    out = np.zeros_like(mask)
    box = M.bounding_box(neck)
    if box is None:
        return out
    rows, cols = box
    middle = float(body.keypoints.joint(Joint.NECK)[0])
    tops = []
    for side in (slice(cols.start, int(middle)), slice(int(middle), cols.stop)):
        band = mask[rows, side]
        if band.shape[1] == 0 or not band.any():
            return out
        # The side's highest garment row beside the neck, and where it is.
        first = np.argmax(band, axis=0).astype(np.float32)
        first[~band.any(0)] = np.inf
        x = int(np.argmin(first))
        tops.append((side.start + x, rows.start + first[x]))
    (x0, y0), (x1, y1) = sorted(tops)
    if x1 <= x0:
        return out
    ys, xs = np.mgrid[rows, cols]
    # Seen from the front the back neckline is a shallow U: from one collar top to the
    # other, dipping at the middle by a tenth of the span.
    t = (xs - x0) / (x1 - x0)
    line = y0 + t * (y1 - y0) + BACK_DIP * (x1 - x0) * 4 * t * (1 - t)
    below = (ys >= line) & (xs >= x0) & (xs <= x1)
    out[rows, cols] = below & neck[rows, cols] & ~mask[rows, cols]
    return out & ~body.face_mask


def _neck_zone(body: BodyAnalysis, shape: tuple[int, ...]) -> Mask:
    """(H, W) bool, the neck below the chin down to the shoulder line, as wide as the
    head at the chin."""
    kp = body.keypoints
    size = head_size(kp)
    chin = chin_y(kp, body.face_mask)
    nose_x = float(kp.joint(Joint.NOSE)[0])
    corners = [
        (nose_x - 0.5 * size, chin),
        (nose_x + 0.5 * size, chin),
        kp.joint(Joint.L_SHOULDER),
        kp.joint(Joint.R_SHOULDER),
    ]
    return M.draw_polygon(shape, np.array(corners, np.float32))


def mirror_about(mask: Mask, origin: npt.ArrayLike, down: npt.ArrayLike) -> Mask:
    """``mask`` mirrored about the line through ``origin`` along ``down`` (x, y pixels)."""
    h, w = mask.shape
    o = np.asarray(origin, np.float64)
    d = np.asarray(down, np.float64)
    d = d / max(float(np.linalg.norm(d)), 1e-9)
    # Reflection about a line: p' = o + R (p - o), R = 2 d d^T - I.
    r = 2.0 * np.outer(d, d) - np.eye(2)
    t = o - r @ o
    matrix = np.hstack([r, t[:, None]]).astype(np.float32)
    flipped = cv2.warpAffine(mask.view(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST)
    return np.asarray(flipped > 0)


def reflect_fill(image: Image, known: Mask, hole: Mask) -> Image:
    """Paints ``hole`` with ``known`` pixels reflected across the nearest known pixel.

    A pixel at distance d inside the hole takes the known pixel d beyond the hole's
    edge (the nearest known one when that is not known): texture and folds carry on
    into the hole instead of one edge colour smeared across it.

    Args:
        image: (H, W, 3) RGB uint8.
        known: (H, W) bool, pixels whose colours may be copied.
        hole: (H, W) bool, pixels to paint.

    Returns:
        A copy of ``image`` with ``hole`` painted; unchanged where ``known`` is empty.
    """
    out = image.copy()
    if not hole.any() or not known.any():
        return out
    _, (ny, nx) = ndimage.distance_transform_edt(~known, return_indices=True)
    ys, xs = np.nonzero(hole)
    qy, qx = ny[ys, xs], nx[ys, xs]
    h, w = known.shape
    ry, rx = 2 * qy - ys, 2 * qx - xs
    inside = (ry >= 0) & (ry < h) & (rx >= 0) & (rx < w)
    ry, rx = np.where(inside, ry, qy), np.where(inside, rx, qx)
    usable = inside & known[ry, rx]
    out[ys, xs] = image[np.where(usable, ry, qy), np.where(usable, rx, qx)]
    return out


def extend_below(image: Image, mask: Mask, hem_y: float) -> tuple[Image, Mask]:
    """Continues a garment that the photo's bottom edge cuts off (a selfie, a waist-up
    shot) down to its hem.

    The photo grows downward to ``hem_y`` by mirroring a band of its last rows back
    and forth (the garment's texture carries on; nothing from higher up, such as the
    face, is copied), and every column the garment reaches at the bottom edge goes on
    down to ``hem_y``.

    Args:
        image: (H, W, 3) RGB uint8 garment photo.
        mask: (H, W) bool, the garment's pixels.
        hem_y: row, pixels, the garment's hem would be at (may be below the photo).

    Returns:
        The (H', W, 3) photo and (H', W) mask, H' >= H; the same arrays when the garment
        does not reach the bottom edge or the hem is inside the photo.
    """
    h = mask.shape[0]
    extra = int(np.ceil(hem_y)) + 2 - h
    if extra <= 0 or not mask[-1].any():
        return image, mask
    band = max(4, int(0.12 * h))
    # A triangle wave over the band's rows: h-1, h-2, ..., h-band, h-band+1, ...
    steps = np.arange(extra) % (2 * band)
    rows = h - 1 - np.where(steps < band, steps, 2 * band - 1 - steps)
    columns = np.broadcast_to(mask[-1], (extra, mask.shape[1]))
    return np.vstack([image, image[rows]]), np.vstack([mask, columns])
