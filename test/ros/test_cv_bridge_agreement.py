"""cv_bridge and the core's converter agree byte for byte (runs where ROS 2 is installed)."""

from __future__ import annotations

import numpy as np
import pytest

cv_bridge = pytest.importorskip("cv_bridge", reason="needs ROS 2 cv_bridge (not installed here)")
sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="needs ROS 2 sensor_msgs")

from spatialbot_ros.core.image_msgs import (  # noqa: E402
    image_to_depth_mm,
    image_to_numpy,
    make_image,
    numpy_to_image_fields,
)

RNG = np.random.default_rng(7)
CASES = {
    "rgb8": RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8),
    "bgr8": RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8),
    "rgba8": RNG.integers(0, 256, (48, 64, 4), dtype=np.uint8),
    "bgra8": RNG.integers(0, 256, (48, 64, 4), dtype=np.uint8),
    "mono8": RNG.integers(0, 256, (48, 64), dtype=np.uint8),
    "mono16": RNG.integers(0, 65536, (48, 64), dtype=np.uint16),
    "16UC1": RNG.integers(0, 65536, (48, 64), dtype=np.uint16),
    "32FC1": RNG.random((48, 64), dtype=np.float32),
}


@pytest.mark.parametrize("encoding", sorted(CASES))
def test_numpy_to_image_matches_cv2_to_imgmsg(encoding: str) -> None:
    array = CASES[encoding]
    expected = cv_bridge.CvBridge().cv2_to_imgmsg(array, encoding=encoding)
    fields = numpy_to_image_fields(array, encoding)
    assert fields["height"] == expected.height
    assert fields["width"] == expected.width
    assert fields["encoding"] == expected.encoding
    assert bool(fields["is_bigendian"]) == bool(expected.is_bigendian)
    assert fields["step"] == expected.step
    assert bytes(fields["data"]) == bytes(expected.data)
    ours = make_image(sensor_msgs.Image, expected.header, array, encoding)
    assert bytes(ours.data) == bytes(expected.data)


@pytest.mark.parametrize("encoding", sorted(CASES))
def test_image_to_numpy_matches_imgmsg_to_cv2(encoding: str) -> None:
    msg = cv_bridge.CvBridge().cv2_to_imgmsg(CASES[encoding], encoding=encoding)
    expected = cv_bridge.CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")
    ours = image_to_numpy(msg)
    assert ours.dtype == expected.dtype
    assert ours.shape == expected.shape
    assert ours.tobytes() == np.ascontiguousarray(expected).tobytes()


def test_depth_from_cv_bridge_message_is_mm() -> None:
    depth_mm = CASES["16UC1"]
    msg = cv_bridge.CvBridge().cv2_to_imgmsg(depth_mm, encoding="16UC1")
    assert np.array_equal(image_to_depth_mm(msg), depth_mm)
