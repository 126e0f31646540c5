"""Points, polylines and frames."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float32]


def polyline_length(polyline: npt.ArrayLike) -> float:
    """Total length of an (N, 2) polyline."""
    pts = np.asarray(polyline, np.float64)
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0


def point_at_length(polyline: npt.ArrayLike, distance: float) -> tuple[Points, Points]:
    """The point at arc length ``distance`` along a polyline, and the unit direction there.

    Distances beyond the end extend the last segment; negative ones the first.

    Returns:
        (point (2,), direction (2,)), float32.
    """
    points, directions = points_at_lengths(polyline, [distance])
    return points[0], directions[0]


def points_at_lengths(polyline: npt.ArrayLike, distances: npt.ArrayLike) -> tuple[Points, Points]:
    """``point_at_length`` at each of K distances: (K, 2) points and (K, 2) directions."""
    pts = np.asarray(polyline, np.float64)
    along = np.asarray(distances, np.float64).reshape(-1)
    seg = np.diff(pts, axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    keep = lengths > 1e-9
    if not keep.any():
        return (
            np.repeat(pts[:1], len(along), axis=0).astype(np.float32),
            np.repeat(np.array([[0.0, 1.0]], np.float32), len(along), axis=0),
        )
    seg, lengths = seg[keep], lengths[keep]
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    origins = pts[0] + np.concatenate([np.zeros((1, 2)), np.cumsum(seg, axis=0)[:-1]])
    i = np.clip(np.searchsorted(starts, along, side="right") - 1, 0, len(seg) - 1)
    direction = seg[i] / lengths[i][:, None]
    point = origins[i] + direction * (along - starts[i])[:, None]
    return point.astype(np.float32), direction.astype(np.float32)


def polyline_between(polyline: npt.ArrayLike, start: float, end: float) -> Points:
    """The part of a polyline between arc lengths ``start`` and ``end`` (start < end),
    beginning and ending exactly there, with the original vertices in between."""
    pts = np.asarray(polyline, np.float32)
    first, _ = point_at_length(pts, start)
    last, _ = point_at_length(pts, end)
    reach = np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))
    inner = [p for p, d in zip(pts[1:], reach, strict=True) if start < d < end]
    return np.array([first, *inner, last], np.float32)


def arc_position(polyline: npt.ArrayLike, point: npt.ArrayLike) -> float:
    """Arc length along a polyline of the point's closest projection onto it."""
    return float(arc_positions(polyline, point)[0])


def arc_positions(polyline: npt.ArrayLike, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``arc_position`` of each of N points (N, 2): (N,) float64."""
    pts = np.asarray(polyline, np.float64)
    ps = np.asarray(points, np.float64).reshape(-1, 2)
    best = np.zeros(len(ps))
    best_d = np.full(len(ps), np.inf)
    run = 0.0
    for a, b in itertools.pairwise(pts):
        seg = b - a
        n = float(seg @ seg) or 1.0
        t = np.clip((ps - a) @ seg / n, 0, 1)
        d = np.linalg.norm(a + t[:, None] * seg - ps, axis=1)
        closer = d < best_d
        best = np.where(closer, run + t * np.sqrt(n), best)
        best_d = np.where(closer, d, best_d)
        run += float(np.sqrt(n))
    return best


def perpendicular(direction: npt.ArrayLike) -> Points:
    """Rotates a 2-D direction by +90 degrees in image coordinates (x right, y down)."""
    d = np.asarray(direction, np.float32)
    return np.array([-d[1], d[0]], np.float32)


def unit(vector: npt.ArrayLike) -> Points:
    """Normalises a vector; the zero vector becomes (1, 0)."""
    v = np.asarray(vector, np.float32)
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 1e-9 else np.array([1.0, 0.0], np.float32)
