"""SpatialBot node: tasks in, grounded targets out; all behaviour in SpatialBotNodeLogic.

Subscribes to synchronised colour, aligned depth and camera_info (sensor-data QoS,
ApproximateTimeSynchronizer) and to tasks on ~/task (std_msgs/String). The engine loads once on
a worker thread, which then runs tasks one at a time, so image callbacks (on a reentrant group
of a multi-threaded executor) never wait for the model. Publishes ~/target_pose (base frame),
~/target_pose_camera, ~/detections_2d, ~/detections_3d, ~/result (JSON), ~/debug_image,
~/markers and ~/status (JSON, latched).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import MarkerArray

from spatialbot_ros.pipeline.spatialbot_node_logic import (
    NodeStatus,
    SpatialBotNodeConfig,
    SpatialBotNodeLogic,
    TaskOutputs,
)
from spatialbot_ros.ros.conversions import (
    declare_parameters,
    log_at,
    make_tf_lookup,
    parse_json_parameter,
    publish_if_ok,
    rclpy_factory,
    reliable_qos,
    run_node,
    sensor_qos,
    status_qos,
    subscribe_rgbd,
)

__all__ = ["SpatialBotNode", "main"]

PARAMETERS = {
    "engine": ("geometric", "grounding engine: 'geometric' (no weights) or 'spatialbot' (VLM)"),
    "model_path": ("", "local directory of the SpatialBot model (engine 'spatialbot')"),
    "dtype": (
        "auto",
        "model dtype: auto (float16 on GPU, float32 on CPU), float16, bfloat16, float32",
    ),
    "device": ("auto", "model device: auto, cpu or cuda"),
    "trust_remote_code": (
        False,
        "allow the model directory's own Python code (SpatialBot needs it)",
    ),
    "engine_options": (
        "",
        'further engine settings as a JSON object, e.g. {"max_new_tokens": 128}',
    ),
    "color_topic": ("/camera/camera/color/image_raw", "colour image (rgb8/bgr8)"),
    "depth_topic": (
        "/camera/camera/aligned_depth_to_color/image_raw",
        "depth aligned to colour (16UC1 mm or 32FC1 m)",
    ),
    "camera_info_topic": ("/camera/camera/color/camera_info", "camera_info of the colour image"),
    "base_frame": ("base_link", "robot base frame the target pose is published in"),
    "tf_timeout_s": (0.2, "how long to wait for base_frame <- camera frame at the frame stamp"),
    "sync_slop_s": (0.05, "largest stamp difference between colour, depth and camera_info"),
    "sync_queue_size": (10, "messages kept per stream while waiting for a match"),
    "max_frame_age_s": (2.0, "a task on a frame older than this is refused (stale camera)"),
    "busy_policy": ("queue", "a task arriving while one runs: 'queue' or 'reject'"),
    "max_queued_tasks": (4, "longest task queue; further tasks are rejected with a status"),
    "max_task_chars": (500, "longest task text accepted"),
    "initial_task": ("", "task run once when the engine is ready and a frame has arrived"),
    "publish_debug_image": (True, "publish ~/debug_image with the target box drawn"),
    "plan_grasp": (True, "add a grasp plan (pre-grasp, grasp, lift) to grasp tasks' results"),
    "ur_type": ("ur5", "robot model for the grasp plan's inverse kinematics: ur5 or ur5e"),
    "grasp_seed_q": (
        [0.0, -1.75, 1.75, -1.57, -1.57, 0.0],
        "joint angles (rad) seeding the plan's IK; the grasp node replans from the live state",
    ),
}


class SpatialBotNode(Node):  # type: ignore[misc]
    """rclpy shell around SpatialBotNodeLogic."""

    def __init__(self) -> None:
        """Parameters, publishers, subscriptions; the engine loads on the worker thread."""
        super().__init__("spatialbot")
        p = declare_parameters(self, PARAMETERS)
        config = SpatialBotNodeConfig(
            engine=str(p["engine"]),
            model_path=str(p["model_path"]),
            dtype=str(p["dtype"]),
            device=str(p["device"]),
            trust_remote_code=bool(p["trust_remote_code"]),
            engine_options=parse_json_parameter(str(p["engine_options"]), "engine_options"),
            base_frame=str(p["base_frame"]),
            max_frame_age_s=float(p["max_frame_age_s"]),
            sync_slop_s=float(p["sync_slop_s"]),
            busy_policy=str(p["busy_policy"]),  # type: ignore[arg-type]  # validated there
            max_queued_tasks=int(p["max_queued_tasks"]),
            max_task_chars=int(p["max_task_chars"]),
            initial_task=str(p["initial_task"]),
            publish_debug_image=bool(p["publish_debug_image"]),
        )
        from tf2_ros.buffer import Buffer
        from tf2_ros.transform_listener import TransformListener

        self.tf_buffer = Buffer()
        self.tf_listener = TransformListener(self.tf_buffer, self)
        self.pub_status = self.create_publisher(String, "~/status", status_qos())
        self.logic = SpatialBotNodeLogic(
            config,
            rclpy_factory(),
            clock_ns=lambda: self.get_clock().now().nanoseconds,
            lookup_transform=make_tf_lookup(self.tf_buffer, float(p["tf_timeout_s"])),
            on_status=self._on_status,
            grasp_planner=self._grasp_planner(p),
        )
        reliable = reliable_qos()
        self.pub_pose = self.create_publisher(PoseStamped, "~/target_pose", reliable)
        self.pub_pose_camera = self.create_publisher(PoseStamped, "~/target_pose_camera", reliable)
        self.pub_det2d = self.create_publisher(Detection2DArray, "~/detections_2d", reliable)
        self.pub_det3d = self.create_publisher(Detection3DArray, "~/detections_3d", reliable)
        self.pub_result = self.create_publisher(String, "~/result", reliable)
        self.pub_debug = self.create_publisher(Image, "~/debug_image", sensor_qos())
        self.pub_markers = self.create_publisher(MarkerArray, "~/markers", reliable)

        self._subs, self.sync = subscribe_rgbd(
            self,
            (str(p["color_topic"]), str(p["depth_topic"]), str(p["camera_info_topic"])),
            self.logic.on_frames,
            slop_s=float(p["sync_slop_s"]),
            queue_size=int(p["sync_queue_size"]),
        )
        self.create_subscription(
            String,
            "~/task",
            self._on_task,
            reliable,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )
        self._worker = threading.Thread(target=self._work, name="spatialbot_worker", daemon=True)
        self._worker.start()

    @staticmethod
    def _grasp_planner(p: dict[str, Any]) -> Any:
        if not p["plan_grasp"]:
            return None
        from spatialbot_ros.pipeline.grasp_planning import make_grasp_planner

        return make_grasp_planner([float(v) for v in p["grasp_seed_q"]], str(p["ur_type"]))

    def _on_status(self, status: NodeStatus) -> None:
        task = f" (task {status.task!r})" if status.task else ""
        log_at(self.get_logger(), status.level, f"[{status.code}] {status.message}{task}")
        publish_if_ok(self.pub_status, String(data=status.to_json()))

    def _on_task(self, msg: Any) -> None:
        self.logic.submit_task(msg.data)

    def _work(self) -> None:
        if not self.logic.load_engine():
            return
        while rclpy.ok():
            outputs = self.logic.process_next(timeout_s=0.5)
            if outputs is None:
                if self.logic.closed:
                    return
                continue
            self._publish(outputs)

    def _publish(self, out: TaskOutputs) -> None:
        for publisher, msg in (
            (self.pub_det2d, out.detections_2d),
            (self.pub_det3d, out.detections_3d),
            (self.pub_markers, out.markers),
            (self.pub_debug, out.debug_image),
            (self.pub_pose_camera, out.pose_camera),
            (self.pub_pose, out.pose_base),
            (self.pub_result, out.result_msg),  # last: a caller waiting on it sees the rest
        ):
            if msg is not None:
                publish_if_ok(publisher, msg)

    def close(self) -> None:
        """Stop the worker thread (an engine call in progress finishes first)."""
        self.logic.close()
        self._worker.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    """Entry point: `ros2 run spatialbot_ros spatialbot_node`."""
    return run_node(SpatialBotNode, args, multithreaded=True)


if __name__ == "__main__":
    sys.exit(main())
