"""Motion backend "move_group": MoveIt's MoveGroup action (Humble and later), no moveit_py needed.

Pose goals become a moveit_msgs/MotionPlanRequest with one Constraints: a small sphere
PositionConstraint and an OrientationConstraint on `tool_link` (tool0), for the planning group
`ur_manipulator`, with the velocity/acceleration scaling factors.  The goal is sent with
`plan_only=True`; the planned trajectory is executed through the ExecuteTrajectory action, so
the grasp executor can look at (and the safety layer can check) the plan before anything moves.
Straight-line moves use the /compute_cartesian_path service and are retimed to the scaling.

rclpy and the message packages are imported inside the functions: the module imports without
ROS, and the goal builders take the message classes as arguments so tests can check them with
stand-ins.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.kinematics import BASE_FRAME, JOINT_NAMES, TOOL_FRAME
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.motion import MotionBackendError, MotionPlan, MotionResult

__all__ = [
    "MoveGroupConfig",
    "MoveGroupMotionBackend",
    "build_motion_plan_request",
    "fill_pose",
    "make_backend",
    "retime",
    "trajectory_arrays",
]

Mat = npt.NDArray[np.float64]
SUCCESS = 1  # moveit_msgs/MoveItErrorCodes.SUCCESS
SPHERE = 2  # shape_msgs/SolidPrimitive.SPHERE


@dataclass(frozen=True)
class MoveGroupConfig:
    """Names and tolerances; the defaults match ur_moveit_config."""

    group: str = "ur_manipulator"
    tool_link: str = TOOL_FRAME
    base_frame: str = BASE_FRAME
    move_action: str = "move_action"
    execute_action: str = "execute_trajectory"
    cartesian_service: str = "compute_cartesian_path"
    joint_states_topic: str = "joint_states"
    pipeline_id: str = ""
    planner_id: str = ""
    planning_time_s: float = 5.0
    planning_attempts: int = 5
    position_tolerance_m: float = 0.001
    orientation_tolerance_rad: float = 0.01
    cartesian_step_m: float = 0.005
    min_cartesian_fraction: float = 0.99
    server_timeout_s: float = 10.0
    result_timeout_s: float = 120.0
    node_name: str = "spatialbot_move_group_client"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> MoveGroupConfig:
        """Known keys only (others, such as the shared `node`, are ignored here)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in known})


def fill_pose(pose: Any, T: RigidTransform) -> Any:
    """Write a RigidTransform into a geometry_msgs/Pose-like object (position, orientation)."""
    xyz, q = T.to_xyz_quat()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in xyz)
    o = pose.orientation
    o.x, o.y, o.z, o.w = (float(v) for v in q)
    return pose


def build_motion_plan_request(
    msgs: Any,
    T_base_tool0: RigidTransform,
    config: MoveGroupConfig,
    velocity_scaling: float,
    acceleration_scaling: float,
) -> Any:
    """A MotionPlanRequest for a tool0 pose; `msgs` provides the message classes by name.

    Needed names: MotionPlanRequest, Constraints, PositionConstraint, OrientationConstraint,
    BoundingVolume, SolidPrimitive, Pose.
    """
    req = msgs.MotionPlanRequest()
    req.group_name = config.group
    req.num_planning_attempts = int(config.planning_attempts)
    req.allowed_planning_time = float(config.planning_time_s)
    req.max_velocity_scaling_factor = float(velocity_scaling)
    req.max_acceleration_scaling_factor = float(acceleration_scaling)
    if config.pipeline_id:
        req.pipeline_id = config.pipeline_id
    if config.planner_id:
        req.planner_id = config.planner_id
    req.start_state.is_diff = True  # plan from the current state
    frame = T_base_tool0.parent_frame

    pos = msgs.PositionConstraint()
    pos.header.frame_id = frame
    pos.link_name = config.tool_link
    region = msgs.BoundingVolume()
    sphere = msgs.SolidPrimitive()
    sphere.type = SPHERE
    sphere.dimensions = [float(config.position_tolerance_m)]
    region.primitives = [sphere]
    region.primitive_poses = [fill_pose(msgs.Pose(), T_base_tool0)]
    pos.constraint_region = region
    pos.weight = 1.0

    ori = msgs.OrientationConstraint()
    ori.header.frame_id = frame
    ori.link_name = config.tool_link
    _, q = T_base_tool0.to_xyz_quat()
    ori.orientation.x, ori.orientation.y, ori.orientation.z, ori.orientation.w = (
        float(v) for v in q
    )
    tol = float(config.orientation_tolerance_rad)
    ori.absolute_x_axis_tolerance = tol
    ori.absolute_y_axis_tolerance = tol
    ori.absolute_z_axis_tolerance = tol
    ori.weight = 1.0

    goal = msgs.Constraints()
    goal.name = "tool0_pose"
    goal.position_constraints = [pos]
    goal.orientation_constraints = [ori]
    req.goal_constraints = [goal]
    return req


def trajectory_arrays(joint_trajectory: Any) -> tuple[Mat, Mat]:
    """trajectory_msgs/JointTrajectory -> positions (N, 6) in JOINT_NAMES order, times (N,) s."""
    names = list(joint_trajectory.joint_names)
    missing = [j for j in JOINT_NAMES if j not in names]
    if missing:
        raise MotionBackendError(f"trajectory lacks joints {missing}, has {names}")
    order = [names.index(j) for j in JOINT_NAMES]
    pts = list(joint_trajectory.points)
    positions = np.array([[float(p.positions[i]) for i in order] for p in pts], dtype=np.float64)
    times = np.array(
        [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in pts], dtype=np.float64
    )
    return positions.reshape(-1, 6), times


def retime(joint_trajectory: Any, velocity_scaling: float, acceleration_scaling: float) -> Any:
    """Slow a (full-speed) trajectory down in place: t / s, v * s, a * s², s = min scaling."""
    s = max(min(velocity_scaling, math.sqrt(max(acceleration_scaling, 1e-6))), 1e-3)
    for p in joint_trajectory.points:
        t = (p.time_from_start.sec + p.time_from_start.nanosec * 1e-9) / s
        p.time_from_start.sec = int(t)
        p.time_from_start.nanosec = min(round((t - int(t)) * 1e9), 999_999_999)
        if len(p.velocities):
            p.velocities = [float(v) * s for v in p.velocities]
        if len(p.accelerations):
            p.accelerations = [float(a) * s * s for a in p.accelerations]
    return joint_trajectory


class _RosMessages:
    """The message classes build_motion_plan_request needs, from the installed packages."""

    def __init__(self) -> None:
        from geometry_msgs.msg import Pose
        from moveit_msgs.msg import (
            BoundingVolume,
            Constraints,
            MotionPlanRequest,
            OrientationConstraint,
            PositionConstraint,
        )
        from shape_msgs.msg import SolidPrimitive

        self.Pose = Pose
        self.BoundingVolume = BoundingVolume
        self.Constraints = Constraints
        self.MotionPlanRequest = MotionPlanRequest
        self.OrientationConstraint = OrientationConstraint
        self.PositionConstraint = PositionConstraint
        self.SolidPrimitive = SolidPrimitive


def wait_future(future: Any, timeout_s: float, what: str) -> Any:
    """Block until an rclpy future completes (the node is spun by another thread)."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout_s):
        raise MotionBackendError(f"timed out after {timeout_s} s waiting for {what}")
    return future.result()


class RosNodeHandle:
    """A node to talk through: the caller's (already spun) or our own with a spin thread."""

    def __init__(self, node: Any | None, node_name: str) -> None:
        """Use `node` when given; else init rclpy if needed and spin a private node."""
        import rclpy
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.executors import MultiThreadedExecutor

        self.group = ReentrantCallbackGroup()
        self._executor = None
        if node is not None:
            self.node = node
            return
        if not rclpy.ok():
            rclpy.init()
        self.node = rclpy.create_node(node_name)
        self._executor = MultiThreadedExecutor(num_threads=2)
        self._executor.add_node(self.node)
        threading.Thread(target=self._executor.spin, name=node_name, daemon=True).start()

    def shutdown(self) -> None:
        """Stop our own spin thread and node (a borrowed node is left alone)."""
        if self._executor is not None:
            self._executor.shutdown()
            self.node.destroy_node()


class MoveGroupMotionBackend:
    """MotionBackend over the MoveGroup and ExecuteTrajectory actions."""

    name = "move_group"

    def __init__(self, config: MoveGroupConfig, node: Any | None = None) -> None:
        """Connect the action clients, the Cartesian path service and the joint state cache."""
        from moveit_msgs.action import ExecuteTrajectory, MoveGroup
        from moveit_msgs.srv import GetCartesianPath
        from rclpy.action import ActionClient
        from sensor_msgs.msg import JointState

        self.config = config
        self._ros = RosNodeHandle(node, config.node_name)
        n, grp = self._ros.node, self._ros.group
        self._msgs = _RosMessages()
        self._MoveGroup = MoveGroup
        self._ExecuteTrajectory = ExecuteTrajectory
        self._GetCartesianPath = GetCartesianPath
        self._move = ActionClient(n, MoveGroup, config.move_action, callback_group=grp)
        self._exec = ActionClient(n, ExecuteTrajectory, config.execute_action, callback_group=grp)
        self._cartesian = n.create_client(
            GetCartesianPath, config.cartesian_service, callback_group=grp
        )
        self._lock = threading.Lock()
        self._q: Mat | None = None
        self._goal_handle: Any = None
        n.create_subscription(
            JointState, config.joint_states_topic, self._on_joint_state, 10, callback_group=grp
        )

    def _on_joint_state(self, msg: Any) -> None:
        names = list(msg.name)
        if all(j in names for j in JOINT_NAMES):
            q = np.array([float(msg.position[names.index(j)]) for j in JOINT_NAMES])
            with self._lock:
                self._q = q

    def current_joint_state(self) -> Mat:
        """Latest /joint_states in JOINT_NAMES order (raises if none arrived yet)."""
        with self._lock:
            q = None if self._q is None else np.array(self._q, dtype=np.float64)
        if q is None:
            raise MotionBackendError(
                f"no {self.config.joint_states_topic} message with {list(JOINT_NAMES)} yet"
            )
        return q

    def plan_to_pose(
        self,
        T_base_tool0: RigidTransform,
        velocity_scaling: float,
        acceleration_scaling: float,
        *,
        cartesian: bool = False,
        q_hint: Mat | None = None,
    ) -> MotionPlan:
        """Plan only (MoveGroup plan_only, or the Cartesian path service for straight lines)."""
        try:
            if cartesian:
                return self._plan_cartesian(T_base_tool0, velocity_scaling, acceleration_scaling)
            req = build_motion_plan_request(
                self._msgs, T_base_tool0, self.config, velocity_scaling, acceleration_scaling
            )
            return self._plan_request(req, "pose", velocity_scaling, acceleration_scaling)
        except MotionBackendError as exc:
            return MotionPlan(False, self.name, "pose", cartesian=cartesian, error=str(exc))

    def plan_to_joints(
        self, q_goal: Mat, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        """Plan only, to joint constraints."""
        from moveit_msgs.msg import Constraints, JointConstraint

        req = self._msgs.MotionPlanRequest()
        req.group_name = self.config.group
        req.num_planning_attempts = int(self.config.planning_attempts)
        req.allowed_planning_time = float(self.config.planning_time_s)
        req.max_velocity_scaling_factor = float(velocity_scaling)
        req.max_acceleration_scaling_factor = float(acceleration_scaling)
        req.start_state.is_diff = True
        goal = Constraints()
        for name, value in zip(JOINT_NAMES, np.asarray(q_goal, dtype=float), strict=True):
            jc = JointConstraint()
            jc.joint_name = name
            jc.position = float(value)
            jc.tolerance_above = jc.tolerance_below = 1e-3
            jc.weight = 1.0
            goal.joint_constraints.append(jc)
        req.goal_constraints = [goal]
        try:
            return self._plan_request(req, "joints", velocity_scaling, acceleration_scaling)
        except MotionBackendError as exc:
            return MotionPlan(False, self.name, "joints", error=str(exc))

    def _plan_request(
        self, req: Any, target: str, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        if not self._move.wait_for_server(timeout_sec=self.config.server_timeout_s):
            raise MotionBackendError(f"MoveGroup action '{self.config.move_action}' not available")
        goal = self._MoveGroup.Goal()
        goal.request = req
        goal.planning_options.plan_only = True
        goal.planning_options.planning_scene_diff.is_diff = True
        goal.planning_options.planning_scene_diff.robot_state.is_diff = True
        handle = wait_future(
            self._move.send_goal_async(goal), self.config.server_timeout_s, "MoveGroup goal"
        )
        if not handle.accepted:
            raise MotionBackendError("MoveGroup goal rejected")
        result = wait_future(
            handle.get_result_async(), self.config.result_timeout_s, "MoveGroup result"
        ).result
        if result.error_code.val != SUCCESS:
            raise MotionBackendError(
                f"MoveGroup planning failed, error code {result.error_code.val}"
            )
        traj = result.planned_trajectory
        positions, times = trajectory_arrays(traj.joint_trajectory)
        return MotionPlan(
            True, self.name, target, JOINT_NAMES, positions, times, velocity_scaling,
            acceleration_scaling, native=traj,
        )  # fmt: skip

    def _plan_cartesian(
        self, T: RigidTransform, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        if not self._cartesian.wait_for_service(timeout_sec=self.config.server_timeout_s):
            raise MotionBackendError(f"service '{self.config.cartesian_service}' not available")
        req = self._GetCartesianPath.Request()
        req.header.frame_id = T.parent_frame
        req.header.stamp = self._ros.node.get_clock().now().to_msg()
        req.start_state.is_diff = True
        req.group_name = self.config.group
        req.link_name = self.config.tool_link
        req.waypoints = [fill_pose(self._msgs.Pose(), T)]
        req.max_step = float(self.config.cartesian_step_m)
        req.jump_threshold = 0.0
        req.avoid_collisions = True
        res = wait_future(
            self._cartesian.call_async(req), self.config.server_timeout_s, "Cartesian path"
        )
        if res.fraction < self.config.min_cartesian_fraction:
            raise MotionBackendError(
                f"Cartesian path covers {res.fraction:.0%} of the line (error {res.error_code.val})"
            )
        retime(res.solution.joint_trajectory, velocity_scaling, acceleration_scaling)
        positions, times = trajectory_arrays(res.solution.joint_trajectory)
        return MotionPlan(
            True, self.name, "pose", JOINT_NAMES, positions, times, velocity_scaling,
            acceleration_scaling, cartesian=True, native=res.solution,
        )  # fmt: skip

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        """ExecuteTrajectory with the planned RobotTrajectory; cancels the goal on `cancel`."""
        if not plan.ok or plan.native is None:
            return MotionResult(False, error=plan.error or "no trajectory to execute")
        if not self._exec.wait_for_server(timeout_sec=self.config.server_timeout_s):
            return MotionResult(False, error=f"action '{self.config.execute_action}' not available")
        goal = self._ExecuteTrajectory.Goal()
        goal.trajectory = plan.native
        try:
            handle = wait_future(
                self._exec.send_goal_async(goal), self.config.server_timeout_s, "execute goal"
            )
        except MotionBackendError as exc:
            return MotionResult(False, error=str(exc))
        if not handle.accepted:
            return MotionResult(False, error="ExecuteTrajectory goal rejected")
        self._goal_handle = handle
        result_future = handle.get_result_async()
        done = threading.Event()
        result_future.add_done_callback(lambda _f: done.set())
        deadline = plan.duration_s + self.config.result_timeout_s
        waited = 0.0
        while not done.wait(0.02):
            waited += 0.02
            if cancel is not None and cancel.is_set():
                handle.cancel_goal_async()
                done.wait(5.0)
                self._goal_handle = None
                return MotionResult(False, cancelled=True)
            if waited > deadline:
                handle.cancel_goal_async()
                self._goal_handle = None
                return MotionResult(False, error=f"execution exceeded {deadline:.1f} s")
        self._goal_handle = None
        code = result_future.result().result.error_code.val
        if code != SUCCESS:
            return MotionResult(False, error=f"execution failed, error code {code}")
        try:
            final_q = self.current_joint_state()
        except MotionBackendError:
            final_q = None
        return MotionResult(True, final_q=final_q)

    def cancel(self) -> None:
        """Cancel the running ExecuteTrajectory goal, if any."""
        handle = self._goal_handle
        if handle is not None:
            handle.cancel_goal_async()


def make_backend(config: Mapping[str, Any]) -> MoveGroupMotionBackend:
    """Registry factory: config keys of MoveGroupConfig, plus an optional rclpy `node`."""
    try:
        import rclpy  # noqa: F401
        from moveit_msgs.action import MoveGroup  # noqa: F401
    except ImportError as exc:
        raise MotionBackendError(
            f"the move_group backend needs rclpy and moveit_msgs (a ROS 2 install): {exc}"
        ) from exc
    return MoveGroupMotionBackend(MoveGroupConfig.from_mapping(config), config.get("node"))
