"""Compose: put the warped garment into the photo, lit like the photo.

* Shading: the photo's light and folds inside the old garment, with the old garment's
  own colours divided out (pixels are grouped into a few colour clusters and each is
  normalised by its own median brightness), smoothed so print and texture do not carry.
* Occlusion: hands, head and hair are outside the agnostic mask, so they stay in front;
  bare forearms lying over the torso stay in front of a new top's body.
* Fill: old-garment pixels the new garment leaves uncovered become skin on the arms and
  neck and background elsewhere.
* Seams: the garment fades out over a few pixels inside the agnostic mask's edge, and
  every pixel outside the mask is copied from the input, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tryon.body.agnostic import ARMS, arm_path, body_frame, draw_arm
from tryon.body.analyze import HANDS, chin_y, hand_points, head_size, near_skin
from tryon.old_garment import (
    OldGarment,
    find_old_garment,
    looks_like_skin,
    mostly_bare_parts,
    skin_pixels,
)
from tryon.ops import masks as M
from tryon.ops.color import colour_clusters, lab_to_rgb, luminance, nearest_centre, rgb_to_lab
from tryon.ops.fill import extrude_fill, push_pull_fill
from tryon.ops.geometry import arc_position, polyline_between, polyline_length
from tryon.ops.resize import downscale
from tryon.types import BodyAnalysis, Category, Image, Joint, Mask, Piece, WarpedGarment

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ComposeConfig:
    """Parameters of the composite.

    Attributes:
        clusters: colour clusters used to divide the old garment's colours out.
        shading_range: clamp of the shading factor (darkest, brightest).
        shading_strength: exponent on the shading (1: as in the photo).
        shading_blur: smoothing of the shading, x shoulder width.
        seam: width of the fade at the mask edge, pixels at 1024 rows.
        shading_side: long side, pixels, of the copy the shading is measured on (the
            shading is smoothed over a tenth of the shoulder width, so more is wasted).
    """

    clusters: int = 4
    shading_range: tuple[float, float] = (0.45, 1.35)
    shading_strength: float = 0.9
    shading_blur: float = 0.006
    seam: float = 3.0
    shading_side: int = 192


@dataclass(frozen=True)
class Scene:
    """What the composite needs from the person photo alone, before any garment.

    It depends on the photo, its body analysis and the category, never on the new
    garment, so it can be worked out while the garment is warped.

    Attributes:
        old_garment: the garment being replaced and the one next to it.
        shading: (H, W) float32, the photo's relative shading (1 outside the old
            garment), darker under the chin on painted neck skin.
        backdrop: (H, W, 3) the photo with the old garment replaced by the scenery
            around it continued inwards: what a gap the new garment leaves shows.
        backdrop_region: (H, W) bool, where ``backdrop`` was filled in (the old
            garment grown by two pixels).
        bare_neck: (H, W) bool, neck skin the photo shows inside the old garment's
            opening (kept, never painted over); empty for trousers.
        covered_neck: (H, W) bool, the neck the old garment covered (a high collar):
            painted as skin, darker under the chin, where the new garment leaves it.
        neck_zone: (H, W) bool, the neck's shape, across which painted neck skin is
            rounded; empty for trousers.
        arm_skin: (H, W) bool, pixels of the old garment along the arms that look like
            skin (tested once here; which of them count depends on the new sleeves).
        paint: (3, 3) uint8 RGB, the skin colour painted on the neck, the right arm
            and the left arm: each arm takes its own hand's colour where the hand shows
            enough skin (light on a hand and on a face differ), else the face's.
        gain: (H, W) float32, ``shading`` as a factor on sRGB values.
        box: the agnostic mask's bounding box (None when it is empty).
        weight: float32 over ``box``, the most the garment may cover each pixel: 0
            outside the agnostic mask, rising to 1 over the seam inside its edge.
    """

    old_garment: OldGarment
    shading: FloatImage
    backdrop: Image
    backdrop_region: Mask
    bare_neck: Mask
    covered_neck: Mask
    neck_zone: Mask
    arm_skin: Mask
    paint: Image
    gain: FloatImage
    box: tuple[slice, slice] | None
    weight: FloatImage


@dataclass(frozen=True)
class Composite:
    """The result of composing, with its intermediates."""

    image: Image
    shading: FloatImage
    fill_mask: Mask


def estimate_shading(
    person: Image, region: Mask, shoulder_width: float, cfg: ComposeConfig
) -> FloatImage:
    """Relative shading (1 = average) of the photo inside ``region``, 1 elsewhere.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        region: where the old garment was (the shading is measured and applied there).
        shoulder_width: pixels, sets the smoothing scale.
    """
    h, w = region.shape
    shading = np.ones((h, w), np.float32)
    if region.sum() < 50:
        return shading
    box = M.bounding_box(region)
    assert box is not None  # the region has at least 50 pixels
    crop, sub = person[box], region[box]
    small, factor = downscale(crop, cfg.shading_side)
    size = (small.shape[1], small.shape[0])
    small_region = cv2.resize(sub.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(
        bool
    )
    if small_region.sum() < 20:
        return shading
    lum = luminance(small) + 1e-3
    lab = rgb_to_lab(small)
    samples = lab[small_region].astype(np.float32)
    k = int(min(cfg.clusters, len(samples)))
    # The clusters are found on at most 2,000 of the pixels; every pixel then joins the
    # nearest one (the same result in a fraction of the time).
    fit = samples[:: max(1, len(samples) // 2000)]
    centres = colour_clusters(fit, k)[0]
    labels = nearest_centre(samples, centres)
    relative = np.ones_like(lum)
    values = lum[small_region]
    rel = np.empty_like(values)
    for c in range(k):
        sel = labels == c
        if sel.any():
            rel[sel] = values[sel] / np.median(values[sel])
    relative[small_region] = rel
    sigma = max(0.8, cfg.shading_blur * shoulder_width * factor * 16)
    # Normalised blur: only region pixels contribute, so the background does not leak in.
    weight = cv2.GaussianBlur(small_region.astype(np.float32), (0, 0), sigma)
    smooth = cv2.GaussianBlur(relative * small_region, (0, 0), sigma) / np.maximum(weight, 1e-3)
    smooth = np.clip(smooth, *cfg.shading_range) ** cfg.shading_strength
    full = cv2.resize(smooth.astype(np.float32), sub.shape[::-1], interpolation=cv2.INTER_LINEAR)
    shading[box][sub] = full[sub]
    return shading


def _gain(shading: FloatImage) -> FloatImage:
    """The shading as a factor on sRGB values.

    With the sRGB curve taken as a 2.2 power, (c^2.2 * s)^(1/2.2) = c * s^(1/2.2): the
    shading is encoded once per pixel instead of decoding and encoding every channel.
    """
    return np.asarray(cv2.pow(shading.astype(np.float32), 1 / 2.2).reshape(shading.shape))


def _apply_gain(rgb: Image, gain: FloatImage) -> FloatImage:
    """Colours times ``_gain``: float RGB in [0, 255]."""
    lit = cv2.multiply(rgb.astype(np.float32), cv2.merge([gain, gain, gain]))
    return np.minimum(lit, 255.0, out=lit)


def _apply_shading(rgb: Image, shading: FloatImage) -> FloatImage:
    """Multiplies colours by the shading in linear light; returns float RGB in [0, 255]."""
    return _apply_gain(rgb, _gain(shading))


@dataclass(frozen=True)
class BareArms:
    """Where the arms are bare below the new garment's sleeves (for tops and dresses).

    It depends on the body and the warped garment only, never on the old garment, so
    it can be worked out beside the person side, right after the warp.

    Attributes:
        region: strokes wide enough to hold any old sleeve, clear of the new sleeves:
            where photo pixels that show skin are kept.
        limbs: the arms' own shape, tapering from shoulder to wrist: where skin is
            painted over what an old sleeve covered.
        right_limb: the right arm's part of ``limbs``.
        sleeves: the new garment's sleeves.
    """

    region: Mask
    limbs: Mask
    right_limb: Mask
    sleeves: Mask


BARE_ARM_WIDTH = 4.5
"""Width of the strokes along the arms where bare skin is looked for, x the body
frame's ``r``: wide enough to hold any old sleeve."""


def _arm_reach(body: BodyAnalysis, width_factor: float) -> Mask:
    """Both arms from the shoulder to the heel of the hand, in strokes a little wider
    than ``find_bare_arms``' (which start further down): every pixel either may test."""
    kp, shape = body.keypoints, body.person_mask.shape
    r = body_frame(kp).r
    out = np.zeros(shape, bool)
    for joints in ARMS:
        out |= M.draw_stroke(shape, arm_path(kp, joints), width_factor * r + 4)
    return out


def find_bare_arms(body: BodyAnalysis, warped: WarpedGarment) -> BareArms:
    """Each arm from where the new sleeve ends (or a third down the upper arm for a
    sleeveless top) to the heel of the hand."""
    kp, shape = body.keypoints, body.person_mask.shape
    r = body_frame(kp).r
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    region = np.zeros(shape, bool)
    arm_limbs = []  # right, left
    sleeve_ends = (warped.landmarks.sleeve_end_r, warped.landmarks.sleeve_end_l)
    for joints, sleeve_end in zip(ARMS, sleeve_ends, strict=True):
        path = arm_path(kp, joints)
        total = polyline_length(path)
        start = 0.3 * float(np.linalg.norm(path[1] - path[0]))
        if sleeve_end is not None:
            start = max(start, arc_position(path, sleeve_end) + r)
        if start >= total:
            arm_limbs.append(np.zeros(shape, bool))
            continue
        region |= M.draw_stroke(shape, polyline_between(path, start, total), BARE_ARM_WIDTH * r)
        arm_limbs.append(draw_arm(shape, path, start, total, sw))
    sleeves = (warped.pieces == Piece.SLEEVE_R) | (warped.pieces == Piece.SLEEVE_L)
    right, left = arm_limbs
    return BareArms(region & ~M.dilate(sleeves, r), right | left, right, sleeves)


def _fill(
    person: Image,
    hole: Mask,
    skin_zone: Mask,
    shading: FloatImage,
    scene: Scene,
    neighbour_below: bool = True,
    bare_arms: BareArms | None = None,
) -> Image:
    """Plausible content for ``hole``: shaded skin inside ``skin_zone`` (the scene's
    ``paint`` colours; on the arms rounded like a limb, see ``_roundness``); else,
    under a shorter new garment, the neighbouring garment carried on (the trousers
    under a top, the top over trousers); else the scenery. Other pixels are the
    person's."""
    out = person.copy()
    box = M.bounding_box(hole)
    if box is None:
        return out
    M.paste(out[box], scene.backdrop[box], hole[box])
    old = scene.old_garment
    if old.neighbour is not None and old.neighbour_reach is not None:
        continued = hole[box] & old.neighbour_reach[box]
        span = M.bounding_box(continued)
        if span is not None:
            # Column by column, so its stripes and seams carry on: only the columns to
            # fill, from the gap's edge on for as far again as the gap is high (the
            # neighbour starts where the old garment ended, right beside the gap).
            h = hole.shape[0]
            top, bottom = box[0].start + span[0].start, box[0].start + span[0].stop
            reach = bottom - top + 8
            rows = (
                slice(top, min(h, bottom + reach))
                if neighbour_below
                else slice(max(0, top - reach), bottom)
            )
            cols = slice(box[1].start + span[1].start, box[1].start + span[1].stop)
            source = old.neighbour[rows, cols] & ~scene.backdrop_region[rows, cols]
            extruded, found = extrude_fill(person[rows, cols], source, upward=neighbour_below)
            take = hole[rows, cols] & old.neighbour_reach[rows, cols] & found
            out[rows, cols][take] = extruded[take]
    zone_box = M.bounding_box(skin_zone)
    if zone_box is not None:
        zone = skin_zone[zone_box]
        light = shading[zone_box][zone]
        # Which colour each pixel takes: 0 the neck, 1 the right arm, 2 the left arm.
        part = np.zeros(len(light), np.intp)
        if bare_arms is not None:
            limbs = bare_arms.limbs | scene.neck_zone
            light = light * _roundness(limbs, skin_zone)
            on_arm = bare_arms.limbs[zone_box][zone]
            part[on_arm] = np.where(bare_arms.right_limb[zone_box][zone][on_arm], 1, 2)
        skin = _apply_shading(scene.paint[part][:, None], light[:, None])
        out[zone_box][zone] = np.clip(np.round(skin[:, 0]), 0, 255).astype(np.uint8)
    return out


def _hand_colour(
    person: Image, body: BodyAnalysis, hand: tuple[int, ...], fallback: Image
) -> Image:
    """The median colour of a hand's skin (``hand``: its wrist's and fingers' MediaPipe
    points), or ``fallback`` when the photo shows too little of it."""
    found = hand_points(body.keypoints, hand)
    if found is None:
        return fallback
    centre = found.wrist + 0.5 * (found.knuckles - found.wrist)
    h, w = body.hands_mask.shape
    reach = 1.2 * found.length + 2
    x0, y0 = int(max(0, centre[0] - reach)), int(max(0, centre[1] - reach))
    x1, y1 = int(min(w, centre[0] + reach + 1)), int(min(h, centre[1] + reach + 1))
    if x1 <= x0 or y1 <= y0:
        return fallback
    pixels = person[y0:y1, x0:x1][body.hands_mask[y0:y1, x0:x1]]
    # Gloves and cuffs are not the skin to paint.
    pixels = pixels[near_skin(rgb_to_lab(pixels), body.skin_lab, chroma=20, lightness=40)]
    if len(pixels) < 40:
        return fallback
    return np.median(pixels, axis=0).round().astype(np.uint8)


ROUNDNESS_DARKEST = 0.62
"""Light on a limb's silhouette edge relative to its middle (``_roundness``)."""


def _roundness(limbs: Mask, where: Mask) -> npt.NDArray[np.float32]:
    """Light across a limb seen side on, at the pixels of ``where`` (in their order):
    1 along its middle, falling like a lit cylinder's to ``ROUNDNESS_DARKEST`` at its
    edges. Flat skin paint reads as cardboard; a round limb does not."""
    box = M.bounding_box(where)
    assert box is not None
    rows, cols = box
    pad = (rows.stop - rows.start + cols.stop - cols.start) // 8 + 2
    h, w = where.shape
    window = (
        slice(max(0, rows.start - pad), min(h, rows.stop + pad)),
        slice(max(0, cols.start - pad), min(w, cols.stop + pad)),
    )
    inside = cv2.distanceTransform(limbs[window].astype(np.uint8), cv2.DIST_L2, 3)
    # The limb's half width near each pixel: the largest distance to its edge around it.
    reach = max(3, int(np.ceil(float(inside.max()))) * 2 + 1)
    half = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach)))
    depth = np.clip(inside / np.maximum(half, 1.0), 0.0, 1.0)
    facing = np.sqrt(depth * (2.0 - depth))  # the cosine of a cylinder's normal to the eye
    light = ROUNDNESS_DARKEST + (1.0 - ROUNDNESS_DARKEST) * facing
    return np.asarray(light[where[window]], np.float32)


def _continue_scenery(person: Image, region: Mask, person_area: Mask) -> Image:
    """The photo with ``region`` filled from the scenery around it, continued inwards
    (never from the person: a face or trousers smeared into a gap would show as a
    halo)."""
    out = person.copy()
    if not region.any():
        return out
    scenery = ~person_area & ~region
    # The fill continues what surrounds the region: work on its box, grown so that
    # there is something around it to continue.
    h, w = region.shape
    rows, cols = M.bounding_box(region)  # type: ignore[misc]
    pad = max(rows.stop - rows.start, cols.stop - cols.start) // 4 + 8
    box = (
        slice(max(0, rows.start - pad), min(h, rows.stop + pad)),
        slice(max(0, cols.start - pad), min(w, cols.stop + pad)),
    )
    known = scenery[box] if scenery[box].any() else ~region[box]
    if known.any():
        M.paste(out[box], _smooth_fill(person[box], known), region[box])
    return out


def _smooth_fill(image: Image, known: Mask) -> Image:
    """``push_pull_fill`` at half resolution, upsampled: the fill is smooth anyway, and
    this costs a quarter. Only meant for the unknown pixels (known ones are blurred)."""
    h, w = known.shape
    if min(h, w) < 8:
        return push_pull_fill(image, known)
    half = (w // 2, h // 2)
    small = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    # A small pixel is known only when all four of its pixels are.
    small_known = cv2.resize(known.astype(np.float32), half, interpolation=cv2.INTER_AREA) > 0.99
    if not small_known.any():
        return push_pull_fill(image, known)
    filled = push_pull_fill(small, small_known)
    return np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


def prepare_scene(
    person: Image,
    body: BodyAnalysis,
    agnostic: Mask,
    category: Category,
    cfg: ComposeConfig | None = None,
) -> Scene:
    """Finds the old garment, measures the photo's shading on it and continues the
    scenery over it.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        agnostic: (H, W) bool, the pixels that may change.
        category: the category tried on.
    """
    cfg = cfg or ComposeConfig()
    kp = body.keypoints
    sw = float(np.linalg.norm(kp.joint(Joint.L_SHOULDER) - kp.joint(Joint.R_SHOULDER)))
    old_garment = find_old_garment(person, body, agnostic, category)
    shading = estimate_shading(person, old_garment.mask, sw, cfg)
    region = M.dilate(old_garment.mask, 2)
    backdrop = _continue_scenery(person, region, old_garment.person_area)
    bare_neck = covered_neck = neck_zone = arm_skin = np.zeros_like(old_garment.mask)
    if category is not Category.LOWER:
        arm_reach = _arm_reach(body, BARE_ARM_WIDTH) & old_garment.mask
        arm_skin = looks_like_skin(person, body.skin_lab, arm_reach, old_garment.colours)
        neck_zone = _neck_zone(body)
        neck = neck_zone & old_garment.mask
        bare_neck = skin_pixels(person, body.skin_lab, neck, old_garment.colours, by_part=True)
        covered_neck = neck & ~bare_neck
        _shade_under_chin(shading, body, covered_neck)
    face_rgb = np.round(lab_to_rgb(body.skin_lab[None, None, :])[0, 0] * 255.0).astype(np.uint8)
    paint = np.stack([face_rgb, *(_hand_colour(person, body, hand, face_rgb) for hand in HANDS)])
    box = M.bounding_box(agnostic)
    weight = np.zeros((0, 0), np.float32)
    if box is not None:
        seam = M.inner_ramp(agnostic[box], cfg.seam * agnostic.shape[0] / 1024)
        weight = seam * agnostic[box]
    return Scene(
        old_garment,
        shading,
        backdrop,
        region,
        bare_neck,
        covered_neck,
        neck_zone,
        arm_skin,
        paint,
        _gain(shading),
        box,
        weight,
    )


def compose(
    person: Image,
    body: BodyAnalysis,
    warped: WarpedGarment,
    agnostic: Mask,
    category: Category,
    cfg: ComposeConfig | None = None,
    scene: Scene | None = None,
    bare_arms: BareArms | None = None,
) -> Composite:
    """Composes the try-on image.

    Args:
        person: (H, W, 3) RGB uint8 photo.
        body: its body analysis.
        warped: the garment in the photo's frame.
        agnostic: (H, W) bool, the pixels that may change.
        category: the category tried on.
        scene: ``prepare_scene``'s result for these inputs; worked out here when None.
        bare_arms: ``find_bare_arms``' result for them (tops and dresses); worked out
            here when None.

    Returns:
        The composite; outside ``agnostic`` it equals ``person`` exactly.
    """
    cfg = cfg or ComposeConfig()
    scene = scene or prepare_scene(person, body, agnostic, category, cfg)
    box = scene.box
    if box is None:
        return Composite(
            person.copy(), np.ones(agnostic.shape, np.float32), np.zeros_like(agnostic)
        )
    old_garment = scene.old_garment
    old = old_garment.mask
    shading = scene.shading
    alpha = warped.alpha.copy()
    skin_zone = np.zeros_like(old)
    if category is not Category.LOWER:
        # Below a sleeve's end the arm is in front of the top's body: keep bare skin
        # where the photo has it and paint shaded skin where an old sleeve covered it.
        bare_arms = bare_arms or find_bare_arms(body, warped)
        arms = bare_arms.region & old
        alpha[arms & ~bare_arms.sleeves] = 0.0
        bare = mostly_bare_parts(scene.arm_skin & arms, arms)
        old = old & ~bare & ~scene.bare_neck
        skin_zone = (arms & bare_arms.limbs & ~bare) | (scene.covered_neck & ~bare)
    covered = alpha > 0.5
    hole = old & ~covered
    base = _fill(
        person,
        hole,
        skin_zone & hole,
        shading,
        scene,
        neighbour_below=category is not Category.LOWER,
        bare_arms=bare_arms,
    )
    # Blend only inside the mask's bounding box: nothing else may change.
    a = alpha[box] * scene.weight
    a3 = cv2.merge([a, a, a])
    garment = _apply_gain(warped.image[box], scene.gain[box])
    below = base[box].astype(np.float32)
    # Convex combinations of values in [0, 255]: rounding needs no clipping, and where
    # a is 0 (everywhere outside the mask) the base comes back exactly.
    blended = below + a3 * (garment - below)
    image = base
    image[box] = (blended + 0.5).astype(np.uint8)
    return Composite(image=image, shading=shading, fill_mask=hole)


def _shade_under_chin(shading: FloatImage, body: BodyAnalysis, neck: Mask) -> None:
    """Darkens ``shading`` on painted neck skin just under the chin, where the jaw
    shades it (in place)."""
    box = M.bounding_box(neck)
    if box is None:
        return
    inside = neck[box]
    rows = np.nonzero(inside)[0] + box[0].start
    chin = chin_y(body.keypoints, body.face_mask)
    depth = 0.5 * head_size(body.keypoints)
    dark = 0.65 + 0.35 * np.clip((rows - chin) / depth, 0.0, 1.0).astype(np.float32)
    shading[box][inside] *= dark


def _neck_zone(body: BodyAnalysis) -> Mask:
    kp = body.keypoints
    frame = body_frame(kp)
    neck = frame.neck
    return M.draw_stroke(
        body.person_mask.shape, [neck - frame.down * 0.35 * frame.torso_length, neck], 4 * frame.r
    )
