"""Grasp node: SpatialBot results or target poses in, grasp plans and executed grasps out.

Inputs: the SpatialBot node's JSON results (/spatialbot/result; grasp tasks are planned on this
node's own latest depth frame inside the target box) and ~/target_pose (PoseStamped in the base
frame; a nominal cup-sized object is assumed there). Outputs: ~/plan (JSON: GraspPlan.as_dict()
or a refusal), ~/grasp_pose (tool0 at grasp, PoseStamped), ~/status (JSON per step, latched)
and ~/result (JSON outcome). Services (std_srvs/Trigger): ~/execute runs the last plan,
~/cancel stops motion; ~/cancel is also a std_msgs/Empty topic. With auto_execute every new
plan runs at once. Feedback is the ~/status stream; an action interface would need a second,
ament_cmake interfaces package, which this package avoids (DESIGN.md §2).
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
from typing import Any

import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import Empty, String
from std_srvs.srv import Trigger

from spatialbot_ros.core.grasp import GraspPlan
from spatialbot_ros.pipeline import ros_messages as rm
from spatialbot_ros.pipeline.grasp_node_logic import GraspNodeConfig, GraspNodeLogic, GraspStatus
from spatialbot_ros.pipeline.motion import make_gripper_backend, make_motion_backend
from spatialbot_ros.pipeline.results import dumps_result
from spatialbot_ros.ros.conversions import (
    declare_parameters,
    log_at,
    make_tf_lookup,
    parse_json_parameter,
    publish_if_ok,
    rclpy_factory,
    reliable_qos,
    run_node,
    status_qos,
    subscribe_rgbd,
)

__all__ = ["GraspNode", "main"]

PARAMETERS = {
    "motion_backend": (
        "dry_run",
        "arm backend: dry_run (plan only), move_group (any distro), moveit_py (Iron+)",
    ),
    "gripper_backend": (
        "dry_run",
        "gripper backend: dry_run or gripper_action (control_msgs/GripperCommand)",
    ),
    "backend_options": (
        "",
        "backend settings as a JSON object (action names, planning group, ...)",
    ),
    "ur_type": ("ur5", "robot model for kinematics: ur5 or ur5e"),
    "base_frame": ("base_link", "frame of the targets and plans"),
    "velocity_scaling": (0.1, "joint velocity scaling of free motions (0, 1]"),
    "acceleration_scaling": (0.1, "joint acceleration scaling (0, 1]"),
    "approach_velocity_scaling": (0.05, "velocity scaling of the straight approach (0, 1]"),
    "max_effort": (40.0, "gripper effort limit (N) when closing"),
    "auto_execute": (False, "execute each new plan at once (else call ~/execute)"),
    "watch_contact": (
        True,
        "stop the approach when depth shows the fingertips touching the object",
    ),
    "verify_lift": (True, "after lifting, check the gripper holds the object"),
    "max_target_age_s": (10.0, "results older than this (by their frame stamp) are not grasped"),
    "pose_target_radius_m": (0.04, "radius of the nominal object assumed at a ~/target_pose"),
    "pose_target_height_m": (0.10, "height of the nominal object assumed at a ~/target_pose"),
    "grasp_options": ("", "grasp synthesis settings (core.grasp.GraspConfig) as a JSON object"),
    "safety_options": ("", "workspace limits (core.safety.SafetyLimits) as a JSON object"),
    "result_topic": ("/spatialbot/result", "SpatialBot JSON results to act on"),
    "color_topic": ("/camera/camera/color/image_raw", "colour image (for the synchroniser)"),
    "depth_topic": ("/camera/camera/aligned_depth_to_color/image_raw", "depth aligned to colour"),
    "camera_info_topic": ("/camera/camera/color/camera_info", "camera_info of the colour image"),
    "sync_slop_s": (0.05, "largest stamp difference within one RGB-D frame"),
    "tf_timeout_s": (0.1, "wait for base_frame <- camera frame at the frame stamp"),
}


class GraspNode(Node):  # type: ignore[misc]
    """rclpy shell around GraspNodeLogic."""

    def __init__(self) -> None:
        """Parameters, backends, publishers, services; grasps run on a worker thread."""
        super().__init__("grasp")
        p = declare_parameters(self, PARAMETERS)
        config = GraspNodeConfig(
            motion_backend=str(p["motion_backend"]),
            gripper_backend=str(p["gripper_backend"]),
            ur_type=str(p["ur_type"]),
            base_frame=str(p["base_frame"]),
            velocity_scaling=float(p["velocity_scaling"]),
            acceleration_scaling=float(p["acceleration_scaling"]),
            approach_velocity_scaling=float(p["approach_velocity_scaling"]),
            max_effort=float(p["max_effort"]),
            auto_execute=bool(p["auto_execute"]),
            watch_contact=bool(p["watch_contact"]),
            verify_lift=bool(p["verify_lift"]),
            max_target_age_s=float(p["max_target_age_s"]),
            pose_target_radius_m=float(p["pose_target_radius_m"]),
            pose_target_height_m=float(p["pose_target_height_m"]),
            grasp=parse_json_parameter(str(p["grasp_options"]), "grasp_options"),
            safety=parse_json_parameter(str(p["safety_options"]), "safety_options"),
        )
        self.factory = rclpy_factory()
        self.pub_status = self.create_publisher(String, "~/status", status_qos())
        backend_config = {
            **parse_json_parameter(str(p["backend_options"]), "backend_options"),
            "node": self,
            "ur_type": config.ur_type,
        }
        motion = make_motion_backend(config.motion_backend, backend_config)
        gripper = make_gripper_backend(config.gripper_backend, backend_config)
        self.logic = GraspNodeLogic(
            config,
            motion,
            gripper,
            clock_ns=lambda: self.get_clock().now().nanoseconds,
            on_status=self._on_status,
        )
        reliable = reliable_qos()
        self.pub_plan = self.create_publisher(String, "~/plan", reliable)
        self.pub_result = self.create_publisher(String, "~/result", reliable)
        self.pub_grasp_pose = self.create_publisher(PoseStamped, "~/grasp_pose", reliable)

        from tf2_ros.buffer import Buffer
        from tf2_ros.transform_listener import TransformListener

        self.tf_buffer = Buffer()
        self.tf_listener = TransformListener(self.tf_buffer, self)
        self.lookup = make_tf_lookup(self.tf_buffer, float(p["tf_timeout_s"]))
        self.slop_ns = int(float(p["sync_slop_s"]) * 1e9)

        self._subs, self.sync = subscribe_rgbd(
            self,
            (str(p["color_topic"]), str(p["depth_topic"]), str(p["camera_info_topic"])),
            self._on_frames,
            slop_s=float(p["sync_slop_s"]),
        )

        commands = MutuallyExclusiveCallbackGroup()
        self.create_subscription(
            String, str(p["result_topic"]), self._on_result, reliable, callback_group=commands
        )
        self.create_subscription(
            PoseStamped, "~/target_pose", self._on_pose, reliable, callback_group=commands
        )
        control = ReentrantCallbackGroup()  # cancel must run while a grasp executes
        self.create_subscription(
            Empty, "~/cancel", lambda _msg: self.logic.cancel(), reliable, callback_group=control
        )
        self.create_service(Trigger, "~/cancel", self._srv_cancel, callback_group=control)
        self.create_service(Trigger, "~/execute", self._srv_execute, callback_group=control)

        self._jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=8)
        self._worker = threading.Thread(target=self._work, name="grasp_worker", daemon=True)
        self._worker.start()
        self._on_status(
            GraspStatus(
                "info",
                "ready",
                f"motion {motion.name}, gripper {gripper.name}, auto_execute={config.auto_execute}",
            )
        )

    # -- callbacks (fast; the worker does the slow parts) --------------------------------------

    def _on_status(self, status: GraspStatus) -> None:
        log_at(self.get_logger(), status.level, f"[{status.step}] {status.message}")
        publish_if_ok(self.pub_status, String(data=status.to_json()))

    def _on_frames(self, rgb: Any, depth: Any, info: Any) -> None:
        try:
            frame = rm.frame_from_messages(rgb, depth, info, max_skew_ns=self.slop_ns)
        except Exception:  # the SpatialBot node reports bad frames; here they are just unusable
            return
        try:
            T = self.lookup(self.logic.config.base_frame, frame.frame_id, frame.stamp_ns)
        except Exception:
            T = None
        self.logic.on_frame(frame, T)

    def _submit(self, kind: str, payload: Any) -> None:
        try:
            self._jobs.put_nowait((kind, payload))
        except queue.Full:
            self._on_status(GraspStatus("error", "rejected", "too many pending targets"))

    def _on_result(self, msg: Any) -> None:
        try:
            result = json.loads(msg.data)
        except json.JSONDecodeError as exc:
            self._on_status(GraspStatus("error", "ignored", f"result is not JSON: {exc}"))
            return
        self._submit("result", result)

    def _on_pose(self, msg: Any) -> None:
        frame = str(msg.header.frame_id)
        if frame != self.logic.config.base_frame:
            self._on_status(
                GraspStatus(
                    "error",
                    "refused",
                    f"target pose must be in {self.logic.config.base_frame}, got {frame!r}",
                )
            )
            return
        p = msg.pose.position
        self._submit("pose", (p.x, p.y, p.z))

    def _srv_cancel(self, request: Any, response: Any) -> Any:
        status = self.logic.cancel()
        response.success, response.message = True, status.message
        return response

    def _srv_execute(self, request: Any, response: Any) -> Any:
        if self.logic.last_plan is None or self.logic.busy:
            response.success = False
            response.message = "busy" if self.logic.busy else "no grasp planned yet"
            return response
        self._submit("execute", None)
        response.success, response.message = True, "executing the last plan"
        return response

    # -- worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while rclpy.ok():
            try:
                job = self._jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            if job is None:
                return
            kind, payload = job
            try:
                self._run(kind, payload)
            except Exception as exc:  # keep the worker alive; say what happened
                self._on_status(GraspStatus("error", kind, f"{type(exc).__name__}: {exc}"))

    def _run(self, kind: str, payload: Any) -> None:
        if kind == "execute":
            self._execute(self.logic.last_plan)
            return
        if kind == "result":
            plan = self.logic.plan_from_result(payload)
        else:
            plan = self.logic.plan_from_position(payload)
        if plan is None:
            return
        publish_if_ok(self.pub_plan, String(data=dumps_result(plan.as_dict())))
        if isinstance(plan, GraspPlan):
            xyz, q = plan.grasp.to_xyz_quat()
            stamp = self.get_clock().now().nanoseconds
            publish_if_ok(
                self.pub_grasp_pose,
                rm.make_pose_stamped(self.factory, xyz, self.logic.config.base_frame, stamp, q),
            )
            if self.logic.config.auto_execute:
                self._execute(plan)

    def _execute(self, plan: GraspPlan | None) -> None:
        outcome = self.logic.execute(plan)
        publish_if_ok(self.pub_result, String(data=dumps_result(outcome.as_dict())))

    def close(self) -> None:
        """Stop motion and the worker."""
        if self.logic.busy:
            self.logic.cancel()
        with contextlib.suppress(queue.Full):
            self._jobs.put(None, timeout=1.0)
        self._worker.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    """Entry point: `ros2 run spatialbot_ros grasp_node`."""
    return run_node(GraspNode, args, multithreaded=True)


if __name__ == "__main__":
    sys.exit(main())
