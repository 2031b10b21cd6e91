"""Pinhole camera intrinsics and their conversion from CameraInfo and pyrealsense2."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import IntrinsicsError

__all__ = ["CameraIntrinsics"]

# realsense-ros names; "plumb_bob" and "rational_polynomial" are what OpenCV understands.
_RS_MODEL_NAMES = {
    "none": "plumb_bob",
    "brown_conrady": "plumb_bob",
    "modified_brown_conrady": "plumb_bob",
    "inverse_brown_conrady": "plumb_bob",
    "kannala_brandt4": "equidistant",
    "ftheta": "equidistant",
}


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one image stream, sizes in pixels, distortion as in CameraInfo."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = "plumb_bob"
    distortion: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        """Validate: positive size, finite non-zero focal lengths, finite centre."""
        if self.width <= 0 or self.height <= 0:
            raise IntrinsicsError(f"image size must be positive, got {self.width}x{self.height}")
        for name in ("fx", "fy"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0.0:
                raise IntrinsicsError(f"{name} must be finite and > 0, got {value}")
        for name in ("cx", "cy"):
            if not math.isfinite(getattr(self, name)):
                raise IntrinsicsError(f"{name} must be finite, got {getattr(self, name)}")
        if not all(math.isfinite(d) for d in self.distortion):
            raise IntrinsicsError(f"distortion must be finite, got {self.distortion}")

    @property
    def K(self) -> npt.NDArray[np.float64]:
        """3x3 camera matrix."""
        return np.array(
            [[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=np.float64
        )

    @property
    def has_distortion(self) -> bool:
        """True when any distortion coefficient is non-zero."""
        return any(d != 0.0 for d in self.distortion)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width), the numpy shape order."""
        return (self.height, self.width)

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """Intrinsics of the same camera resized to width x height."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(
            width,
            height,
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            self.distortion_model,
            self.distortion,
        )

    @classmethod
    def from_camera_info(cls, msg: Any) -> CameraIntrinsics:
        """Build from any sensor_msgs/CameraInfo-like object (rclpy or rosbags)."""
        k = [float(v) for v in msg.k]
        if len(k) != 9:
            raise IntrinsicsError(f"CameraInfo.k must have 9 values, got {len(k)}")
        if k[8] == 0.0:
            raise IntrinsicsError("CameraInfo.k[8] is 0: camera_info is uncalibrated/empty")
        return cls(
            width=int(msg.width),
            height=int(msg.height),
            fx=k[0],
            fy=k[4],
            cx=k[2],
            cy=k[5],
            distortion_model=str(msg.distortion_model or "plumb_bob"),
            distortion=tuple(float(d) for d in msg.d),
        )

    @classmethod
    def from_realsense(cls, intr: Any) -> CameraIntrinsics:
        """Build from a pyrealsense2.intrinsics object (or one with the same fields)."""
        model = str(getattr(intr, "model", "none")).split(".")[-1].lower()
        return cls(
            width=int(intr.width),
            height=int(intr.height),
            fx=float(intr.fx),
            fy=float(intr.fy),
            cx=float(intr.ppx),
            cy=float(intr.ppy),
            distortion_model=_RS_MODEL_NAMES.get(model, "plumb_bob"),
            distortion=tuple(float(c) for c in intr.coeffs),
        )

    def to_camera_info_fields(self) -> dict[str, Any]:
        """Field values of a sensor_msgs/CameraInfo (without header), for any message class."""
        k = self.K.reshape(-1)
        p = np.zeros((3, 4))
        p[:, :3] = self.K
        return {
            "height": self.height,
            "width": self.width,
            "distortion_model": self.distortion_model,
            "d": np.asarray(self.distortion or (0.0,) * 5, dtype=np.float64),
            "k": k.astype(np.float64),
            "r": np.eye(3).reshape(-1),
            "p": p.reshape(-1),
        }
