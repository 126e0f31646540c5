"""FID and KID between two image sets, computed the way clean-fid computes them.

clean-fid's "clean" mode: each RGB image (uint8) is resized to 299 x 299 channel by
channel with PIL's bicubic filter on float32 values (no quantisation after the resize),
clipped to [0, 255], and fed to the Inception network. FID is the Fréchet distance
between Gaussians fitted to the two feature sets (``numpy.cov``, rows are samples; the
matrix square root by ``scipy.linalg.sqrtm``; with fewer images than feature
dimensions, by an exact and faster nuclear-norm form, see ``frechet_distance``). KID is
the unbiased MMD with the cubic polynomial kernel ``(x . y / d + 1) ** 3``, averaged over
100 random subsets of at most 1,000 features per set; papers print KID x 1000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image as PILImage
from scipy import linalg

from tryon.evaluation.backbones import FeatureNet
from tryon.types import Image

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000

Features = npt.NDArray[np.float64]


def clean_resize(image: Image, size: int) -> npt.NDArray[np.float32]:
    """clean-fid's resize: per channel, float32, PIL bicubic, clipped to [0, 255].

    Args:
        image: (H, W, 3) RGB uint8.
        size: the side of the square output.

    Returns:
        (size, size, 3) float32 in [0, 255].
    """
    channels = [
        np.asarray(
            PILImage.fromarray(image[:, :, c].astype(np.float32), mode="F").resize(
                (size, size), resample=PILImage.Resampling.BICUBIC
            )
        ).clip(0, 255)
        for c in range(3)
    ]
    return np.stack(channels, axis=2).astype(np.float32)


def batches(images: Iterable[Image], size: int, batch: int) -> Iterator[torch.Tensor]:
    """Resized images as (B, 3, size, size) float32 tensors in [0, 255]."""
    pending: list[npt.NDArray[np.float32]] = []
    for image in images:
        pending.append(clean_resize(image, size))
        if len(pending) == batch:
            yield torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2).contiguous()
            pending = []
    if pending:
        yield torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2).contiguous()


def extract_features(
    images: Iterable[Image], net: FeatureNet, batch: int = 16, device: str = "cpu"
) -> Features:
    """The feature network's output for every image, (N, D) float64."""
    out = [
        net(tensor.to(device)).detach().cpu().double().numpy()
        for tensor in batches(images, net.resolution, batch)
    ]
    if not out:
        raise ValueError("no images to compute features of")
    return np.concatenate(out)


def frechet_distance(a: Features, b: Features) -> float:
    """FID between two feature sets (N, D) and (M, D); needs N, M >= 2.

    With at least as many images as feature dimensions in each set, the trace of the
    matrix square root is computed as clean-fid computes it (``scipy.linalg.sqrtm`` of
    the covariances' product). With fewer, that product is singular and a D x D square
    root is slow and inexact; the same trace is then the nuclear norm of the centred
    features' cross product, ``tr sqrt(S1 S2) = ||A1 A2^T||_* / sqrt((N - 1)(M - 1))``
    (the non-zero eigenvalues of S1 S2 are the squared singular values of that N x M
    matrix), which is exact and costs an N x M singular value decomposition.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError("FID needs at least two images in each set")
    mu1, mu2 = a.mean(0), b.mean(0)
    diff = mu1 - mu2
    if min(len(a), len(b)) >= a.shape[1]:
        sigma1 = np.atleast_2d(np.cov(a, rowvar=False))
        sigma2 = np.atleast_2d(np.cov(b, rowvar=False))
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            # Nearly singular product: as clean-fid, offset the diagonals.
            offset = np.eye(sigma1.shape[0]) * 1e-6
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        traces = np.trace(sigma1) + np.trace(sigma2)
        return float(diff @ diff + traces - 2 * np.trace(np.real(covmean)))
    centred1, centred2 = a - mu1, b - mu2
    scale = np.sqrt((len(a) - 1) * (len(b) - 1))
    cross = np.linalg.svd(centred1 @ centred2.T, compute_uv=False).sum() / scale
    traces = (centred1**2).sum() / (len(a) - 1) + (centred2**2).sum() / (len(b) - 1)
    return float(diff @ diff + traces - 2 * cross)


def kernel_distance(
    a: Features,
    b: Features,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> float:
    """KID (not scaled) between two feature sets; needs at least two images in each.

    Subsets are drawn without replacement with a seeded generator, so the value repeats.
    """
    m = min(len(a), len(b), subset_size)
    if m < 2:
        raise ValueError("KID needs at least two images in each set")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(subsets):
        x = b[rng.choice(len(b), m, replace=False)]
        y = a[rng.choice(len(a), m, replace=False)]
        k = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        cross = (x @ y.T / d + 1) ** 3
        total += (k.sum() - np.diag(k).sum()) / (m - 1) - cross.sum() * 2 / m
    return float(total / subsets / m)
