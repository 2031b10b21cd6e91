"""Gripper backend "gripper_action": control_msgs/action/GripperCommand (Robotiq 2F-85 via
ros2_control: position 0 open ... 0.7929 closed).  The result's `stalled` flag is the second
contact signal.  rclpy/control_msgs are imported inside.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from spatialbot_ros.pipeline.motion import GripperResult, MotionBackendError
from spatialbot_ros.ros.motion_move_group import RosNodeHandle, wait_future

__all__ = ["GripperActionBackend", "GripperActionConfig", "make_backend"]


@dataclass(frozen=True)
class GripperActionConfig:
    """Action name (the Robotiq driver's controller by default) and timeouts."""

    action_name: str = "/robotiq_gripper_controller/gripper_cmd"
    min_position: float = 0.0
    max_position: float = 0.7929
    server_timeout_s: float = 5.0
    result_timeout_s: float = 10.0
    node_name: str = "spatialbot_gripper_client"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> GripperActionConfig:
        """Known keys only; `gripper_action_name` is accepted as an alias of action_name."""
        values = {k: v for k, v in config.items() if k in {f.name for f in fields(cls)}}
        if "gripper_action_name" in config:
            values["action_name"] = config["gripper_action_name"]
        return cls(**values)


class GripperActionBackend:
    """GripperBackend over a GripperCommand action server."""

    name = "gripper_action"

    def __init__(self, config: GripperActionConfig, node: Any | None = None) -> None:
        """Create the action client on the given (spun) node or a private one."""
        from control_msgs.action import GripperCommand
        from rclpy.action import ActionClient

        self.config = config
        self._ros = RosNodeHandle(node, config.node_name)
        self._GripperCommand = GripperCommand
        self._client = ActionClient(
            self._ros.node, GripperCommand, config.action_name, callback_group=self._ros.group
        )
        self._handle: Any = None

    def command(
        self, position: float, max_effort: float, cancel: threading.Event | None = None
    ) -> GripperResult:
        """Send a GripperCommand goal and wait for its result (stalled = holding something)."""
        c = self.config
        if not math.isfinite(position) or not math.isfinite(max_effort):
            return GripperResult(math.nan, False, False, error="non-finite gripper command")
        position = min(max(position, c.min_position), c.max_position)
        if not self._client.wait_for_server(timeout_sec=c.server_timeout_s):
            return GripperResult(math.nan, False, False, error=f"'{c.action_name}' not available")
        goal = self._GripperCommand.Goal()
        goal.command.position = float(position)
        goal.command.max_effort = float(max_effort)
        try:
            handle = wait_future(
                self._client.send_goal_async(goal), c.server_timeout_s, "gripper goal"
            )
        except MotionBackendError as exc:
            return GripperResult(math.nan, False, False, error=str(exc))
        if not handle.accepted:
            return GripperResult(math.nan, False, False, error="gripper goal rejected")
        self._handle = handle
        future = handle.get_result_async()
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        waited = 0.0
        while not done.wait(0.02):
            waited += 0.02
            if (cancel is not None and cancel.is_set()) or waited > c.result_timeout_s:
                handle.cancel_goal_async()
                self._handle = None
                timed_out = waited > c.result_timeout_s
                return GripperResult(
                    math.nan,
                    False,
                    False,
                    error="gripper result timed out" if timed_out else None,
                    cancelled=not timed_out,
                )
        self._handle = None
        r = future.result().result
        return GripperResult(
            float(r.position), bool(r.reached_goal), bool(r.stalled), float(r.effort)
        )

    def cancel(self) -> None:
        """Cancel the running goal, if any."""
        handle = self._handle
        if handle is not None:
            handle.cancel_goal_async()


def make_backend(config: Mapping[str, Any]) -> GripperActionBackend:
    """Registry factory: GripperActionConfig keys, plus an optional rclpy `node`."""
    try:
        import rclpy  # noqa: F401
        from control_msgs.action import GripperCommand  # noqa: F401
    except ImportError as exc:
        raise MotionBackendError(
            f"the gripper_action backend needs rclpy and control_msgs (a ROS 2 install): {exc}"
        ) from exc
    return GripperActionBackend(GripperActionConfig.from_mapping(config), config.get("node"))
