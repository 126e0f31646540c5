"""Per-image metrics: SSIM and LPIPS against ground truth, and what shops check.

All images are RGB uint8 (H, W, 3) of one size; masks bool (H, W) of that size.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from tryon.evaluation.backbones import LPIPS
from tryon.ops.color import delta_e76, rgb_to_lab
from tryon.types import Image, Joint, Mask

PSNR_IDENTICAL = 100.0
"""PSNR reported for identical regions (the MSE is 0): a cap, so averages stay finite."""

CHANGE_TOLERANCE = 8
"""A pixel counts as changed when a channel differs by more than this (0-255): JPEG
round trips move untouched pixels by a few levels."""

FACE_JOINTS = (Joint.NOSE, Joint.R_EYE, Joint.L_EYE, Joint.R_EAR, Joint.L_EAR)


def to_tensor(image: Image) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.array(image, np.uint8)).permute(2, 0, 1)[None].float() / 255


def ssim(result: Image, truth: Image) -> float:
    """SSIM with torchmetrics (Gaussian window 11, sigma 1.5, data range 1, RGB mean)."""
    _same_shape(result, truth)
    value = structural_similarity_index_measure(to_tensor(result), to_tensor(truth), data_range=1.0)
    assert isinstance(value, torch.Tensor)
    return float(value)


def lpips(result: Image, truth: Image, model: LPIPS) -> float:
    """LPIPS distance (lower is closer) with ``model``."""
    _same_shape(result, truth)
    device = next(model.parameters()).device
    return float(model(to_tensor(result).to(device), to_tensor(truth).to(device))[0])


def psnr(a: Image, b: Image, mask: Mask | None = None) -> float:
    """PSNR in dB over ``mask`` (or the whole image); ``PSNR_IDENTICAL`` when equal."""
    _same_shape(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        diff = diff[mask]
    if diff.size == 0:
        return math.nan
    mse = float(np.mean(diff**2))
    return PSNR_IDENTICAL if mse == 0 else min(PSNR_IDENTICAL, 10 * math.log10(255**2 / mse))


def changed_outside(
    result: Image, person: Image, agnostic: Mask, tolerance: int = CHANGE_TOLERANCE
) -> float:
    """Fraction of the pixels outside ``agnostic`` whose colour changed (0: untouched)."""
    _same_shape(result, person)
    outside = ~agnostic
    if not outside.any():
        return 0.0
    diff = np.abs(result.astype(np.int16) - person.astype(np.int16)).max(axis=2)
    return float((diff[outside] > tolerance).mean())


def face_region(keypoints: npt.NDArray[np.float32], shape: tuple[int, int]) -> Mask | None:
    """A box around the face from OpenPose-18 keypoints; None without a visible face.

    With ``d`` the nose-to-neck distance (the neck is the shoulders' midpoint), the box is
    centred on the visible face joints (nose, eyes, ears) across, ``0.7 d`` wide, and runs
    from ``0.6 d`` above the nose (forehead) to ``0.35 d`` below it (above the chin, so
    collars stay out). Without a neck, ``d`` is twice the spread of the face joints.

    Args:
        keypoints: (18, 3) rows (x, y, confidence) in pixels.
        shape: (height, width) of the image.
    """
    seen = keypoints[list(FACE_JOINTS)]
    seen = seen[seen[:, 2] > 0][:, :2]
    nose, neck = keypoints[Joint.NOSE], keypoints[Joint.NECK]
    if len(seen) < 2 or nose[2] <= 0:
        return None
    if neck[2] > 0:
        d = float(np.hypot(*(neck[:2] - nose[:2])))
    else:
        d = 2 * float(np.ptp(seen, axis=0).max())
    if d < 4:
        return None
    h, w = shape
    cx = float(seen[:, 0].mean())
    x0, x1 = int(max(0, cx - 0.35 * d)), int(min(w, cx + 0.35 * d))
    y0, y1 = int(max(0, nose[1] - 0.6 * d)), int(min(h, nose[1] + 0.35 * d))
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def garment_delta_e(
    result: Image,
    person: Image,
    agnostic: Mask,
    garment: Image,
    garment_mask: Mask,
    tolerance: int = CHANGE_TOLERANCE,
) -> float:
    """Colour fidelity: CIE76 Delta E between the garment's colour and the worn garment's.

    The garment's colour is the median CIELAB of its photo inside ``garment_mask``. The
    worn garment is looked for among the result's pixels inside ``agnostic`` that the
    try-on changed (agnostic masks reach into the background, which a try-on leaves as
    it was; when under 1 % of the mask changed, the whole mask): they are split into
    ``COLOUR_CLUSTERS`` colour clusters, and the answer is the distance to the nearest
    centre among the clusters holding at least ``MIN_CLUSTER_SHARE`` of them (a re-drawn
    garment also changes edge, skin and background pixels). About 2.3 is a just
    noticeable difference.
    """
    _same_shape(result, person)
    if not agnostic.any() or not garment_mask.any():
        return math.nan
    moved = np.abs(result.astype(np.int16) - person.astype(np.int16)).max(axis=2) > tolerance
    drawn = agnostic & moved
    region = drawn if drawn.sum() >= 0.01 * agnostic.sum() else agnostic
    shown = np.median(rgb_to_lab(garment[garment_mask]), axis=0)
    centres, shares = colour_clusters(rgb_to_lab(result[region]), COLOUR_CLUSTERS)
    substantial = centres[shares >= MIN_CLUSTER_SHARE]
    return float(delta_e76(substantial, shown).min())


COLOUR_CLUSTERS = 3
MIN_CLUSTER_SHARE = 0.2
CLUSTER_SAMPLES = 20_000


def colour_clusters(
    lab: npt.NDArray[np.float32], k: int, iterations: int = 10
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """k-means of CIELAB colours, deterministic (started at lightness quantiles).

    Args:
        lab: (N, 3) float32 CIELAB colours, N >= 1.
        k: clusters.

    Returns:
        (k, 3) centres and (k,) the share of the colours nearest to each.
    """
    step = max(1, len(lab) // CLUSTER_SAMPLES)
    sample = lab[::step].astype(np.float64)
    order = np.argsort(sample[:, 0])
    picks = order[np.linspace(0, len(order) - 1, k * 2 + 1)[1::2].astype(int)]
    centres = sample[picks]
    for _ in range(iterations):
        labels = ((sample[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for c in range(k):
            if (labels == c).any():
                centres[c] = sample[labels == c].mean(0)
    labels = ((sample[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    shares = np.bincount(labels, minlength=k) / len(labels)
    return centres.astype(np.float32), shares


def _same_shape(a: Image, b: Image) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} and {b.shape}")
