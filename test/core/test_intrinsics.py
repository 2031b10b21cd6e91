"""Camera intrinsics from rosbags CameraInfo, pyrealsense2-like objects, and their validation."""

from __future__ import annotations

import array
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core.errors import IntrinsicsError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

D435_COLOR = CameraIntrinsics(
    640, 480, 615.9, 616.1, 322.4, 240.2, "plumb_bob", (0.01, -0.02, 0.001, 0.0005, 0.003)
)


def camera_info(
    typestore: Any,
    header: Any,
    k: list[float],
    *,
    width: int = 640,
    height: int = 480,
    d: list[float] | None = None,
    model: str = "plumb_bob",
) -> Any:
    """A rosbags sensor_msgs/CameraInfo with the given K, D and size."""
    cls = typestore.types["sensor_msgs/msg/CameraInfo"]
    roi = typestore.types["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    p = np.zeros(12)
    return cls(
        header=header,
        height=height,
        width=width,
        distortion_model=model,
        d=np.asarray(d if d is not None else [0.0] * 5, dtype=np.float64),
        k=np.asarray(k, dtype=np.float64),
        r=np.eye(3).reshape(-1),
        p=p,
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def k_of(fx: float, fy: float, cx: float, cy: float) -> list[float]:
    """Row-major 3x3 camera matrix."""
    return [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]


def test_from_rosbags_camera_info(typestore: Any, header: Any) -> None:
    msg = camera_info(typestore, header, k_of(615.9, 616.1, 322.4, 240.2), d=[0.1, 0.2, 0, 0, 0])
    intr = CameraIntrinsics.from_camera_info(msg)
    assert (intr.width, intr.height) == (640, 480)
    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (615.9, 616.1, 322.4, 240.2)
    assert intr.distortion == (0.1, 0.2, 0.0, 0.0, 0.0)
    assert intr.distortion_model == "plumb_bob"
    assert intr.size == (480, 640)
    assert intr.has_distortion


def test_camera_info_round_trip_through_cdr(typestore: Any, header: Any) -> None:
    cls = typestore.types["sensor_msgs/msg/CameraInfo"]
    roi_cls = typestore.types["sensor_msgs/msg/RegionOfInterest"]
    roi = roi_cls(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    msg = cls(
        header=header, binning_x=0, binning_y=0, roi=roi, **D435_COLOR.to_camera_info_fields()
    )
    raw = typestore.serialize_cdr(msg, cls.__msgtype__)
    back = CameraIntrinsics.from_camera_info(typestore.deserialize_cdr(raw, cls.__msgtype__))
    assert back == D435_COLOR


def test_camera_info_fields_layout() -> None:
    fields = CameraIntrinsics(4, 3, 2.0, 2.5, 1.5, 1.0).to_camera_info_fields()
    np.testing.assert_array_equal(fields["k"], k_of(2.0, 2.5, 1.5, 1.0))
    np.testing.assert_array_equal(fields["p"], [2.0, 0, 1.5, 0, 0, 2.5, 1.0, 0, 0, 0, 1.0, 0])
    np.testing.assert_array_equal(fields["r"], np.eye(3).reshape(-1))
    np.testing.assert_array_equal(fields["d"], np.zeros(5))  # no distortion: five zeros
    assert (fields["width"], fields["height"]) == (4, 3)


def test_rclpy_style_arrays_and_empty_model() -> None:
    msg = SimpleNamespace(
        width=320,
        height=240,
        k=array.array("d", k_of(300.0, 300.0, 160.0, 120.0)),
        d=array.array("d"),
        distortion_model="",
    )
    intr = CameraIntrinsics.from_camera_info(msg)
    assert intr.distortion_model == "plumb_bob"
    assert intr.distortion == ()
    assert not intr.has_distortion


def test_camera_info_with_k_all_zeros(typestore: Any, header: Any) -> None:
    with pytest.raises(IntrinsicsError, match="uncalibrated"):
        CameraIntrinsics.from_camera_info(camera_info(typestore, header, [0.0] * 9))


@pytest.mark.parametrize(
    ("k", "match"),
    [
        (k_of(0.0, 600.0, 320.0, 240.0), "fx must be finite and > 0, got 0.0"),
        (k_of(600.0, 0.0, 320.0, 240.0), "fy must be finite and > 0, got 0.0"),
        (k_of(-600.0, 600.0, 320.0, 240.0), "fx must be finite and > 0"),
        (k_of(math.nan, 600.0, 320.0, 240.0), "fx must be finite"),
        (k_of(600.0, 600.0, math.inf, 240.0), "cx must be finite"),
    ],
    ids=["zero-fx", "zero-fy", "negative-fx", "nan-fx", "inf-cx"],
)
def test_camera_info_with_bad_focal_or_centre(
    typestore: Any, header: Any, k: list[float], match: str
) -> None:
    with pytest.raises(IntrinsicsError, match=match):
        CameraIntrinsics.from_camera_info(camera_info(typestore, header, k))


@pytest.mark.parametrize(("width", "height"), [(0, 480), (640, 0), (0, 0)])
def test_camera_info_with_size_zero(typestore: Any, header: Any, width: int, height: int) -> None:
    msg = camera_info(typestore, header, k_of(600, 600, 320, 240), width=width, height=height)
    with pytest.raises(IntrinsicsError, match=f"image size must be positive, got {width}x{height}"):
        CameraIntrinsics.from_camera_info(msg)


def test_camera_info_with_short_k_or_nan_distortion(typestore: Any, header: Any) -> None:
    msg = SimpleNamespace(width=4, height=4, k=[1.0] * 8, d=[], distortion_model="plumb_bob")
    with pytest.raises(IntrinsicsError, match="9 values, got 8"):
        CameraIntrinsics.from_camera_info(msg)
    bad_d = camera_info(typestore, header, k_of(600, 600, 320, 240), d=[0.1, math.nan, 0, 0, 0])
    with pytest.raises(IntrinsicsError, match="distortion must be finite"):
        CameraIntrinsics.from_camera_info(bad_d)


def test_from_realsense_like_intrinsics() -> None:
    rs = SimpleNamespace(
        width=1280,
        height=720,
        fx=910.0,
        fy=909.5,
        ppx=641.2,
        ppy=362.8,
        model="distortion.inverse_brown_conrady",
        coeffs=[0.0, 0.0, 0.0, 0.0, 0.0],
    )
    intr = CameraIntrinsics.from_realsense(rs)
    assert intr == CameraIntrinsics(1280, 720, 910.0, 909.5, 641.2, 362.8, "plumb_bob", (0.0,) * 5)
    rs.fx = 0.0
    with pytest.raises(IntrinsicsError, match="fx"):
        CameraIntrinsics.from_realsense(rs)


def test_scaled_keeps_the_pixel_centre_convention() -> None:
    half = D435_COLOR.scaled(320, 240)
    assert (half.fx, half.fy) == pytest.approx((615.9 / 2, 616.1 / 2))
    assert half.cx == pytest.approx((322.4 + 0.5) / 2 - 0.5)
    assert half.cy == pytest.approx((240.2 + 0.5) / 2 - 0.5)
    back = half.scaled(640, 480)
    assert (back.cx, back.cy, back.fx) == pytest.approx((322.4, 240.2, 615.9))


def test_k_matrix() -> None:
    np.testing.assert_array_equal(
        CameraIntrinsics(4, 3, 2.0, 2.5, 1.5, 1.0).K, [[2.0, 0, 1.5], [0, 2.5, 1.0], [0, 0, 1]]
    )
