"""Write results (and optionally camera streams) to a ROS 2 bag that `ros2 bag play` replays."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.replay.errors import ReplayError
from spatialbot_ros.replay.reader import CameraTopics

__all__ = ["STORAGES", "BagWriter", "ResultTopics", "open_typestore"]

STORAGES = ("mcap", "sqlite3")


@dataclass(frozen=True)
class ResultTopics:
    """Topics the results are written on (the names the spatialbot node publishes)."""

    result_json: str = "/spatialbot/result"
    target_pose: str = "/spatialbot/target_pose"  # base frame, when the camera pose is known
    target_pose_camera: str = "/spatialbot/target_pose_camera"
    detections: str = "/spatialbot/detections_2d"
    markers: str = "/spatialbot/markers"
    annotated_image: str = "/spatialbot/debug_image"
    tf_static: str = "/tf_static"


_TYPES = {
    "result_json": "std_msgs/msg/String",
    "target_pose": "geometry_msgs/msg/PoseStamped",
    "target_pose_camera": "geometry_msgs/msg/PoseStamped",
    "detections": "vision_msgs/msg/Detection2DArray",
    "markers": "visualization_msgs/msg/MarkerArray",
    "annotated_image": "sensor_msgs/msg/Image",
    "tf_static": "tf2_msgs/msg/TFMessage",
    "color": "sensor_msgs/msg/Image",
    "depth": "sensor_msgs/msg/Image",
    "color_info": "sensor_msgs/msg/CameraInfo",
    "depth_info": "sensor_msgs/msg/CameraInfo",
    "task": "std_msgs/msg/String",
}


def open_typestore() -> Any:
    """The shared typestore (ROS 2 standard messages + vision_msgs)."""
    from spatialbot_ros.pipeline.ros_types import make_typestore

    return make_typestore()


def _qos(kind: str) -> Any:
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    if kind not in ("reliable", "sensor", "latched"):
        raise ValueError(f"expected qos reliable, sensor or latched, got {kind!r}")
    infinite = QosTime(9223372036, 854775807)  # what rclpy records for "no limit"
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth={"reliable": 10, "sensor": 5, "latched": 1}[kind],
        reliability=QosReliability.BEST_EFFORT if kind == "sensor" else QosReliability.RELIABLE,
        durability=QosDurability.TRANSIENT_LOCAL if kind == "latched" else QosDurability.VOLATILE,
        deadline=infinite,
        lifespan=infinite,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=infinite,
        avoid_ros_namespace_conventions=False,
    )


class BagWriter:
    """A rosbags Writer with one connection per topic, created on first use.

    Storage "mcap" (Iron and later default) or "sqlite3" (Humble default); both carry the
    message definitions, so `ros2 bag play` and independent readers can decode them.
    """

    def __init__(self, path: str | Path, storage: str = "mcap", *, overwrite: bool = False) -> None:
        """Prepare a new bag directory at `path` (must not exist unless `overwrite`)."""
        if storage not in STORAGES:
            raise ValueError(f"expected storage in {STORAGES}, got {storage!r}")
        self.path = Path(path)
        self.storage = storage
        if self.path.exists():
            if not overwrite:
                raise ReplayError(f"expected a new output bag path, got existing {self.path}")
            shutil.rmtree(self.path)
        self.typestore = open_typestore()
        self._writer: Any = None
        self._conns: dict[str, Any] = {}
        self.messages_written = 0

    def __enter__(self) -> BagWriter:
        """Open the bag for writing."""
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the bag; what was written stays readable even after an error."""
        self.close()

    def open(self) -> None:
        """Create the bag directory and its storage file."""
        from rosbags.rosbag2 import StoragePlugin, Writer

        plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._writer.open()

    def close(self) -> None:
        """Finish the bag (writes metadata.yaml); safe to call twice."""
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None

    def write(
        self, topic: str, msgtype: str, msg: Any, log_time_ns: int, qos: str = "reliable"
    ) -> None:
        """Serialise `msg` (a typestore message) onto `topic` at `log_time_ns`.

        `qos` is the offered QoS recorded for the topic on first use, which `ros2 bag play`
        republishes with: "reliable", "sensor" (best effort, as realsense-ros images) or
        "latched" (transient local, as /tf_static, so late subscribers such as RViz get it).
        """
        if self._writer is None:
            raise ReplayError(f"{self.path}: writer is not open")
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._writer.add_connection(
                topic, msgtype, typestore=self.typestore, offered_qos_profiles=[_qos(qos)]
            )
            self._conns[topic] = conn
        elif conn.msgtype != msgtype:
            raise ReplayError(f"expected {conn.msgtype} on {topic}, got {msgtype}")
        self._writer.write(conn, int(log_time_ns), self.typestore.serialize_cdr(msg, msgtype))
        self.messages_written += 1

    # --- helpers building the messages with pipeline.ros_messages ---------------------------

    def factory(self) -> Any:
        """A MessageFactory building messages of this writer's typestore."""
        from spatialbot_ros.pipeline.ros_types import rosbags_factory

        return rosbags_factory()

    def write_frame(
        self,
        frame: RGBDFrame,
        topics: CameraTopics,
        log_time_ns: int | None = None,
        *,
        with_depth_info: bool = True,
    ) -> None:
        """Colour (rgb8), aligned depth (16UC1) and camera_infos as realsense-ros publishes them."""
        from spatialbot_ros.pipeline import ros_messages as rm

        f = self.factory()
        t = frame.stamp_ns if log_time_ns is None else log_time_ns
        fid = frame.frame_id
        info = rm.make_camera_info(f, frame.intrinsics, frame.stamp_ns, fid)
        self.write(topics.color_info, _TYPES["color_info"], info, t)
        if with_depth_info:
            self.write(topics.depth_info, _TYPES["depth_info"], info, t)
        self.write(
            topics.color,
            _TYPES["color"],
            rm.make_image(f, frame.rgb, "rgb8", frame.stamp_ns, fid),
            t,
            qos="sensor",
        )
        self.write(
            topics.depth,
            _TYPES["depth"],
            rm.make_image(f, frame.depth_mm, "16UC1", frame.stamp_ns, fid),
            t,
            qos="sensor",
        )

    def write_task(self, topic: str, text: str, log_time_ns: int) -> None:
        """A std_msgs/String task."""
        from spatialbot_ros.pipeline import ros_messages as rm

        self.write(topic, _TYPES["task"], rm.make_string(self.factory(), text), log_time_ns)

    def write_transforms(
        self, transforms: list[RigidTransform], stamp_ns: int, topic: str = "/tf_static"
    ) -> None:
        """tf2_msgs/TFMessage with the given T_parent_child transforms."""
        from spatialbot_ros.pipeline import ros_messages as rm

        f = self.factory()
        msg = f(
            "tf2_msgs/msg/TFMessage",
            transforms=[rm.make_transform_stamped(f, tr, stamp_ns) for tr in transforms],
        )
        self.write(topic, _TYPES["tf_static"], msg, stamp_ns, qos="latched")

    def write_result(
        self,
        result: Mapping[str, Any],
        frame: RGBDFrame,
        annotated_rgb: npt.NDArray[np.uint8] | None,
        log_time_ns: int,
        *,
        topics: ResultTopics = ResultTopics(),
        base_frame: str = "base_link",
    ) -> None:
        """The result topics of one task: JSON, pose, 2D detection, markers, debug image."""
        from spatialbot_ros.pipeline import ros_messages as rm

        f = self.factory()
        stamp, fid = int(result.get("stamp_ns") or frame.stamp_ns), frame.frame_id
        self.write(
            topics.result_json, _TYPES["result_json"], rm.make_result_string(f, result), log_time_ns
        )
        target = result.get("target")
        if target is not None:
            # as the node does: the camera-frame pose always, the base-frame one when known
            pose = rm.make_pose_stamped(f, target["xyz_camera_m"], fid, stamp)
            self.write(topics.target_pose_camera, _TYPES["target_pose_camera"], pose, log_time_ns)
            if target.get("xyz_base_m") is not None:
                pose = rm.make_pose_stamped(f, target["xyz_base_m"], base_frame, stamp)
                self.write(topics.target_pose, _TYPES["target_pose"], pose, log_time_ns)
        self.write(
            topics.detections,
            _TYPES["detections"],
            rm.make_detection2d_array(f, target, stamp, fid),
            log_time_ns,
        )
        self.write(
            topics.markers,
            _TYPES["markers"],
            rm.make_marker_array(f, target, stamp, fid),
            log_time_ns,
        )
        if annotated_rgb is not None:
            self.write(
                topics.annotated_image,
                _TYPES["annotated_image"],
                rm.make_image(f, annotated_rgb, "rgb8", stamp, fid),
                log_time_ns,
            )
