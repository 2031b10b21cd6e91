"""Message builders and parsers, exercised with rosbags message classes (and CDR round trips)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rosmsg_fixtures import INTR, NS, camera_info, frame_msgs, image, scene

from spatialbot_ros.core.errors import IntrinsicsError, InvalidImageError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline import ros_messages as rm
from spatialbot_ros.pipeline.ros_types import make_typestore, message_class, rosbags_factory

TARGET = {
    "label": "teacup",
    "bbox_px": [26.0, 18.0, 38.0, 30.0],
    "bbox_norm": [26 / 64, 18 / 48, 38 / 64, 30 / 48],
    "depth_mm": {
        "center": 600.0,
        "mean": 600.0,
        "median": 600.0,
        "min": 580.0,
        "max": 640.0,
        "valid_fraction": 1.0,
    },
    "xyz_camera_m": [0.01, -0.02, 0.6],
    "xyz_base_m": [0.5, 0.1, 0.05],
}


@pytest.fixture
def factory() -> rm.MessageFactory:
    return rosbags_factory()


def roundtrip(msg):
    """Serialise to CDR and back: proves every field has the type the wire format needs."""
    store = make_typestore()
    raw = store.serialize_cdr(msg, msg.__msgtype__)
    return store.deserialize_cdr(raw, msg.__msgtype__)


def test_vision_msgs_are_registered():
    cls = message_class("vision_msgs/Detection3DArray")
    assert cls.__msgtype__ == "vision_msgs/msg/Detection3DArray"
    with pytest.raises(KeyError, match="expected a known message type"):
        message_class("vision_msgs/msg/NoSuchThing")


def test_stamp_roundtrip(factory):
    stamp = rm.ns_to_time(factory, 12 * NS + 345)
    assert (stamp.sec, stamp.nanosec) == (12, 345)
    assert rm.stamp_to_ns(stamp) == 12 * NS + 345


def test_pose_stamped_roundtrips_through_cdr(factory):
    msg = roundtrip(rm.make_pose_stamped(factory, (0.1, 0.2, 0.3), "base_link", 5 * NS))
    assert msg.header.frame_id == "base_link"
    assert rm.stamp_to_ns(msg.header.stamp) == 5 * NS
    assert (msg.pose.position.x, msg.pose.position.y, msg.pose.position.z) == (0.1, 0.2, 0.3)
    assert msg.pose.orientation.w == 1.0


def test_pose_stamped_rejects_nan(factory):
    with pytest.raises(ValueError, match="3 finite numbers"):
        rm.make_pose_stamped(factory, (0.1, math.nan, 0.3), "base_link", 0)


def test_transform_stamped_matches_rigid_transform(factory):
    T = RigidTransform.from_xyz_rpy((0.1, -0.2, 0.5), (0.3, -0.1, 1.2), "camera_link", "cam_opt")
    msg = roundtrip(rm.make_transform_stamped(factory, T, 0))
    back = RigidTransform.from_ros_transform(msg)
    assert (back.parent_frame, back.child_frame) == ("camera_link", "cam_opt")
    np.testing.assert_allclose(back.matrix, T.matrix, atol=1e-12)


def test_camera_info_roundtrips_to_the_same_intrinsics(factory):
    intr = CameraIntrinsics(640, 480, 615.0, 616.0, 320.5, 240.25, "plumb_bob", (0.1, 0, 0, 0, 0))
    msg = roundtrip(rm.make_camera_info(factory, intr, 7, "camera_color_optical_frame"))
    assert CameraIntrinsics.from_camera_info(msg) == intr


def test_detection_arrays_carry_box_and_3d_centre(factory):
    d2 = roundtrip(rm.make_detection2d_array(factory, TARGET, 3, "cam"))
    det = d2.detections[0]
    assert (det.bbox.center.position.x, det.bbox.center.position.y) == (32.0, 24.0)
    assert (det.bbox.size_x, det.bbox.size_y) == (12.0, 12.0)
    assert det.results[0].hypothesis.class_id == "teacup"
    d3 = roundtrip(rm.make_detection3d_array(factory, TARGET, INTR, 3, "cam"))
    box = d3.detections[0].bbox
    assert box.center.position.z == pytest.approx(0.6)
    # 12 px at 0.6 m with fx = 60 px is 0.12 m; depth extent max - min = 60 mm.
    assert (box.size.x, box.size.y, box.size.z) == pytest.approx((0.12, 0.12, 0.06))


def test_empty_detection_arrays_without_target(factory):
    assert roundtrip(rm.make_detection2d_array(factory, None, 0, "cam")).detections == []
    assert roundtrip(rm.make_detection3d_array(factory, None, None, 0, "cam")).detections == []


def test_marker_array_clears_then_draws(factory):
    msg = roundtrip(rm.make_marker_array(factory, TARGET, 0, "cam"))
    assert [m.action for m in msg.markers] == [3, 0, 0]  # DELETEALL, then ADD
    assert msg.markers[1].pose.position.z == pytest.approx(0.6)
    assert msg.markers[2].text == "teacup"
    assert len(roundtrip(rm.make_marker_array(factory, None, 0, "cam")).markers) == 1


def test_result_string_is_strict_json(factory):
    msg = rm.make_result_string(factory, {"task": "t", "x": float("nan")})
    assert msg.data == '{"task":"t","x":null}'


def test_annotate_draws_box_on_a_copy():
    rgb = np.zeros((48, 64, 3), np.uint8)
    out = rm.annotate_rgb(rgb, TARGET["bbox_px"], "teacup")
    assert rgb.max() == 0
    assert tuple(out[18, 30]) == (0, 255, 0)
    assert tuple(out[24, 32]) == (0, 0, 0)  # inside the box untouched
    np.testing.assert_array_equal(rm.annotate_rgb(rgb, None), rgb)


def test_frame_from_messages_roundtrip():
    rgb_msg, depth_msg, info_msg = frame_msgs(4 * NS)
    frame = rm.frame_from_messages(rgb_msg, depth_msg, info_msg)
    rgb, depth = scene()
    np.testing.assert_array_equal(frame.rgb, rgb)
    np.testing.assert_array_equal(frame.depth_mm, depth)
    assert frame.stamp_ns == 4 * NS
    assert frame.frame_id == "camera_color_optical_frame"
    assert frame.intrinsics == INTR


def test_frame_from_messages_bgr_and_float_depth():
    rgb, depth = scene()
    frame = rm.frame_from_messages(
        image(rgb[:, :, ::-1], "bgr8", 0),
        image(depth.astype(np.float32) / 1000.0, "32FC1", 0),
        camera_info(INTR, 0),
    )
    np.testing.assert_array_equal(frame.rgb, rgb)
    np.testing.assert_array_equal(frame.depth_mm, depth)


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (
            lambda r, d, i: (image(np.zeros((48, 64), np.uint8), "mono8", 0), d, i),
            InvalidImageError,
            "colour image encoding",
        ),
        (
            lambda r, d, i: (r, image(np.zeros((48, 64, 3), np.uint8), "rgb8", 0), i),
            InvalidImageError,
            "depth image encoding",
        ),
        (
            lambda r, d, i: (r, image(np.zeros((24, 32), np.uint16), "16UC1", 0), i),
            SizeMismatchError,
            "aligned to colour",
        ),
        (
            lambda r, d, i: (r, d, camera_info(INTR.scaled(32, 24), 0)),
            SizeMismatchError,
            "camera_info must be for",
        ),
        (lambda r, d, i: (r, d, None), InvalidImageError, "missing"),
        (
            lambda r, d, i: (r, image(np.zeros((48, 64), np.uint16), "16UC1", NS), i),
            SizeMismatchError,
            "stamps must be within",
        ),
    ],
)
def test_frame_from_messages_refuses_bad_inputs(mutate, error, match):
    msgs = mutate(*frame_msgs(0))
    with pytest.raises(error, match=match):
        rm.frame_from_messages(*msgs, max_skew_ns=NS // 20)


def test_frame_from_messages_refuses_empty_camera_info():
    r, d, i = frame_msgs(0)
    i.k[:] = 0.0
    with pytest.raises(IntrinsicsError):
        rm.frame_from_messages(r, d, i)


def test_frame_from_messages_refuses_truncated_data():
    r, d, i = frame_msgs(0)
    r.data = r.data[:-10]
    with pytest.raises(InvalidImageError):
        rm.frame_from_messages(r, d, i)


def test_make_image_roundtrip(factory):
    rgb, _ = scene(1)
    msg = roundtrip(rm.make_image(factory, rgb, "rgb8", 9, "cam"))
    assert (msg.height, msg.width, msg.step, msg.encoding) == (48, 64, 192, "rgb8")
    np.testing.assert_array_equal(np.asarray(msg.data).reshape(48, 64, 3), rgb)


def test_make_image_owns_its_bytes_and_validates(factory):
    depth = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
    msg = rm.make_image(factory, depth, "16UC1", 0, "cam")
    depth[0, 0] = 999  # the message must not change with the caller's array
    assert np.frombuffer(np.asarray(msg.data).tobytes(), np.uint16)[0] == 0
    assert (msg.step, msg.is_bigendian) == (128, 0)
    strided = np.zeros((48, 128, 3), np.uint8)[:, ::2]
    assert rm.make_image(factory, strided, "rgb8", 0, "cam").step == 192
    with pytest.raises(InvalidImageError, match="rgb8 needs a HxWx3 uint8 array"):
        rm.make_image(factory, depth, "rgb8", 0, "cam")
    with pytest.raises(InvalidImageError):
        rm.make_image(factory, np.zeros((0, 4, 3), np.uint8), "rgb8", 0, "cam")
