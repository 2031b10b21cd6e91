"""Pixel <-> 3D in the camera's optical frame (x right, y down, z forward), metres."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.depth_api import valid_depth_mask
from spatialbot_ros.core.errors import SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

__all__ = ["deproject_depth", "deproject_pixels", "project_points", "undistort_pixels"]


def undistort_pixels(intrinsics: CameraIntrinsics, uv_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Distorted pixels (N, 2) to normalised image coordinates (N, 2) on the z = 1 plane."""
    uv = np.asarray(uv_px, dtype=np.float64).reshape(-1, 2)
    if not intrinsics.has_distortion or intrinsics.distortion_model not in (
        "plumb_bob",
        "rational_polynomial",
    ):
        return np.column_stack(
            ((uv[:, 0] - intrinsics.cx) / intrinsics.fx, (uv[:, 1] - intrinsics.cy) / intrinsics.fy)
        )
    import cv2  # lazy: only distorted cameras need OpenCV here

    pts = cv2.undistortPoints(
        uv.reshape(-1, 1, 2), intrinsics.K, np.asarray(intrinsics.distortion, dtype=np.float64)
    )
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
    if intrinsics.has_distortion and intrinsics.distortion_model in (
        "plumb_bob",
        "rational_polynomial",
    ):
        import cv2  # lazy

        ok = np.isfinite(x)
        uv = np.full((p.shape[0], 2), np.nan)
        if ok.any():
            obj = np.column_stack((x[ok], y[ok], np.ones(int(ok.sum()))))
            proj, _ = cv2.projectPoints(
                obj.reshape(-1, 1, 3),
                np.zeros(3),
                np.zeros(3),
                intrinsics.K,
                np.asarray(intrinsics.distortion, dtype=np.float64),
            )
            uv[ok] = proj.reshape(-1, 2)
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
