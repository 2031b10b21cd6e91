"""Message classes for the core tests: rosbags' (real field layout) and an rclpy look-alike."""

from __future__ import annotations

import array
from typing import Any

import pytest


@pytest.fixture(scope="session")
def typestore() -> Any:
    """The ROS 2 Jazzy typestore of rosbags."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


@pytest.fixture(scope="session")
def image_cls(typestore: Any) -> Any:
    """rosbags' sensor_msgs/msg/Image class."""
    return typestore.types["sensor_msgs/msg/Image"]


@pytest.fixture(scope="session")
def camera_info_cls(typestore: Any) -> Any:
    """rosbags' sensor_msgs/msg/CameraInfo class."""
    return typestore.types["sensor_msgs/msg/CameraInfo"]


@pytest.fixture
def header(typestore: Any) -> Any:
    """A std_msgs/Header on the colour optical frame."""
    time_cls = typestore.types["builtin_interfaces/msg/Time"]
    header_cls = typestore.types["std_msgs/msg/Header"]
    return header_cls(stamp=time_cls(sec=12, nanosec=34), frame_id="camera_color_optical_frame")


class RclpyLikeImage:
    """Mimics an rclpy sensor_msgs/Image: keyword fields, data kept as array.array('B')."""

    def __init__(self, **fields: Any) -> None:
        self.header = fields.get("header")
        self.height = int(fields.get("height", 0))
        self.width = int(fields.get("width", 0))
        self.encoding = str(fields.get("encoding", ""))
        self.is_bigendian = int(fields.get("is_bigendian", 0))
        self.step = int(fields.get("step", 0))
        data = fields.get("data", array.array("B"))
        assert isinstance(data, array.array), "rclpy's fast path takes array.array('B')"
        assert data.typecode == "B"
        self.data = data


@pytest.fixture
def rclpy_like_image_cls() -> type[RclpyLikeImage]:
    """A non-dataclass Image class shaped like rclpy's."""
    return RclpyLikeImage
