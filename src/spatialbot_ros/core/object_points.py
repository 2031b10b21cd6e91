"""The 3D points of a grounded object: its mask, or the foreground of its box."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.camera_model import deproject_depth
from spatialbot_ros.core.depth_api import clip_box_px, valid_depth_mask
from spatialbot_ros.core.errors import NoDepthError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

__all__ = ["object_points_camera"]

# A box drawn around an object also holds the table/wall behind it.  Keeping only points
# within this band of the box's near-depth percentile keeps the object and drops background.
DEFAULT_FOREGROUND_BAND_MM = 80.0
_NEAR_PERCENTILE = 10.0


def object_points_camera(
    depth_mm: npt.NDArray[np.uint16],
    intrinsics: CameraIntrinsics,
    box_px: tuple[float, float, float, float],
    mask: npt.NDArray[np.bool_] | None = None,
    foreground_band_mm: float = DEFAULT_FOREGROUND_BAND_MM,
) -> npt.NDArray[np.float64]:
    """Object points (N, 3) in the optical frame, metres: the mask's, else the box foreground.

    Raises NoDepthError when no valid depth is left.
    """
    if mask is not None:
        if mask.shape != depth_mm.shape:
            raise SizeMismatchError(f"mask shape {mask.shape} != depth shape {depth_mm.shape}")
        region = mask & valid_depth_mask(depth_mm)
    else:
        x1, y1, x2, y2 = clip_box_px(box_px, depth_mm.shape[1], depth_mm.shape[0])
        region = np.zeros(depth_mm.shape, dtype=bool)
        patch = depth_mm[y1:y2, x1:x2]
        valid = valid_depth_mask(patch)
        if valid.any():
            near_mm = float(np.percentile(patch[valid], _NEAR_PERCENTILE))
            region[y1:y2, x1:x2] = valid & (patch <= near_mm + foreground_band_mm)
    if not region.any():
        raise NoDepthError(f"no valid depth on the object (box {box_px})")
    return deproject_depth(intrinsics, depth_mm, region)
