"""A rosbags typestore for ROS 2 Jazzy with vision_msgs registered: ROS messages without ROS.

rosbags ships the core interface packages but not vision_msgs; its definitions (4.1, the
version in Humble and Jazzy) are registered here from their .msg text so tests, replay and
benchmarks build and read the same Detection2D/3D messages the nodes publish.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = [
    "VISION_MSGS_DEFINITIONS",
    "default_message",
    "make_typestore",
    "message_class",
    "rosbags_factory",
]

# vision_msgs 4.1 (ros-perception/vision_msgs, branch ros2), comments stripped.
VISION_MSGS_DEFINITIONS: dict[str, str] = {
    "vision_msgs/msg/Point2D": "float64 x\nfloat64 y\n",
    "vision_msgs/msg/Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "vision_msgs/msg/BoundingBox2D": (
        "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n"
    ),
    "vision_msgs/msg/BoundingBox3D": "geometry_msgs/Pose center\ngeometry_msgs/Vector3 size\n",
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/ObjectHypothesisWithPose": (
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n"
    ),
    "vision_msgs/msg/Detection2D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox2D bbox\nstring id\n"
    ),
    "vision_msgs/msg/Detection2DArray": (
        "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n"
    ),
    "vision_msgs/msg/Detection3D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox3D bbox\nstring id\n"
    ),
    "vision_msgs/msg/Detection3DArray": (
        "std_msgs/Header header\nvision_msgs/Detection3D[] detections\n"
    ),
}


@lru_cache(maxsize=1)
def make_typestore() -> Any:
    """The ROS 2 Jazzy typestore of rosbags plus vision_msgs (built once, then shared)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore  # lazy: optional dep

    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict[str, Any] = {}
    for name, text in VISION_MSGS_DEFINITIONS.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


def message_class(type_name: str) -> Any:
    """Message class for 'pkg/msg/Name' (or 'pkg/Name') from the shared typestore."""
    store = make_typestore()
    try:
        return store.types[_full_name(type_name)]
    except KeyError:
        raise KeyError(f"expected a known message type, got {type_name!r}") from None


_BASE_DEFAULTS: dict[str, Any] = {"string": "", "bool": False}
_NUMPY_DTYPES = {
    "bool": "bool",
    "byte": "uint8",
    "char": "uint8",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
    "float32": "float32",
    "float64": "float64",
}


def _default_field(store: Any, node: Any) -> Any:
    """Default value of one field definition (rosbags fielddefs node)."""
    import numpy as np
    from rosbags.interfaces import Nodetype

    kind, detail = node
    if kind == Nodetype.BASE:
        base = detail[0]
        if base in _BASE_DEFAULTS:
            return _BASE_DEFAULTS[base]
        return 0.0 if base.startswith("float") else 0
    if kind == Nodetype.NAME:
        return default_message(detail, store)
    sub, length = detail
    if sub[0] == Nodetype.BASE and sub[1][0] in _NUMPY_DTYPES:
        return np.zeros(length if kind == Nodetype.ARRAY else 0, dtype=_NUMPY_DTYPES[sub[1][0]])
    if kind == Nodetype.ARRAY:
        return [_default_field(store, sub) for _ in range(length)]
    return []


def default_message(type_name: str, store: Any = None, **fields: Any) -> Any:
    """A rosbags message with every field not given set to its ROS default (0, "", [], ...).

    rosbags message classes are dataclasses without defaults; rclpy classes have defaults.
    This lets code written for rclpy's keyword construction run unchanged on rosbags.
    """
    store = store if store is not None else make_typestore()
    msgtype = _full_name(type_name)
    cls = store.types[msgtype]
    values = {}
    for name, node in store.fielddefs[msgtype][1]:
        values[name] = fields.pop(name) if name in fields else _default_field(store, node)
    if fields:
        raise TypeError(f"{msgtype} has no field(s) {sorted(fields)}")
    return cls(**values)


def rosbags_factory() -> Any:
    """A MessageFactory (pipeline.ros_messages) building rosbags messages."""
    import numpy as np

    from spatialbot_ros.pipeline.ros_messages import MessageFactory

    return MessageFactory(
        new=default_message,
        array=np.asarray,
        byte_buffer=lambda buf: np.frombuffer(buf, dtype=np.uint8).copy(),
    )


def _full_name(type_name: str) -> str:
    parts = type_name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 else type_name
