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

from typing import Any, Literal

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
    _check_policy(invalid)
    if depth.dtype == np.uint16 and scale_m == 0.001:
        return np.asarray(depth, dtype=np.uint16)  # already mm: no copy
    if depth.dtype.kind not in "uif" or depth.dtype == np.bool_:
        raise InvalidImageError(f"depth must be numeric, got {depth.dtype}")
    mm = depth.astype(np.float64)
    factor = scale_m * 1000.0
    if factor != 1.0:
        mm *= factor
    return _float_mm_to_uint16(mm, invalid)


def depth_m_to_mm(
    depth_m: npt.NDArray[np.floating], invalid: InvalidPolicy = "no_data"
) -> npt.NDArray[np.uint16]:
    """Convert float metres (32FC1, NaN = no data) to uint16 mm."""
    return depth_to_mm(depth_m, scale_m=1.0, invalid=invalid)


def _float_mm_to_uint16(
    mm: npt.NDArray[np.float64], invalid: InvalidPolicy
) -> npt.NDArray[np.uint16]:
    """Round float mm (a scratch array, overwritten) to uint16 under the range policy."""
    np.rint(mm, out=mm)
    # NaN fails both comparisons, so one range test catches NaN, +-inf, < 0 and > 65535.
    with np.errstate(invalid="ignore"):
        ok = mm >= 0.0
        ok &= mm <= MAX_DEPTH_MM
    if not ok.all():
        bad = ~ok
        if invalid == "reject":
            with np.errstate(invalid="ignore"):
                n_neg = int((mm < 0).sum())
                n_big = int((mm > MAX_DEPTH_MM).sum())
            raise DepthRangeError(
                f"depth has {int(bad.sum())} values SpatialBot cannot encode "
                f"(NaN {int(np.isnan(mm).sum())}, inf {int(np.isinf(mm).sum())}, "
                f"negative {n_neg}, >= 65536 mm {n_big}); expected 0..65535 mm"
            )
        np.copyto(mm, 0.0, where=bad)
    return mm.astype(np.uint16)


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
        raise InvalidImageError(f"depth_mm is empty ({depth_mm.shape[0]}x{depth_mm.shape[1]})")
    _check_policy(invalid)
    if depth_mm.dtype != np.uint16 or not depth_mm.dtype.isnative:
        if depth_mm.dtype.kind not in "uif" or depth_mm.dtype == np.bool_:
            raise InvalidImageError(f"depth_mm must be numeric, got {depth_mm.dtype}")
        if depth_mm.dtype.kind == "u" and depth_mm.dtype.itemsize <= 2:
            depth_mm = depth_mm.astype(np.uint16)  # uint8 / big-endian uint16: always in range
        else:
            depth_mm = _float_mm_to_uint16(depth_mm.astype(np.float64), invalid)
    d = depth_mm
    # Shifts and masks on contiguous uint16 planes, then one interleave: the same integers as
    # the reference's // and % (R = d>>10<<2, G = (d>>5<<3) mod 256, B = (d&31)<<3), but each
    # pass is a vectorised uint16 op; uint8 shifts and strided writes are several times slower.
    t = np.right_shift(d, 8)
    t &= 0xFC
    r = t.astype(np.uint8)
    np.right_shift(d, 2, out=t)
    t &= 0xF8
    g = t.astype(np.uint8)
    np.left_shift(d, 3, out=t)  # bits above 7 fall off in the uint8 cast: the (d % 32) * 8
    b = t.astype(np.uint8)
    cv2 = _cv2()
    if cv2 is not None:
        return np.asarray(cv2.merge((r, g, b)), dtype=np.uint8)
    out = np.empty((*d.shape, 3), dtype=np.uint8)
    out[..., 0] = r
    out[..., 1] = g
    out[..., 2] = b
    return out


# Bits the encoding always leaves zero, per channel (R: 2 low bits, G and B: 3), as uint64
# words over 8 pixels (24 bytes): in the image's bytes seen as uint64, word k of every 3 holds
# the same channel positions, so OR-ing words column-wise keeps the channels apart.
_ZERO_BITS = np.frombuffer(bytes((3, 7, 7) * 8), dtype=np.uint64)
_FOLD_GROUPS = 256  # OR rows of 256 word triples at once: long contiguous SIMD reductions


def _has_stray_low_bits(image: npt.NDArray[np.uint8]) -> bool:
    flat = image.reshape(-1)
    n_main = (flat.size // 24) * 24
    if n_main:
        words = flat[:n_main].view(np.uint64)
        acc = np.zeros(3, dtype=np.uint64)
        n_folded = (words.size // (3 * _FOLD_GROUPS)) * 3 * _FOLD_GROUPS
        if n_folded:
            rows = words[:n_folded].reshape(-1, 3 * _FOLD_GROUPS)
            column_or = np.bitwise_or.reduce(rows, axis=0).reshape(_FOLD_GROUPS, 3)
            acc |= np.bitwise_or.reduce(column_or, axis=0)
        if n_folded < words.size:
            acc |= np.bitwise_or.reduce(words[n_folded:].reshape(-1, 3), axis=0)
        if (acc & _ZERO_BITS).any():
            return True
    tail = flat[n_main:].reshape(-1, 3)
    return bool(((tail[:, 0] & 3) | (tail[:, 1] & 7) | (tail[:, 2] & 7)).any())


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
    if image.size == 0:
        raise InvalidImageError(f"encoded depth is empty ({image.shape[0]}x{image.shape[1]})")
    image = np.ascontiguousarray(image)
    if strict and _has_stray_low_bits(image):
        raise InvalidImageError(
            "not a SpatialBot depth image: R must be a multiple of 4 (<= 252), G and B "
            "multiples of 8 (was it resized or lossy-compressed?)"
        )
    h, w = image.shape[:2]
    cv2 = _cv2()
    if cv2 is not None:
        # OpenCV de-interleaves into planes we allocate (its own allocation costs 5x the
        # split); contiguous uint16 ops on the planes then beat strided uint8 reads 2x.
        planes = [np.empty((h, w), dtype=np.uint8) for _ in range(3)]
        cv2.split(image, planes)
        r, g, b = planes
    else:
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
    # d = (R >> 2) << 10 | (G >> 3) << 5 | B >> 3 = (R & ~3) << 8 | (G & ~7) << 2 | B >> 3.
    out = np.empty((h, w), dtype=np.uint16)
    t = np.empty((h, w), dtype=np.uint16)
    np.copyto(out, r)
    out <<= 8
    np.copyto(t, g)
    t <<= 2
    if not strict:  # the checked bits are zero in strict mode, so only lenient decoding masks
        out &= 0xFC00
        t &= 0x3E0
    out |= t
    np.copyto(t, b)
    t >>= 3
    out |= t
    return out


def _check_policy(invalid: str) -> None:
    if invalid not in ("no_data", "reject"):
        raise ValueError(f"invalid policy must be 'no_data' or 'reject', got {invalid!r}")


_CV2_STATE: list[Any] = []


def _cv2() -> Any:
    """OpenCV if importable (its SIMD interleave and transform beat numpy here), else None."""
    if not _CV2_STATE:
        module: Any = None
        try:
            import cv2  # lazy: core must import without OpenCV

            module = cv2
        except ImportError:
            pass
        _CV2_STATE.append(module)
    return _CV2_STATE[0]
