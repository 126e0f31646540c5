"""Thin-plate splines in 2-D.

A thin-plate spline f: R^2 -> R^2 passes through N control points (exactly when the
regularisation is 0) and bends as little as possible elsewhere; with fewer than three
non-collinear points it degrades to the best affine map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _radial(r2: Array) -> Array:
    """U(r) = r^2 log r^2, with U(0) = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r2 * np.log(r2)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class ThinPlateSpline:
    """A fitted spline; call ``transform`` on points.

    Attributes:
        controls: (N, 2) source control points, normalised coordinates.
        weights: (N, 2) radial weights.
        affine: (3, 2) affine part acting on (1, x, y).
        centre: (2,) normalisation offset of the source frame.
        scale: normalisation scale of the source frame.
    """

    controls: Array
    weights: Array
    affine: Array
    centre: Array
    scale: float

    def transform(self, points: npt.ArrayLike) -> Array:
        """Maps (..., 2) source points to (..., 2) destination points."""
        pts = np.asarray(points, np.float64)
        shape = pts.shape
        flat = (pts.reshape(-1, 2) - self.centre) / self.scale
        d2 = ((flat[:, None, :] - self.controls[None, :, :]) ** 2).sum(-1)
        out = _radial(d2) @ self.weights + self.affine[0] + flat @ self.affine[1:]
        return out.reshape(shape)


def fit_tps(
    source: npt.ArrayLike, target: npt.ArrayLike, regularization: float = 0.0
) -> ThinPlateSpline:
    """Fits the thin-plate spline that maps ``source`` control points onto ``target``.

    Args:
        source: (N, 2) control points in the source frame, N >= 1.
        target: (N, 2) where each source point must land.
        regularization: >= 0; 0 interpolates exactly, larger values smooth (in units of
            the normalised frame, where the control points span about 1).

    Returns:
        The spline. Coordinates are normalised internally, so results do not depend on
        the pixel scale.

    Raises:
        ValueError: shapes differ, fewer than one point, or a non-finite coordinate.
    """
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or len(src) < 1:
        raise ValueError(f"need two (N, 2) arrays with N >= 1, got {src.shape} and {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("control points must be finite")
    if regularization < 0:
        raise ValueError(f"regularization must be >= 0, got {regularization}")
    centre = src.mean(0)
    scale = float(np.abs(src - centre).max()) or 1.0
    s = (src - centre) / scale
    n = len(s)
    k = _radial(((s[:, None, :] - s[None, :, :]) ** 2).sum(-1)) + regularization * np.eye(n)
    p = np.hstack([np.ones((n, 1)), s])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = k
    system[:n, n:] = p
    system[n:, :n] = p.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = dst
    # lstsq: collinear or repeated control points leave the affine part underdetermined;
    # the minimum-norm solution is still a valid interpolant.
    solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return ThinPlateSpline(s, solution[:n], solution[n:], centre, scale)


def dense_backward_map(
    spline: ThinPlateSpline,
    height: int,
    width: int,
    step: int = 8,
    origin: tuple[int, int] = (0, 0),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Evaluates a destination->source spline on a coarse grid and upsamples it.

    Args:
        spline: maps destination pixels (x, y) to source pixels.
        height, width: size of the destination window.
        origin: (x, y) of the window's top-left pixel in the destination image.
        step: grid spacing in pixels; the spline is smooth, so bilinear upsampling of a
            coarse grid is accurate to a fraction of a pixel and far cheaper.

    Returns:
        (map_x, map_y), each (height, width) float32, ready for ``cv2.remap``.
    """
    import cv2

    gh, gw = max(2, -(-height // step) + 1), max(2, -(-width // step) + 1)
    ys = np.linspace(0, (gh - 1) * step, gh)
    xs = np.linspace(0, (gw - 1) * step, gw)
    grid = np.stack(np.meshgrid(xs + origin[0], ys + origin[1]), -1)
    coarse = spline.transform(grid).astype(np.float32)
    # Sample the coarse grid at (x / step, y / step): bilinear with exact corner alignment.
    gx = np.broadcast_to(np.arange(width, dtype=np.float32) / step, (height, width))
    gy = np.broadcast_to(np.arange(height, dtype=np.float32)[:, None] / step, (height, width))
    fine = cv2.remap(coarse, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(fine[..., 0]), np.ascontiguousarray(fine[..., 1])
