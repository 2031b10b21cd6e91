"""The Depth API: depth at a point and depth statistics over a box, 0/NaN meaning no data.

Points are normalised (x to the right, y down, both in [0, 1], as SpatialBot writes them) or
pixels (u column, v row).  Boxes are pixel (x1, y1, x2, y2), x2/y2 exclusive edges.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import InvalidImageError, NoDepthError, PointOutsideImageError

__all__ = [
    "DepthStats",
    "PointDepth",
    "box_depth_stats",
    "depth_at_norm",
    "depth_at_pixel",
    "norm_to_pixel",
    "valid_depth_mask",
]

DEFAULT_SEARCH_RADIUS_PX = 5


@dataclass(frozen=True)
class PointDepth:
    """Depth answered for one point; `source` says whether the pixel itself had data."""

    depth_mm: float
    u: int
    v: int
    source: Literal["pixel", "neighbourhood"]
    radius_px: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DepthStats:
    """Depth statistics over a box, in mm, over valid (non-zero, finite) pixels only."""

    center: float
    mean: float
    median: float
    min: float
    max: float
    valid_fraction: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready dict with the schema's keys."""
        return asdict(self)


def valid_depth_mask(depth: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    """True where depth holds data: > 0 and finite (0 is RealSense's no data)."""
    if depth.dtype.kind == "f":
        # NaN compares False; the upper bound drops +inf without a separate isfinite pass.
        with np.errstate(invalid="ignore"):
            return np.asarray(np.greater(depth, 0) & np.less(depth, np.inf), dtype=np.bool_)
    return np.asarray(np.greater(depth, 0), dtype=np.bool_)


def _check_depth(depth_mm: npt.NDArray[np.generic]) -> None:
    if not isinstance(depth_mm, np.ndarray) or depth_mm.ndim != 2 or depth_mm.size == 0:
        raise InvalidImageError(
            "depth_mm must be a non-empty HxW array, got "
            f"{getattr(depth_mm, 'shape', type(depth_mm).__name__)}"
        )
    if depth_mm.dtype.kind not in "uif":
        raise InvalidImageError(f"depth_mm must be numeric, got {depth_mm.dtype}")


def norm_to_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """Normalised (x, y) in [0, 1] to the pixel (u, v) that contains it."""
    if not (math.isfinite(x) and math.isfinite(y)) or not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise PointOutsideImageError(f"normalised point must be in [0, 1]^2, got ({x}, {y})")
    return min(int(x * width), width - 1), min(int(y * height), height - 1)


def depth_at_pixel(
    depth_mm: npt.NDArray[np.generic],
    u: int,
    v: int,
    search_radius_px: int = DEFAULT_SEARCH_RADIUS_PX,
) -> PointDepth:
    """Depth at pixel (u, v); without data there, the median of the nearest ring that has any.

    Raises NoDepthError when nothing within `search_radius_px` has data.
    """
    _check_depth(depth_mm)
    h, w = depth_mm.shape
    if not (0 <= u < w and 0 <= v < h):
        raise PointOutsideImageError(f"pixel ({u}, {v}) is outside the {w}x{h} image")
    value = depth_mm[v, u]
    if value > 0 and (depth_mm.dtype.kind != "f" or math.isfinite(float(value))):
        return PointDepth(float(value), u, v, "pixel", 0)
    for r in range(1, search_radius_px + 1):
        patch = depth_mm[max(v - r, 0) : v + r + 1, max(u - r, 0) : u + r + 1]
        values = patch[valid_depth_mask(patch)]
        if values.size:
            median = float(np.median(values.astype(np.float64)))
            return PointDepth(median, u, v, "neighbourhood", r)
    raise NoDepthError(
        f"no depth at pixel ({u}, {v}) nor within {search_radius_px} px (0/NaN = no data)"
    )


def depth_at_norm(
    depth_mm: npt.NDArray[np.generic],
    x: float,
    y: float,
    search_radius_px: int = DEFAULT_SEARCH_RADIUS_PX,
) -> PointDepth:
    """Depth at normalised (x, y): the Depth API call `Depth(x, y)` SpatialBot makes."""
    _check_depth(depth_mm)
    u, v = norm_to_pixel(x, y, depth_mm.shape[1], depth_mm.shape[0])
    return depth_at_pixel(depth_mm, u, v, search_radius_px)


def clip_box_px(
    box_px: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """Clip a pixel box to the image and round outward to integer edges (x2, y2 exclusive)."""
    x1, y1, x2, y2 = (float(c) for c in box_px)
    if not all(math.isfinite(c) for c in (x1, y1, x2, y2)):
        raise PointOutsideImageError(f"box has non-finite coordinates: {box_px}")
    x1, x2 = min(x1, x2), max(x1, x2)
    y1, y2 = min(y1, y2), max(y1, y2)
    ix1 = max(0, min(width, math.floor(x1)))
    iy1 = max(0, min(height, math.floor(y1)))
    ix2 = max(0, min(width, math.ceil(x2)))
    iy2 = max(0, min(height, math.ceil(y2)))
    if ix2 <= ix1 or iy2 <= iy1:
        raise PointOutsideImageError(f"box {box_px} has no area inside the {width}x{height} image")
    return ix1, iy1, ix2, iy2


def box_depth_stats(
    depth_mm: npt.NDArray[np.generic],
    box_px: tuple[float, float, float, float],
    search_radius_px: int = DEFAULT_SEARCH_RADIUS_PX,
) -> DepthStats:
    """Centre, mean, median, min, max depth and the valid fraction over a pixel box.

    The centre is the middle pixel's depth, else the median of the nearest valid ring around
    it within the box, else the box median.
    Raises NoDepthError when the box holds no valid depth at all.
    """
    _check_depth(depth_mm)
    h, w = depth_mm.shape
    x1, y1, x2, y2 = clip_box_px(box_px, w, h)
    patch = depth_mm[y1:y2, x1:x2]
    values = patch[valid_depth_mask(patch)]
    if values.size == 0:
        raise NoDepthError(f"no valid depth in box {(x1, y1, x2, y2)} (all 0/NaN)")
    values_f = values.astype(np.float64)  # mean/median in float64: no uint16 overflow
    median = float(np.median(values_f))
    try:
        # Search the centre's neighbourhood inside the box only: pixels outside it belong to
        # whatever is behind or beside the object.
        center = depth_at_pixel(
            patch, (x2 - x1 - 1) // 2, (y2 - y1 - 1) // 2, search_radius_px
        ).depth_mm
    except NoDepthError:
        center = median
    return DepthStats(
        center=center,
        mean=float(values_f.mean()),
        median=median,
        min=float(values_f.min()),
        max=float(values_f.max()),
        valid_fraction=float(values_f.size) / float(patch.size),
    )
