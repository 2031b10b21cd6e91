"""SpatialBot's depth image encoding: millimetres <-> a lossless 6+5+5-bit RGB image.

Reference (SpatialBot, DESIGN.md §1): R = (d // 1024) * 4, G = (d // 32) * 8 (wrapping in
uint8), B = (d % 32) * 8.  The reference wraps values >= 65536 mm silently; this module never
does.  Out-of-range policy (`invalid=`):

* ``"no_data"`` (default): NaN, +-inf, negatives and values >= 65536 mm become 0, the
  RealSense "no data" value, so they can never read as a near or a wrong far depth.
* ``"reject"``: any such value raises DepthRangeError naming how many and which kind.

uint16 input is always in range and takes the fast path.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import DepthRangeError, InvalidImageError

__all__ = [
    "MAX_DEPTH_MM",
    "InvalidPolicy",
    "decode_depth",
    "depth_m_to_mm",
    "depth_to_mm",
    "encode_depth",
]

MAX_DEPTH_MM = 65535
InvalidPolicy = Literal["no_data", "reject"]


def depth_to_mm(
    depth: npt.NDArray[np.generic], scale_m: float = 0.001, invalid: InvalidPolicy = "no_data"
) -> npt.NDArray[np.uint16]:
    """Convert a depth map in units of `scale_m` metres (any dtype) to uint16 mm.

    scale_m=0.001 for RealSense z16 at the default scale, 1.0 for 32FC1 metres.  Values are
    rounded to the nearest millimetre; the out-of-range policy is the module's.
    """
    if not isinstance(depth, np.ndarray) or depth.ndim != 2:
        raise InvalidImageError(
            f"depth must be an HxW array, got {getattr(depth, 'shape', type(depth).__name__)}"
        )
    if not np.isfinite(scale_m) or scale_m <= 0:
        raise ValueError(f"scale_m must be finite and > 0, got {scale_m}")
    if depth.dtype == np.uint16 and scale_m == 0.001:
        return depth
    if depth.dtype.kind not in "uif" or depth.dtype == np.bool_:
        raise InvalidImageError(f"depth must be numeric, got {depth.dtype}")
    mm = depth.astype(np.float64) * (scale_m * 1000.0)
    return _float_mm_to_uint16(mm, invalid)


def depth_m_to_mm(
    depth_m: npt.NDArray[np.floating], invalid: InvalidPolicy = "no_data"
) -> npt.NDArray[np.uint16]:
    """Convert float metres (32FC1, NaN = no data) to uint16 mm."""
    return depth_to_mm(depth_m, scale_m=1.0, invalid=invalid)


def _float_mm_to_uint16(mm: npt.NDArray[np.float64], invalid: InvalidPolicy) -> npt.NDArray[np.uint16]:
    with np.errstate(invalid="ignore"):
        rounded = np.rint(mm)
        bad = ~np.isfinite(rounded) | (rounded < 0) | (rounded > MAX_DEPTH_MM)
    if bad.any():
        if invalid == "reject":
            n_nan = int(np.isnan(mm).sum())
            n_inf = int(np.isinf(mm).sum())
            with np.errstate(invalid="ignore"):
                n_neg = int((rounded < 0).sum())
                n_big = int((rounded > MAX_DEPTH_MM).sum())
            raise DepthRangeError(
                f"depth has {int(bad.sum())} values SpatialBot cannot encode "
                f"(NaN {n_nan}, inf {n_inf}, negative {n_neg}, >= 65536 mm {n_big}); "
                "expected 0..65535 mm"
            )
        if invalid != "no_data":
            raise ValueError(f"invalid policy must be 'no_data' or 'reject', got {invalid!r}")
        rounded = np.where(bad, 0.0, rounded)
    return rounded.astype(np.uint16)


def encode_depth(
    depth_mm: npt.NDArray[np.generic], invalid: InvalidPolicy = "no_data"
) -> npt.NDArray[np.uint8]:
    """Encode HxW depth in mm to the (H, W, 3) uint8 image SpatialBot sees as its 2nd image."""
    if not isinstance(depth_mm, np.ndarray) or depth_mm.ndim != 2:
        raise InvalidImageError(
            "depth_mm must be an HxW array in mm, got "
            f"{getattr(depth_mm, 'shape', type(depth_mm).__name__)}"
        )
    if depth_mm.size == 0:
        raise InvalidImageError("depth_mm is empty")
    if depth_mm.dtype != np.uint16:
        if depth_mm.dtype.kind not in "uif" or depth_mm.dtype == np.bool_:
            raise InvalidImageError(f"depth_mm must be numeric, got {depth_mm.dtype}")
        depth_mm = _float_mm_to_uint16(depth_mm.astype(np.float64), invalid)
    d = depth_mm
    out = np.empty(d.shape + (3,), dtype=np.uint8)
    # Shifts instead of // and %: the same integers for uint16, several times faster.
    out[..., 0] = (d >> 10) << 2
    out[..., 1] = (d >> 5).astype(np.uint8) << 3  # the uint8 cast is the reference's wrap
    out[..., 2] = (d & 31).astype(np.uint8) << 3
    return out


def decode_depth(image: npt.NDArray[np.uint8], strict: bool = True) -> npt.NDArray[np.uint16]:
    """Decode an (H, W, 3) uint8 SpatialBot depth image back to HxW uint16 mm.

    strict: raise InvalidImageError when the low bits the encoding always leaves zero are set
    (the image was resized, compressed or is not an encoded depth map); otherwise ignore them.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(
            "encoded depth must be HxWx3 uint8, got "
            f"{getattr(image, 'shape', type(image).__name__)}"
        )
    if image.dtype != np.uint8:
        raise InvalidImageError(f"encoded depth must be uint8, got {image.dtype}")
    r = image[..., 0].astype(np.uint16)
    g = image[..., 1].astype(np.uint16)
    b = image[..., 2].astype(np.uint16)
    if strict and (((r & 3) | (g & 7) | (b & 7)).any() or (r > 252).any()):
        raise InvalidImageError(
            "not a SpatialBot depth image: R must be a multiple of 4 (<= 252), G and B "
            "multiples of 8 (was it resized or lossy-compressed?)"
        )
    return ((r >> 2) << 10) | ((g >> 3) << 5) | (b >> 3)
