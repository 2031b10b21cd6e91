"""RealSense camera node: publishes what realsense-ros publishes, from pipeline/camera_driver.

Run as namespace 'camera', name 'camera' (the launch file does) so topics match realsense-ros:
/camera/camera/color/image_raw (rgb8), /camera/camera/color/camera_info,
/camera/camera/aligned_depth_to_color/image_raw (16UC1, mm) and its camera_info, plus the static
TF tree below camera_link. Capture runs on its own thread; unplugging is reported on ~/status and
the driver reconnects with back-off while the node keeps running.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import rclpy
from rclpy.node import Node

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.pipeline import ros_messages as rm
from spatialbot_ros.pipeline.camera_driver import (
    CameraDriverConfig,
    DriverEvent,
    RealSenseDriver,
    camera_static_transforms,
)
from spatialbot_ros.ros.conversions import (
    declare_parameters,
    log_at,
    publish_if_ok,
    qos_by_name,
    rclpy_factory,
    run_node,
    status_qos,
)

__all__ = ["CameraNode", "main"]

PARAMETERS = {
    "camera_name": (
        "camera",
        "prefix of the TF frames (<camera_name>_link, ..._color_optical_frame)",
    ),
    "serial_no": ("", "serial number of the device to open; empty = the first one found"),
    "rgb_camera.color_profile": ("640x480x30", "colour stream WIDTHxHEIGHTxFPS"),
    "depth_module.depth_profile": ("640x480x30", "depth stream WIDTHxHEIGHTxFPS"),
    "decimation_filter.enable": (
        False,
        "decimation filter (depth resolution / magnitude, before alignment)",
    ),
    "decimation_filter.filter_magnitude": (2, "decimation factor 2..8"),
    "spatial_filter.enable": (False, "edge-preserving spatial smoothing (in disparity space)"),
    "temporal_filter.enable": (False, "temporal smoothing (in disparity space)"),
    "hole_filling_filter.enable": (False, "fill holes from neighbouring pixels (last filter)"),
    "rosbag_filename": ("", "play a RealSense recording (.bag or .db3) instead of a device"),
    "playback_realtime": (True, "play the recording at recorded speed (false: as fast as read)"),
    "frame_timeout_s": (5.0, "a frame not arriving within this time counts as a disconnection"),
    "reconnect_initial_s": (0.5, "first retry delay after a failure; doubles on each failure"),
    "reconnect_max_s": (8.0, "longest retry delay"),
    "image_qos": (
        "SENSOR_DATA",
        "QoS of the images: SENSOR_DATA (best effort) or DEFAULT (reliable)",
    ),
    "info_qos": ("DEFAULT", "QoS of the camera_info topics: DEFAULT (reliable) or SENSOR_DATA"),
    "publish_tf": (
        True,
        "publish the static TF below <camera_name>_link (false when the URDF does)",
    ),
}


class CameraNode(Node):  # type: ignore[misc]
    """Publishes colour, aligned depth, both camera_infos and static TF from one RealSense."""

    def __init__(self, rs_module: Any = None) -> None:
        """Declare parameters, create publishers; capture starts on a background thread."""
        super().__init__("camera")
        p = declare_parameters(self, PARAMETERS)
        self.camera_name = str(p["camera_name"])
        self.optical_frame = f"{self.camera_name}_color_optical_frame"
        config = CameraDriverConfig(
            serial_no=str(p["serial_no"]),
            color_profile=str(p["rgb_camera.color_profile"]),
            depth_profile=str(p["depth_module.depth_profile"]),
            decimation_filter=bool(p["decimation_filter.enable"]),
            decimation_magnitude=int(p["decimation_filter.filter_magnitude"]),
            spatial_filter=bool(p["spatial_filter.enable"]),
            temporal_filter=bool(p["temporal_filter.enable"]),
            hole_filling_filter=bool(p["hole_filling_filter.enable"]),
            rosbag_filename=str(p["rosbag_filename"]),
            playback_realtime=bool(p["playback_realtime"]),
            frame_timeout_s=float(p["frame_timeout_s"]),
            reconnect_initial_s=float(p["reconnect_initial_s"]),
            reconnect_max_s=float(p["reconnect_max_s"]),
        )
        self.publish_tf = bool(p["publish_tf"])
        self.factory = rclpy_factory()
        from sensor_msgs.msg import CameraInfo, Image
        from std_msgs.msg import String

        # As realsense-ros: images best effort, camera_info reliable (a reliable publisher
        # also serves best-effort subscribers).
        qos, info_qos = qos_by_name(str(p["image_qos"])), qos_by_name(str(p["info_qos"]))
        self.pub_color = self.create_publisher(Image, "color/image_raw", qos)
        self.pub_color_info = self.create_publisher(CameraInfo, "color/camera_info", info_qos)
        self.pub_depth = self.create_publisher(Image, "aligned_depth_to_color/image_raw", qos)
        self.pub_depth_info = self.create_publisher(
            CameraInfo, "aligned_depth_to_color/camera_info", info_qos
        )
        self.pub_status = self.create_publisher(String, "~/status", status_qos())
        self._tf_sent = False
        self._static_broadcaster: Any = None
        self.driver = RealSenseDriver(
            config,
            rs_module=rs_module,
            on_event=self._on_event,
            stamp_ns=lambda: self.get_clock().now().nanoseconds,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.driver.run, args=(self._stop, self._publish_frame), daemon=True
        )
        self._thread.start()

    def _on_event(self, event: DriverEvent) -> None:
        if not rclpy.ok():  # the capture thread outlived Ctrl-C: nowhere to report to
            return
        log_at(self.get_logger(), event.level, event.message)
        publish_if_ok(
            self.pub_status, rm.make_string(self.factory, f"{event.code}: {event.message}")
        )
        if event.code == "connected" and self.publish_tf:
            self._send_static_tf()

    def _send_static_tf(self) -> None:
        from tf2_ros.static_transform_broadcaster import StaticTransformBroadcaster

        if self._static_broadcaster is None:
            self._static_broadcaster = StaticTransformBroadcaster(self)
        stamp_ns = self.get_clock().now().nanoseconds
        transforms = camera_static_transforms(
            self.camera_name, self.driver.extrinsics_depth_to_color
        )
        self._static_broadcaster.sendTransform(
            [rm.make_transform_stamped(self.factory, t, stamp_ns) for t in transforms]
        )

    def _publish_frame(self, frame: RGBDFrame) -> None:
        f, stamp, frame_id = self.factory, frame.stamp_ns, self.optical_frame
        info = rm.make_camera_info(f, frame.intrinsics, stamp, frame_id)
        publish_if_ok(self.pub_color, rm.make_image(f, frame.rgb, "rgb8", stamp, frame_id))
        publish_if_ok(self.pub_color_info, info)
        publish_if_ok(self.pub_depth, rm.make_image(f, frame.depth_mm, "16UC1", stamp, frame_id))
        # Aligned depth lives on the colour grid, so it shares the colour camera_info.
        publish_if_ok(self.pub_depth_info, info)

    def close(self) -> None:
        """Stop the capture thread and the device (waits at most 2 s for a blocked call)."""
        self._stop.set()
        self._thread.join(timeout=2.0)

    @property
    def capture_blocked(self) -> bool:
        """True when the capture thread is still inside a pyrealsense2 call after close()."""
        return self._thread.is_alive()


def main(args: list[str] | None = None) -> int:
    """Entry point: `ros2 run spatialbot_ros camera_node`."""
    nodes: list[CameraNode] = []

    def make() -> CameraNode:
        nodes.append(CameraNode())
        return nodes[-1]

    code = run_node(make, args)
    if nodes and nodes[0].capture_blocked:
        # pyrealsense2 can sit in pipeline.start() for 15 s without a device; interpreter
        # shutdown would wait for it (and librealsense's own threads), so a Ctrl-C'd node
        # would hang. Everything ROS is already shut down: leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
