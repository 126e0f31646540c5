"""Light-on-light product photos built from real ones, with their true garment masks.

A real product photo's garment keeps its outline, its shading, folds and seams, but is
turned into a white, cream or light-grey garment on a near-white or light-grey studio
backdrop, with an optional soft drop shadow, sensor noise and JPEG compression: the
standard e-commerce shot of a light garment, whose true mask is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LightLook:
    """How the light photo looks.

    Attributes:
        name: short name for reports.
        garment: mean RGB of the garment, 0..255.
        backdrop: RGB of the backdrop at the image centre, 0..255.
        shading: RGB span of the garment's shading (its 5th to 95th percentile of
            relative brightness maps onto this many levels).
    """

    name: str
    garment: tuple[float, float, float]
    backdrop: tuple[float, float, float]
    shading: float = 26.0


LOOKS = (
    LightLook("white-on-white", (247, 247, 247), (245, 245, 245), 22.0),
    LightLook("bright-white-on-grey", (250, 250, 250), (236, 236, 237), 22.0),
    LightLook("cream-on-white", (243, 238, 226), (247, 247, 247), 24.0),
    LightLook("light-grey-on-white", (222, 223, 225), (248, 248, 248), 30.0),
    LightLook("light-grey-on-grey", (224, 224, 226), (234, 234, 235), 30.0),
)


def light_photo(
    photo: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.bool_],
    look: LightLook,
    *,
    shadow: bool,
    seed: int = 0,
    jpeg_quality: int = 85,
) -> npt.NDArray[np.uint8]:
    """Repaints a real product photo's garment light on a light backdrop.

    Args:
        photo: (H, W, 3) RGB uint8 real product photo.
        mask: (H, W) bool true garment mask of ``photo``.
        look: garment and backdrop colours.
        shadow: add a soft drop shadow below and right of the garment.
        seed: seed of the sensor noise.
        jpeg_quality: quality of the final JPEG round trip.

    Returns:
        (H, W, 3) RGB uint8 photo; its garment mask is ``mask``.
    """
    h, w = mask.shape
    scale = max(h, w) / 1024
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = grey[mask]
    low, mid, high = np.percentile(inside, [5, 50, 95])
    relative = np.clip((grey - mid) / max(high - low, 1.0), -1.5, 1.0)
    garment = np.asarray(look.garment, np.float32) + look.shading * relative[..., None]
    backdrop = _backdrop(h, w, np.asarray(look.backdrop, np.float32))
    if shadow:
        offset = np.float32([[1, 0, 8 * scale], [0, 1, 16 * scale]])
        cast = cv2.warpAffine(mask.astype(np.float32), offset, (w, h))
        cast = cv2.GaussianBlur(cast, (0, 0), 14 * scale)
        backdrop *= 1 - 0.14 * cast[..., None]
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8 * scale)[..., None]
    image = alpha * garment + (1 - alpha) * backdrop
    rng = np.random.default_rng(seed)
    image += rng.normal(0, 1.6, (h, w, 1)) + rng.normal(0, 1.0, (h, w, 3))
    out = np.clip(np.round(image), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _backdrop(h: int, w: int, centre: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A studio backdrop: ``centre`` in the middle, a little darker towards the corners
    and the bottom (a sweep lit from above)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xs / w - 0.5, ys / h - 0.5
    fall = 1 - 0.012 * (u * u + v * v) / 0.5 - 0.008 * v
    return centre * fall[..., None]


def iou(found: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    """Intersection over union of two (H, W) bool masks."""
    union = (found | truth).sum()
    return float((found & truth).sum() / union) if union else 1.0
