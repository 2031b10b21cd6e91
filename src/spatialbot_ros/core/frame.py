"""The RGB-D frame every stage of the pipeline consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import InvalidImageError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

__all__ = ["RGBDFrame", "validate_depth_mm", "validate_rgb"]

DEFAULT_OPTICAL_FRAME = "camera_color_optical_frame"


def validate_rgb(rgb: npt.NDArray[np.uint8], name: str = "rgb") -> None:
    """Raise InvalidImageError unless `rgb` is a non-empty HxWx3 uint8 array."""
    if not isinstance(rgb, np.ndarray):
        raise InvalidImageError(f"{name} must be a numpy array, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidImageError(
            f"{name} must be HxWx3 uint8, got {'x'.join(map(str, rgb.shape))} {rgb.dtype}"
        )
    if rgb.size == 0:
        raise InvalidImageError(f"{name} is empty ({rgb.shape[0]}x{rgb.shape[1]})")


def validate_depth_mm(depth_mm: npt.NDArray[np.uint16], name: str = "depth_mm") -> None:
    """Raise InvalidImageError unless `depth_mm` is a non-empty HxW uint16 array in mm."""
    if not isinstance(depth_mm, np.ndarray):
        raise InvalidImageError(f"{name} must be a numpy array, got {type(depth_mm).__name__}")
    if depth_mm.ndim != 2 or depth_mm.dtype != np.uint16:
        raise InvalidImageError(
            f"{name} must be HxW uint16 in mm, got "
            f"{'x'.join(map(str, depth_mm.shape))} {depth_mm.dtype}"
        )
    if depth_mm.size == 0:
        raise InvalidImageError(f"{name} is empty ({depth_mm.shape[0]}x{depth_mm.shape[1]})")


@dataclass(frozen=True, eq=False)
class RGBDFrame:
    """Colour and depth aligned to colour, with the colour camera's intrinsics.

    rgb: HxWx3 uint8 (RGB order); depth_mm: HxW uint16, millimetres, 0 = no data.
    """

    rgb: npt.NDArray[np.uint8]
    depth_mm: npt.NDArray[np.uint16]
    intrinsics: CameraIntrinsics
    stamp_ns: int = 0
    frame_id: str = DEFAULT_OPTICAL_FRAME

    def __post_init__(self) -> None:
        """Check dtypes, shapes and that RGB, depth and intrinsics agree in size."""
        validate_rgb(self.rgb)
        validate_depth_mm(self.depth_mm)
        if self.rgb.shape[:2] != self.depth_mm.shape:
            raise SizeMismatchError(
                f"rgb is {self.rgb.shape[1]}x{self.rgb.shape[0]} but depth is "
                f"{self.depth_mm.shape[1]}x{self.depth_mm.shape[0]} (WxH); "
                "depth must be aligned to colour"
            )
        if (self.intrinsics.height, self.intrinsics.width) != self.depth_mm.shape:
            raise SizeMismatchError(
                f"intrinsics are for {self.intrinsics.width}x{self.intrinsics.height} but the "
                f"images are {self.depth_mm.shape[1]}x{self.depth_mm.shape[0]} (WxH)"
            )

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.depth_mm.shape[1])

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.depth_mm.shape[0])

    @property
    def stamp_s(self) -> float:
        """Stamp in seconds."""
        return self.stamp_ns * 1e-9
