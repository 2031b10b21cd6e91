"""Motion backend "moveit_py": MoveIt's Python API (MoveItPy, Iron and later).

Plans with `get_planning_component("ur_manipulator")`, `set_start_state_to_current_state()`,
`set_goal_state(pose_stamped_msg=..., pose_link="tool0")` and `plan(single_plan_parameters=...)`
(velocity/acceleration scaling set on PlanRequestParameters loaded from the MoveItPy node's
parameters under `plan_request_namespace`); straight lines use the Pilz LIN planner when
`cartesian_pipeline` is set.  Executes with `MoveItPy.execute(trajectory, controllers=[])`
(falling back to Iron's `execute(group, trajectory, blocking=True)`), in a worker thread so a
cancel can stop the trajectory execution manager.

MoveItPy needs its parameters (robot_description, SRDF, kinematics, planning pipelines); pass
them as `config_dict` (e.g. MoveItConfigsBuilder("ur").to_dict() in a launch file) or launch
the node with a params file.  All moveit/rclpy imports happen inside.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.kinematics import BASE_FRAME, JOINT_NAMES, TOOL_FRAME
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.motion import MotionBackendError, MotionPlan, MotionResult
from spatialbot_ros.ros.motion_move_group import fill_pose, trajectory_arrays

__all__ = ["MoveItPyConfig", "MoveItPyMotionBackend", "make_backend"]

Mat = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MoveItPyConfig:
    """MoveItPy node, group, frames and planner namespaces."""

    node_name: str = "spatialbot_moveit_py"
    group: str = "ur_manipulator"
    tool_link: str = TOOL_FRAME
    base_frame: str = BASE_FRAME
    plan_request_namespace: str = "ompl_rrtc"
    cartesian_pipeline: str = "pilz_industrial_motion_planner"  # "" = plan lines like any goal
    cartesian_planner_id: str = "LIN"
    execute_timeout_s: float = 120.0

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> MoveItPyConfig:
        """Known keys only (config_dict and node are handled by make_backend)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in known})


def _execution_ok(status: Any) -> bool:
    # MoveItCpp::execute returns moveit_controller_manager::ExecutionStatus; its binding
    # exposes .status ("SUCCEEDED", ...) and converts to bool on success
    text = getattr(status, "status", None)
    if isinstance(text, str):
        return text.upper() == "SUCCEEDED"
    return bool(status)


class MoveItPyMotionBackend:
    """MotionBackend over moveit_py's MoveItPy and PlanningComponent."""

    name = "moveit_py"

    def __init__(
        self, config: MoveItPyConfig, config_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Start MoveItPy (it spins its own node) and get the planning component."""
        from moveit.planning import MoveItPy, PlanRequestParameters

        self.config = config
        if config_dict is not None:
            self.robot = MoveItPy(node_name=config.node_name, config_dict=dict(config_dict))
        else:
            self.robot = MoveItPy(node_name=config.node_name)
        self.arm = self.robot.get_planning_component(config.group)
        self._PlanRequestParameters = PlanRequestParameters
        self._running = threading.Event()

    def current_joint_state(self) -> Mat:
        """The planning scene monitor's current state, in JOINT_NAMES order."""
        psm = self.robot.get_planning_scene_monitor()
        with psm.read_only() as scene:
            state = scene.current_state
            positions = getattr(state, "joint_positions", None)
            if isinstance(positions, Mapping) and all(j in positions for j in JOINT_NAMES):
                return np.array([float(positions[j]) for j in JOINT_NAMES], dtype=np.float64)
            # ur_manipulator's active joints are JOINT_NAMES in this order
            return np.asarray(state.get_joint_group_positions(self.config.group), dtype=np.float64)

    def _params(self, velocity_scaling: float, acceleration_scaling: float, cartesian: bool) -> Any:
        params = self._PlanRequestParameters(self.robot, self.config.plan_request_namespace)
        params.max_velocity_scaling_factor = float(velocity_scaling)
        params.max_acceleration_scaling_factor = float(acceleration_scaling)
        if cartesian and self.config.cartesian_pipeline:
            params.planning_pipeline = self.config.cartesian_pipeline
            params.planner_id = self.config.cartesian_planner_id
        return params

    def _plan(
        self, target: str, velocity_scaling: float, acceleration_scaling: float, cartesian: bool
    ) -> MotionPlan:
        result = self.arm.plan(
            single_plan_parameters=self._params(velocity_scaling, acceleration_scaling, cartesian)
        )
        if not result:
            code = getattr(getattr(result, "error_code", None), "val", "?")
            return MotionPlan(
                False, self.name, target, cartesian=cartesian, error=f"planning failed ({code})"
            )
        traj = result.trajectory
        msg = traj.get_robot_trajectory_msg()
        positions, times = trajectory_arrays(msg.joint_trajectory)
        return MotionPlan(
            True, self.name, target, JOINT_NAMES, positions, times, velocity_scaling,
            acceleration_scaling, cartesian, native=traj,
        )  # fmt: skip

    def plan_to_pose(
        self,
        T_base_tool0: RigidTransform,
        velocity_scaling: float,
        acceleration_scaling: float,
        *,
        cartesian: bool = False,
        q_hint: Mat | None = None,
    ) -> MotionPlan:
        """set_start_state_to_current_state, set_goal_state(pose_stamped_msg, pose_link), plan."""
        from geometry_msgs.msg import PoseStamped

        goal = PoseStamped()
        goal.header.frame_id = T_base_tool0.parent_frame
        fill_pose(goal.pose, T_base_tool0)
        try:
            self.arm.set_start_state_to_current_state()
            self.arm.set_goal_state(pose_stamped_msg=goal, pose_link=self.config.tool_link)
            return self._plan("pose", velocity_scaling, acceleration_scaling, cartesian)
        except (RuntimeError, ValueError, MotionBackendError) as exc:
            return MotionPlan(False, self.name, "pose", cartesian=cartesian, error=str(exc))

    def plan_to_joints(
        self, q_goal: Mat, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        """Goal from a RobotState with the group's joints set."""
        from moveit.core.robot_state import RobotState

        try:
            state = RobotState(self.robot.get_robot_model())
            state.set_joint_group_positions(self.config.group, np.asarray(q_goal, dtype=float))
            state.update()
            self.arm.set_start_state_to_current_state()
            self.arm.set_goal_state(robot_state=state)
            return self._plan("joints", velocity_scaling, acceleration_scaling, False)
        except (RuntimeError, ValueError, MotionBackendError) as exc:
            return MotionPlan(False, self.name, "joints", error=str(exc))

    def _run_execute(self, trajectory: Any) -> Any:
        try:
            return self.robot.execute(trajectory, controllers=[])
        except TypeError:  # Iron: execute(group_name, robot_trajectory, blocking=True)
            return self.robot.execute(self.config.group, trajectory, blocking=True)

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        """Blocking execute in a worker thread, stopped through the execution manager on cancel."""
        if not plan.ok or plan.native is None:
            return MotionResult(False, error=plan.error or "no trajectory to execute")
        outcome: list[Any] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                outcome.append(self._run_execute(plan.native))
            except Exception as exc:  # a binding error must reach the caller, not kill a thread
                errors.append(exc)

        worker = threading.Thread(target=work, name="moveit_py-execute", daemon=True)
        self._running.set()
        worker.start()
        limit = plan.duration_s + self.config.execute_timeout_s
        waited = 0.0
        try:
            while worker.is_alive():
                worker.join(0.02)
                waited += 0.02
                if cancel is not None and cancel.is_set():
                    self.cancel()
                    worker.join(5.0)
                    return MotionResult(False, cancelled=True)
                if waited > limit:
                    self.cancel()
                    return MotionResult(False, error=f"execution exceeded {limit:.1f} s")
        finally:
            self._running.clear()
        if errors:
            return MotionResult(False, error=f"execute raised {errors[0]!r}")
        if not outcome or not _execution_ok(outcome[0]):
            return MotionResult(False, error=f"execution status {outcome[0] if outcome else None}")
        return MotionResult(True, final_q=self.current_joint_state())

    def cancel(self) -> None:
        """Stop the trajectory execution manager (the binding spells it 'trajactory' on Iron)."""
        getter = getattr(self.robot, "get_trajectory_execution_manager", None) or getattr(
            self.robot, "get_trajactory_execution_manager", None
        )
        if getter is not None:
            getter().stop_execution()


def make_backend(config: Mapping[str, Any]) -> MoveItPyMotionBackend:
    """Registry factory: MoveItPyConfig keys, plus `config_dict` with MoveIt's parameters."""
    try:
        import rclpy  # noqa: F401
        from moveit.planning import MoveItPy  # noqa: F401
    except ImportError as exc:
        raise MotionBackendError(
            f"the moveit_py backend needs rclpy and moveit_py (ROS 2 Iron or later): {exc}"
        ) from exc
    return MoveItPyMotionBackend(MoveItPyConfig.from_mapping(config), config.get("config_dict"))
