"""Core types <-> ROS messages, for rclpy and rosbags message classes alike.

Builders take a `MessageFactory` (type name -> message) so the same code builds rclpy messages
on the robot (ros/conversions.py) and rosbags messages here (pipeline/ros_types.py). Parsers
only read ROS field names, so they accept either kind of message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import (
    IntrinsicsError,
    InvalidImageError,
    SizeMismatchError,
    SpatialBotRosError,
)
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.results import dumps_result

__all__ = [
    "COLOR_ENCODINGS",
    "DEPTH_ENCODINGS",
    "MessageFactory",
    "annotate_rgb",
    "frame_from_messages",
    "make_camera_info",
    "make_detection2d_array",
    "make_detection3d_array",
    "make_header",
    "make_image",
    "make_marker_array",
    "make_pose_stamped",
    "make_result_string",
    "make_string",
    "make_transform_stamped",
    "ns_to_time",
    "stamp_to_ns",
    "target_size_m",
]

COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
_NS_PER_S = 1_000_000_000


class MessageFactory:
    """Builds ROS messages by type name ('pkg/msg/Name') with keyword fields.

    new: (type_name, **fields) -> message; array: numpy -> what the message class stores for
    a primitive array field; byte_buffer: a bytes-like buffer -> what it stores for uint8[]
    (Image.data), copied so the message owns its bytes.
    """

    def __init__(
        self,
        new: Callable[..., Any],
        array: Callable[[npt.NDArray[Any]], Any] = np.asarray,
        byte_buffer: Callable[[Any], Any] = bytes,
    ) -> None:
        """Wrap the three backend functions."""
        self._new = new
        self.array = array
        self.byte_buffer = byte_buffer

    def __call__(self, type_name: str, **fields: Any) -> Any:
        """A new message of `type_name`; fields not given keep their ROS defaults."""
        return self._new(type_name, **fields)


# --- time and header -------------------------------------------------------------------------


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time-like (sec, nanosec) to integer nanoseconds."""
    return int(stamp.sec) * _NS_PER_S + int(stamp.nanosec)


def ns_to_time(factory: MessageFactory, stamp_ns: int) -> Any:
    """Integer nanoseconds to builtin_interfaces/Time."""
    sec, nanosec = divmod(int(stamp_ns), _NS_PER_S)
    return factory("builtin_interfaces/msg/Time", sec=sec, nanosec=nanosec)


def make_header(factory: MessageFactory, stamp_ns: int, frame_id: str) -> Any:
    """std_msgs/Header."""
    return factory("std_msgs/msg/Header", stamp=ns_to_time(factory, stamp_ns), frame_id=frame_id)


def make_string(factory: MessageFactory, text: str) -> Any:
    """std_msgs/String."""
    return factory("std_msgs/msg/String", data=text)


def make_result_string(factory: MessageFactory, result: Mapping[str, Any]) -> Any:
    """std_msgs/String holding one result of the JSON schema (pipeline/results.py)."""
    return make_string(factory, dumps_result(dict(result)))


# --- images ---------------------------------------------------------------------------------


def make_image(
    factory: MessageFactory, array: npt.NDArray[Any], encoding: str, stamp_ns: int, frame_id: str
) -> Any:
    """sensor_msgs/Image with cv_bridge-identical layout, copying the pixels once."""
    from spatialbot_ros.core.image_msgs import numpy_to_image_fields

    pixels = np.ascontiguousarray(array)
    if pixels.ndim not in (2, 3) or pixels.shape[0] == 0:
        return _make_image_slow(factory, pixels, encoding, stamp_ns, frame_id)
    # Validate and lay out on the first row (cheap), then hand over the whole buffer:
    # step, encoding and byte order are the same for every row.
    fields = numpy_to_image_fields(pixels[:1], encoding)
    fields["height"] = int(pixels.shape[0])
    fields.pop("data")
    return factory(
        "sensor_msgs/msg/Image",
        header=make_header(factory, stamp_ns, frame_id),
        data=factory.byte_buffer(pixels.data.cast("B")),
        **fields,
    )


def _make_image_slow(
    factory: MessageFactory, array: npt.NDArray[Any], encoding: str, stamp_ns: int, frame_id: str
) -> Any:
    from spatialbot_ros.core.image_msgs import numpy_to_image_fields

    fields = numpy_to_image_fields(array, encoding)  # raises with what was expected
    data = fields.pop("data")
    return factory(
        "sensor_msgs/msg/Image",
        header=make_header(factory, stamp_ns, frame_id),
        data=factory.byte_buffer(data),
        **fields,
    )


def make_camera_info(
    factory: MessageFactory, intrinsics: CameraIntrinsics, stamp_ns: int, frame_id: str
) -> Any:
    """sensor_msgs/CameraInfo of `intrinsics`."""
    fields = intrinsics.to_camera_info_fields()
    for key in ("d", "k", "r", "p"):
        fields[key] = factory.array(np.asarray(fields[key], dtype=np.float64))
    return factory(
        "sensor_msgs/msg/CameraInfo", header=make_header(factory, stamp_ns, frame_id), **fields
    )


def frame_from_messages(
    rgb_msg: Any, depth_msg: Any, info_msg: Any, max_skew_ns: int | None = None
) -> RGBDFrame:
    """RGB + aligned depth + colour camera_info messages to an RGBDFrame (stamp of the RGB).

    Raises InvalidImageError / SizeMismatchError / IntrinsicsError with what was expected.
    """
    from spatialbot_ros.core.image_msgs import image_to_depth_mm, image_to_rgb

    if rgb_msg is None or depth_msg is None or info_msg is None:
        missing = [
            n
            for n, m in (("rgb", rgb_msg), ("depth", depth_msg), ("camera_info", info_msg))
            if m is None
        ]
        raise InvalidImageError(f"expected rgb, depth and camera_info, missing {missing}")
    if str(rgb_msg.encoding) not in COLOR_ENCODINGS:
        raise InvalidImageError(
            f"colour image encoding must be one of {COLOR_ENCODINGS}, got {rgb_msg.encoding!r}"
        )
    if str(depth_msg.encoding) not in DEPTH_ENCODINGS:
        raise InvalidImageError(
            f"depth image encoding must be one of {DEPTH_ENCODINGS} (aligned depth), "
            f"got {depth_msg.encoding!r}"
        )
    stamp_ns = stamp_to_ns(rgb_msg.header.stamp)
    if max_skew_ns is not None:
        skew = abs(stamp_ns - stamp_to_ns(depth_msg.header.stamp))
        if skew > max_skew_ns:
            raise SizeMismatchError(
                f"rgb and depth stamps must be within {max_skew_ns * 1e-6:.1f} ms, "
                f"got {skew * 1e-6:.1f} ms apart"
            )
    if (int(rgb_msg.width), int(rgb_msg.height)) != (int(depth_msg.width), int(depth_msg.height)):
        raise SizeMismatchError(
            f"depth must be aligned to colour ({rgb_msg.width}x{rgb_msg.height}), "
            f"got depth {depth_msg.width}x{depth_msg.height}"
        )
    try:
        intrinsics = CameraIntrinsics.from_camera_info(info_msg)
    except (AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, SpatialBotRosError):
            raise
        raise IntrinsicsError(f"expected a valid CameraInfo, got {exc}") from exc
    if (intrinsics.width, intrinsics.height) != (int(rgb_msg.width), int(rgb_msg.height)):
        # A camera_info of another stream (e.g. raw depth) would put every 3D point wrong.
        raise SizeMismatchError(
            f"camera_info must be for the {rgb_msg.width}x{rgb_msg.height} colour image, "
            f"got {intrinsics.width}x{intrinsics.height}"
        )
    rgb = image_to_rgb(rgb_msg)
    depth_mm = image_to_depth_mm(depth_msg)
    frame_id = str(rgb_msg.header.frame_id) or "camera_color_optical_frame"
    return RGBDFrame(rgb, depth_mm, intrinsics, stamp_ns=stamp_ns, frame_id=frame_id)


def annotate_rgb(
    rgb: npt.NDArray[np.uint8], bbox_px: Sequence[float] | None, label: str = ""
) -> npt.NDArray[np.uint8]:
    """Copy of `rgb` with the target box (green, 2 px) and its label drawn: the debug image."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    if bbox_px is None or not all(math.isfinite(float(c)) for c in bbox_px):
        return out
    h, w = out.shape[:2]
    x1, y1, x2, y2 = (round(float(c)) for c in bbox_px)
    x1, x2 = sorted((max(0, min(w - 1, x1)), max(0, min(w - 1, x2))))
    y1, y2 = sorted((max(0, min(h - 1, y1)), max(0, min(h - 1, y2))))
    green = np.array((0, 255, 0), dtype=np.uint8)
    out[y1 : y1 + 2, x1 : x2 + 1] = green
    out[max(y2 - 1, 0) : y2 + 1, x1 : x2 + 1] = green
    out[y1 : y2 + 1, x1 : x1 + 2] = green
    out[y1 : y2 + 1, max(x2 - 1, 0) : x2 + 1] = green
    if label:
        import cv2  # lazy: only the debug image needs text rendering

        cv2.putText(
            out,
            label[:40],
            (x1, max(y1 - 5, 12)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 255, 0),
            1,
            cv2.LINE_AA,
        )
    return out


# --- geometry --------------------------------------------------------------------------------


def _point(factory: MessageFactory, xyz: Sequence[float]) -> Any:
    return factory("geometry_msgs/msg/Point", x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _quat(factory: MessageFactory, q_xyzw: Sequence[float] | npt.NDArray[np.float64]) -> Any:
    return factory(
        "geometry_msgs/msg/Quaternion",
        x=float(q_xyzw[0]),
        y=float(q_xyzw[1]),
        z=float(q_xyzw[2]),
        w=float(q_xyzw[3]),
    )


def _pose(
    factory: MessageFactory,
    xyz: Sequence[float],
    q_xyzw: Sequence[float] | npt.NDArray[np.float64],
) -> Any:
    return factory(
        "geometry_msgs/msg/Pose", position=_point(factory, xyz), orientation=_quat(factory, q_xyzw)
    )


def _check_xyz(
    xyz_m: Sequence[float] | npt.NDArray[np.float64], name: str
) -> tuple[float, float, float]:
    values = tuple(float(v) for v in xyz_m)
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be 3 finite numbers, got {list(xyz_m)}")
    return values[0], values[1], values[2]


def make_pose_stamped(
    factory: MessageFactory,
    xyz_m: Sequence[float] | npt.NDArray[np.float64],
    frame_id: str,
    stamp_ns: int,
    quat_xyzw: Sequence[float] | npt.NDArray[np.float64] = (0.0, 0.0, 0.0, 1.0),
) -> Any:
    """geometry_msgs/PoseStamped at `xyz_m` in `frame_id`."""
    xyz = _check_xyz(xyz_m, "xyz_m")
    return factory(
        "geometry_msgs/msg/PoseStamped",
        header=make_header(factory, stamp_ns, frame_id),
        pose=_pose(factory, xyz, quat_xyzw),
    )


def make_transform_stamped(
    factory: MessageFactory, transform: RigidTransform, stamp_ns: int
) -> Any:
    """geometry_msgs/TransformStamped of T_parent_child (header.frame_id = parent)."""
    xyz, q = transform.to_xyz_quat()
    return factory(
        "geometry_msgs/msg/TransformStamped",
        header=make_header(factory, stamp_ns, transform.parent_frame),
        child_frame_id=transform.child_frame,
        transform=factory(
            "geometry_msgs/msg/Transform",
            translation=factory(
                "geometry_msgs/msg/Vector3", x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])
            ),
            rotation=_quat(factory, q),
        ),
    )


# --- detections and markers -------------------------------------------------------------------


def _hypothesis(factory: MessageFactory, label: str, score: float, xyz: Sequence[float]) -> Any:
    return factory(
        "vision_msgs/msg/ObjectHypothesisWithPose",
        hypothesis=factory("vision_msgs/msg/ObjectHypothesis", class_id=label, score=float(score)),
        pose=factory(
            "geometry_msgs/msg/PoseWithCovariance",
            pose=_pose(factory, xyz, (0.0, 0.0, 0.0, 1.0)),
            covariance=factory.array(np.zeros(36, dtype=np.float64)),
        ),
    )


def make_detection2d_array(
    factory: MessageFactory,
    target: Mapping[str, Any] | None,
    stamp_ns: int,
    frame_id: str,
    *,
    score: float = 1.0,
    detection_id: str = "",
) -> Any:
    """vision_msgs/Detection2DArray: the target's pixel box (empty array when no target)."""
    header = make_header(factory, stamp_ns, frame_id)
    detections = []
    if target is not None:
        x1, y1, x2, y2 = (float(v) for v in target["bbox_px"])
        center = factory(
            "vision_msgs/msg/Pose2D",
            position=factory("vision_msgs/msg/Point2D", x=(x1 + x2) / 2.0, y=(y1 + y2) / 2.0),
            theta=0.0,
        )
        detections.append(
            factory(
                "vision_msgs/msg/Detection2D",
                header=header,
                results=[
                    _hypothesis(
                        factory,
                        str(target["label"]),
                        score,
                        _check_xyz(target["xyz_camera_m"], "xyz_camera_m"),
                    )
                ],
                bbox=factory(
                    "vision_msgs/msg/BoundingBox2D",
                    center=center,
                    size_x=abs(x2 - x1),
                    size_y=abs(y2 - y1),
                ),
                id=detection_id,
            )
        )
    return factory("vision_msgs/msg/Detection2DArray", header=header, detections=detections)


def target_size_m(
    target: Mapping[str, Any], intrinsics: CameraIntrinsics
) -> tuple[float, float, float]:
    """Approximate object extent (x, y, z) in the optical frame, m, from its box and depth."""
    x1, y1, x2, y2 = (float(v) for v in target["bbox_px"])
    z_m = float(target["xyz_camera_m"][2])
    depth = target.get("depth_mm") or {}
    extent_mm = float(depth.get("max", 0.0)) - float(depth.get("min", 0.0))
    size_z = extent_mm * 1e-3 if math.isfinite(extent_mm) and extent_mm > 0 else 0.01
    return (
        abs(x2 - x1) * z_m / intrinsics.fx,
        abs(y2 - y1) * z_m / intrinsics.fy,
        min(size_z, 1.0),
    )


def make_detection3d_array(
    factory: MessageFactory,
    target: Mapping[str, Any] | None,
    intrinsics: CameraIntrinsics | None,
    stamp_ns: int,
    frame_id: str,
    *,
    score: float = 1.0,
    detection_id: str = "",
) -> Any:
    """vision_msgs/Detection3DArray: the target's 3D box in the optical frame (or empty)."""
    header = make_header(factory, stamp_ns, frame_id)
    detections = []
    if target is not None:
        xyz = _check_xyz(target["xyz_camera_m"], "xyz_camera_m")
        size = target_size_m(target, intrinsics) if intrinsics is not None else (0.05,) * 3
        detections.append(
            factory(
                "vision_msgs/msg/Detection3D",
                header=header,
                results=[_hypothesis(factory, str(target["label"]), score, xyz)],
                bbox=factory(
                    "vision_msgs/msg/BoundingBox3D",
                    center=_pose(factory, xyz, (0.0, 0.0, 0.0, 1.0)),
                    size=factory("geometry_msgs/msg/Vector3", x=size[0], y=size[1], z=size[2]),
                ),
                id=detection_id,
            )
        )
    return factory("vision_msgs/msg/Detection3DArray", header=header, detections=detections)


def _marker(
    factory: MessageFactory, header: Any, ns: str, marker_id: int, kind: int, **fields: Any
) -> Any:
    return factory(
        "visualization_msgs/msg/Marker",
        header=header,
        ns=ns,
        id=marker_id,
        type=kind,
        action=0,
        **fields,
    )


def make_marker_array(
    factory: MessageFactory,
    target: Mapping[str, Any] | None,
    stamp_ns: int,
    frame_id: str,
    *,
    xyz_key: str = "xyz_camera_m",
    ns: str = "spatialbot",
) -> Any:
    """visualization_msgs/MarkerArray for RViz: clear old markers, then sphere + label."""
    header = make_header(factory, stamp_ns, frame_id)
    clear = factory("visualization_msgs/msg/Marker", header=header, ns=ns, id=0, action=3)
    markers = [clear]
    xyz_raw = target.get(xyz_key) if target is not None else None
    if target is not None and xyz_raw is not None:
        xyz = _check_xyz(xyz_raw, xyz_key)
        color = factory("std_msgs/msg/ColorRGBA", r=0.1, g=0.9, b=0.1, a=0.8)
        markers.append(
            _marker(
                factory,
                header,
                ns,
                1,
                2,
                pose=_pose(factory, xyz, (0.0, 0.0, 0.0, 1.0)),
                scale=factory("geometry_msgs/msg/Vector3", x=0.03, y=0.03, z=0.03),
                color=color,
            )
        )
        label_xyz = (xyz[0], xyz[1], xyz[2])
        markers.append(
            _marker(
                factory,
                header,
                ns,
                2,
                9,
                pose=_pose(factory, label_xyz, (0.0, 0.0, 0.0, 1.0)),
                scale=factory("geometry_msgs/msg/Vector3", x=0.0, y=0.0, z=0.03),
                color=factory("std_msgs/msg/ColorRGBA", r=1.0, g=1.0, b=1.0, a=1.0),
                text=str(target.get("label", "")),
            )
        )
    return factory("visualization_msgs/msg/MarkerArray", markers=markers)
