"""RGBDFrame validation: dtypes, shapes, empty images, RGB/depth/intrinsics size agreement."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.errors import InvalidImageError, SizeMismatchError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics

INTR = CameraIntrinsics(8, 6, 5.0, 5.0, 3.5, 2.5)


def rgb(h: int = 6, w: int = 8) -> np.ndarray:
    """A black HxWx3 uint8 image."""
    return np.zeros((h, w, 3), dtype=np.uint8)


def depth(h: int = 6, w: int = 8) -> np.ndarray:
    """A flat 1 m HxW uint16 depth map."""
    return np.full((h, w), 1000, dtype=np.uint16)


def test_valid_frame() -> None:
    frame = RGBDFrame(rgb(), depth(), INTR, stamp_ns=1_500_000_000)
    assert (frame.width, frame.height) == (8, 6)
    assert frame.stamp_s == 1.5
    assert frame.frame_id == "camera_color_optical_frame"


def test_rgb_and_depth_of_different_sizes() -> None:
    with pytest.raises(SizeMismatchError, match="rgb is 8x6 but depth is 4x3") as info:
        RGBDFrame(rgb(), depth(3, 4), INTR)
    assert "aligned to colour" in str(info.value)


def test_intrinsics_of_another_size() -> None:
    with pytest.raises(SizeMismatchError, match="intrinsics are for 8x6 but the images are 4x3"):
        RGBDFrame(rgb(3, 4), depth(3, 4), INTR)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((6, 8, 3), dtype=np.float32), "HxWx3 uint8, got 6x8x3 float32"),
        (np.zeros((6, 8, 4), dtype=np.uint8), "HxWx3 uint8, got 6x8x4 uint8"),
        (np.zeros((6, 8), dtype=np.uint8), "HxWx3 uint8, got 6x8 uint8"),
        ([[0, 0, 0]], "numpy array, got list"),
    ],
    ids=["float", "rgba", "mono", "list"],
)
def test_rgb_wrong_dtype_or_shape(image: object, match: str) -> None:
    with pytest.raises(InvalidImageError, match=match):
        RGBDFrame(image, depth(), INTR)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((6, 8), dtype=np.float32), "HxW uint16 in mm, got 6x8 float32"),
        (np.zeros((6, 8, 1), dtype=np.uint16), "got 6x8x1 uint16"),
        (np.zeros((6, 8), dtype=np.int32), "got 6x8 int32"),
    ],
    ids=["metres-float", "hxwx1", "int32"],
)
def test_depth_wrong_dtype_or_shape(image: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidImageError, match=match):
        RGBDFrame(rgb(), image, INTR)


def test_empty_images() -> None:
    with pytest.raises(InvalidImageError, match="rgb is empty"):
        RGBDFrame(rgb(0, 8), depth(0, 8), INTR)
    with pytest.raises(InvalidImageError, match="depth_mm is empty"):
        RGBDFrame(rgb(), depth(6, 0), INTR)
