"""Builders of rosbags sensor messages for the node-logic tests (no ROS, no core helpers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.pipeline.ros_types import default_message

NS = 1_000_000_000
INTR = CameraIntrinsics(64, 48, 60.0, 60.0, 31.5, 23.5, "plumb_bob", (0.0,) * 5)


def header(stamp_ns: int, frame_id: str = "camera_color_optical_frame") -> Any:
    """std_msgs/Header."""
    sec, nanosec = divmod(stamp_ns, NS)
    return default_message(
        "std_msgs/msg/Header",
        stamp=default_message("builtin_interfaces/msg/Time", sec=sec, nanosec=nanosec),
        frame_id=frame_id,
    )


def image(
    array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str = "camera_color_optical_frame"
) -> Any:
    """sensor_msgs/Image laid out like cv_bridge (little endian, tight rows)."""
    array = np.ascontiguousarray(array)
    h, w = array.shape[:2]
    return default_message(
        "sensor_msgs/msg/Image",
        header=header(stamp_ns, frame_id),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=array.nbytes // h,
        data=np.frombuffer(array.tobytes(), dtype=np.uint8),
    )


def camera_info(
    intr: CameraIntrinsics, stamp_ns: int, frame_id: str = "camera_color_optical_frame"
) -> Any:
    """sensor_msgs/CameraInfo."""
    f = intr.to_camera_info_fields()
    return default_message(
        "sensor_msgs/msg/CameraInfo",
        header=header(stamp_ns, frame_id),
        height=f["height"],
        width=f["width"],
        distortion_model=f["distortion_model"],
        d=np.asarray(f["d"], dtype=np.float64),
        k=np.asarray(f["k"], dtype=np.float64),
        r=np.asarray(f["r"], dtype=np.float64),
        p=np.asarray(f["p"], dtype=np.float64),
    )


def scene(seed: int = 0, intr: CameraIntrinsics = INTR) -> tuple[np.ndarray, np.ndarray]:
    """RGB (HxWx3 uint8) and depth (HxW uint16 mm): a table at 800 mm and a box at 600 mm."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 255, size=(intr.height, intr.width, 3), dtype=np.uint8)
    depth = np.full((intr.height, intr.width), 800, dtype=np.uint16)
    depth[18:30, 26:38] = 600
    return rgb, depth


def frame_msgs(stamp_ns: int, intr: CameraIntrinsics = INTR, seed: int = 0) -> tuple[Any, Any, Any]:
    """A consistent (rgb, depth, camera_info) triple."""
    rgb, depth = scene(seed, intr)
    return (
        image(rgb, "rgb8", stamp_ns),
        image(depth, "16UC1", stamp_ns),
        camera_info(intr, stamp_ns),
    )
