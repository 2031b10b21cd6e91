"""Pixel <-> 3D in the camera's optical frame (x right, y down, z forward), metres."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.depth_api import valid_depth_mask
from spatialbot_ros.core.errors import IntrinsicsError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

__all__ = ["deproject_depth", "deproject_pixels", "project_points", "undistort_pixels"]


# OpenCV's models and the coefficient counts its functions accept for them.
_OPENCV_COUNTS = (4, 5, 8, 12, 14)
_OPENCV_MODELS = {"plumb_bob": 5, "rational_polynomial": 8}
_FISHEYE_MODELS = ("equidistant", "fisheye")
# OpenCV's default undistortion stops after 5 iterations, ~2e-3 px off at the corners of a
# strongly distorted image; these criteria converge below 1e-6 px at little cost for sparse points.
_UNDISTORT_CRITERIA = (3, 50, 1e-12)  # cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS


def _distortion(intrinsics: CameraIntrinsics) -> tuple[str, npt.NDArray[np.float64]]:
    """("pinhole" | "opencv" | "fisheye", coefficients in the length OpenCV expects)."""
    coeffs = np.asarray(intrinsics.distortion, dtype=np.float64)
    if not intrinsics.has_distortion:
        return "pinhole", coeffs
    model = intrinsics.distortion_model
    if model in _OPENCV_MODELS:
        wanted = max(_OPENCV_MODELS[model], coeffs.size)
        n = next((c for c in _OPENCV_COUNTS if c >= wanted), None)
        if n is None:
            raise IntrinsicsError(
                f"{model} takes at most 14 distortion coefficients, got {coeffs.size}"
            )
        return "opencv", np.concatenate((coeffs, np.zeros(n - coeffs.size)))
    if model in _FISHEYE_MODELS:
        if np.any(coeffs[4:] != 0.0):
            raise IntrinsicsError(
                f"{model} takes 4 distortion coefficients (k1..k4), got {coeffs.size}"
            )
        return "fisheye", np.concatenate((coeffs, np.zeros(4)))[:4]
    raise IntrinsicsError(
        f"distortion model {model!r} with non-zero coefficients is not supported; expected one "
        f"of {sorted((*_OPENCV_MODELS, *_FISHEYE_MODELS))}"
    )


def undistort_pixels(intrinsics: CameraIntrinsics, uv_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Distorted pixels (N, 2) to normalised image coordinates (N, 2) on the z = 1 plane."""
    uv = np.asarray(uv_px, dtype=np.float64).reshape(-1, 2)
    kind, coeffs = _distortion(intrinsics)
    if kind == "pinhole" or uv.shape[0] == 0:
        return np.column_stack(
            ((uv[:, 0] - intrinsics.cx) / intrinsics.fx, (uv[:, 1] - intrinsics.cy) / intrinsics.fy)
        )
    import cv2  # lazy: only distorted cameras need OpenCV here

    src = uv.reshape(-1, 1, 2)
    if kind == "fisheye":
        pts = cv2.fisheye.undistortPoints(src, intrinsics.K, coeffs, criteria=_UNDISTORT_CRITERIA)
    elif hasattr(cv2, "undistortPointsIter"):  # OpenCV 4: criteria only on the Iter variant
        pts = cv2.undistortPointsIter(src, intrinsics.K, coeffs, None, None, _UNDISTORT_CRITERIA)
    else:
        pts = cv2.undistortPoints(src, intrinsics.K, coeffs, criteria=_UNDISTORT_CRITERIA)
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def deproject_pixels(
    intrinsics: CameraIntrinsics, uv_px: npt.ArrayLike, depth_m: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Pixels (N, 2) with depths (N,) in metres to points (N, 3) in the optical frame, metres."""
    xy = undistort_pixels(intrinsics, uv_px)
    z = np.asarray(depth_m, dtype=np.float64).reshape(-1)
    if z.shape[0] != xy.shape[0]:
        raise SizeMismatchError(f"{xy.shape[0]} pixels but {z.shape[0]} depths")
    return np.column_stack((xy[:, 0] * z, xy[:, 1] * z, z))


def project_points(
    intrinsics: CameraIntrinsics, xyz_camera_m: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Points (N, 3) in the optical frame, metres, to pixels (N, 2); z <= 0 gives NaN."""
    p = np.asarray(xyz_camera_m, dtype=np.float64).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(p[:, 2] > 0, p[:, 2], np.nan)
        x, y = p[:, 0] / z, p[:, 1] / z
    kind, coeffs = _distortion(intrinsics)
    if kind != "pinhole":
        import cv2  # lazy

        ok = np.isfinite(x)
        uv = np.full((p.shape[0], 2), np.nan)
        if ok.any():
            obj = np.column_stack((x[ok], y[ok], np.ones(int(ok.sum())))).reshape(-1, 1, 3)
            zero = np.zeros((3, 1))
            if kind == "fisheye":
                proj, _ = cv2.fisheye.projectPoints(obj, zero, zero, intrinsics.K, coeffs)
            else:
                proj, _ = cv2.projectPoints(obj, zero, zero, intrinsics.K, coeffs)
            uv[ok] = np.asarray(proj, dtype=np.float64).reshape(-1, 2)
        return uv
    return np.column_stack((x * intrinsics.fx + intrinsics.cx, y * intrinsics.fy + intrinsics.cy))


def deproject_depth(
    intrinsics: CameraIntrinsics,
    depth_mm: npt.NDArray[np.generic],
    mask: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Valid depth pixels (optionally only where `mask`) to points (N, 3), optical frame, metres."""
    if depth_mm.shape != intrinsics.size:
        raise SizeMismatchError(
            f"depth is {depth_mm.shape[1]}x{depth_mm.shape[0]} but intrinsics are "
            f"{intrinsics.width}x{intrinsics.height}"
        )
    valid = valid_depth_mask(depth_mm)
    if mask is not None:
        if mask.shape != depth_mm.shape:
            raise SizeMismatchError(f"mask shape {mask.shape} != depth shape {depth_mm.shape}")
        valid &= mask
    v, u = np.nonzero(valid)
    z_m = depth_mm[v, u].astype(np.float64) * 1e-3
    return deproject_pixels(intrinsics, np.column_stack((u, v)), z_m)
