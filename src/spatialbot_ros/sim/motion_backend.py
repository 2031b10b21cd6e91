"""The "sim" motion and gripper backends: pipeline.motion's port, driving a MuJoCo SimWorld."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.kinematics import JOINT_NAMES, GripperGeometry, URKinematics
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.motion import (
    GripperBackend,
    GripperResult,
    MotionBackend,
    MotionPlan,
    MotionResult,
    register_gripper_backend,
    register_motion_backend,
)
from spatialbot_ros.sim.executor import GraspExecutor
from spatialbot_ros.sim.world import GRIPPER_CLOSED_POS, SimWorld

__all__ = ["SimGripper", "SimMotionBackend", "SimSession", "make_backend", "make_gripper"]

Mat = npt.NDArray[np.float64]


class SimSession:
    """One simulated world shared by the arm and gripper backends (as one robot is)."""

    def __init__(self, world: SimWorld, max_velocity_rad_s: float = 1.5) -> None:
        """Wrap `world`; motions run at most at `max_velocity_rad_s` (scaled per plan)."""
        self.world = world
        self.kinematics = URKinematics("ur5")
        self.executor = GraspExecutor(world, self.kinematics)
        self.max_velocity_rad_s = max_velocity_rad_s
        self.lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SimSession:
        """From {"session": SimSession} or {"world": SimWorld} or {"seed": int}."""
        if isinstance(config.get("session"), SimSession):
            return config["session"]  # type: ignore[no-any-return]
        if config.get("world") is not None:
            return cls(config["world"])
        from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
        from spatialbot_ros.sim.scene import generate_scene
        from spatialbot_ros.sim.world import build_world

        world = build_world(generate_scene(int(config.get("seed", 0))))
        world.set_arm_q(config.get("q_start", HIDDEN_ARM_Q))
        return cls(world)


class SimMotionBackend:
    """Plans with the analytic IK (straight tool lines when cartesian) and executes in physics."""

    name = "sim"

    def __init__(self, session: SimSession) -> None:
        """Drive the arm of `session`."""
        self.session = session
        self._cancel = threading.Event()

    def current_joint_state(self) -> Mat:
        """Measured joint positions (6,), rad."""
        return self.session.world.arm_q()

    def _timed(self, positions: Mat, velocity_scaling: float) -> Mat:
        span = float(np.max(np.abs(positions[-1] - positions[0]))) if len(positions) > 1 else 0.0
        speed = self.session.max_velocity_rad_s * max(min(velocity_scaling, 1.0), 1e-3)
        duration = max(span / speed * 1.9, 0.3)  # min-jerk peaks at 1.875x the mean speed
        return np.linspace(0.0, duration, len(positions))

    def plan_to_pose(
        self,
        T_base_tool0: RigidTransform,
        velocity_scaling: float,
        acceleration_scaling: float,
        *,
        cartesian: bool = False,
        q_hint: Mat | None = None,
    ) -> MotionPlan:
        """IK to the pose, then a joint path (tool0 on a straight line when `cartesian`)."""
        q0 = self.current_joint_state()
        seed = q0 if q_hint is None else np.asarray(q_hint, dtype=np.float64)
        sol = self.session.kinematics.ik(T_base_tool0, seed)
        if sol.q is None:
            return MotionPlan(
                False, self.name, "pose", cartesian=cartesian, error=f"IK {sol.status}"
            )
        q1 = np.asarray(sol.q, dtype=np.float64)
        path = self.session.executor.cartesian_path(q0, q1) if cartesian else np.stack([q0, q1])
        return MotionPlan(
            True,
            self.name,
            "pose",
            JOINT_NAMES,
            path,
            self._timed(path, velocity_scaling),
            velocity_scaling,
            acceleration_scaling,
            cartesian,
        )

    def plan_to_joints(
        self, q_goal: Mat, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        """A joint-space move to `q_goal`."""
        q = np.asarray(q_goal, dtype=np.float64)
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            return MotionPlan(False, self.name, "joints", error=f"bad joint goal {q.tolist()}")
        path = np.stack([self.current_joint_state(), q])
        return MotionPlan(
            True,
            self.name,
            "joints",
            JOINT_NAMES,
            path,
            self._timed(path, velocity_scaling),
            velocity_scaling,
            acceleration_scaling,
        )

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        """Track the plan in simulation, checking for cancel every 10 ms of sim time."""
        if not plan.ok or plan.positions is None:
            return MotionResult(False, error=plan.error or "plan failed")
        positions = np.asarray(plan.positions, dtype=np.float64)
        if not np.all(np.isfinite(positions)):
            return MotionResult(False, error="plan has non-finite joint positions")
        self._cancel.clear()
        ex = self.session.executor
        dt = float(self.session.world.model.opt.timestep)
        cancelled = False

        def stop() -> bool:
            return self._cancel.is_set() or (cancel is not None and cancel.is_set())

        with self.session.lock:
            duration = plan.duration_s or 0.5
            steps = max(2, round(duration / dt))
            k = len(positions) - 1
            from spatialbot_ros.sim.executor import min_jerk

            for i in range(1, steps + 1):
                if i % 5 == 0 and stop():
                    cancelled = True
                    # hold where the arm is now
                    ex.world.data.ctrl[ex.world.arm_actuators] = ex.world.arm_q()
                    break
                s = float(min_jerk(np.array([i / steps]))[0]) * max(k, 1)
                j = min(int(s), max(k - 1, 0))
                q = positions[j] + (s - j) * (positions[min(j + 1, k)] - positions[j])
                ex.world.data.ctrl[ex.world.arm_actuators] = q
                ex.step()
            if not cancelled:
                ex.step(round(0.15 / dt))
        final = self.current_joint_state()
        if cancelled:
            return MotionResult(False, cancelled=True, final_q=final)
        err = float(np.max(np.abs(final - positions[-1])))
        if err > 0.02:
            return MotionResult(
                False, error=f"tracking error {err:.3f} rad at the goal (blocked?)", final_q=final
            )
        return MotionResult(True, final_q=final)

    def cancel(self) -> None:
        """Stop the motion at the next control step."""
        self._cancel.set()


class SimGripper:
    """GripperCommand semantics (0 open ... 0.7929 closed) on the simulated parallel gripper."""

    name = "sim"

    def __init__(self, session: SimSession, geometry: GripperGeometry | None = None) -> None:
        """Drive the fingers of `session`."""
        self.session = session
        self.geometry = geometry or GripperGeometry()
        self._cancel = threading.Event()

    def command(
        self, position: float, max_effort: float, cancel: threading.Event | None = None
    ) -> GripperResult:
        """Move the fingers; stalled when they stop short of the goal (holding something)."""
        if not np.isfinite(position):
            return GripperResult(float("nan"), False, False, error="non-finite position")
        self._cancel.clear()
        opening = self.geometry.position_to_opening(float(position))
        travel = float(
            np.clip((self.geometry.max_opening_m - opening) / 2.0, 0.0, GRIPPER_CLOSED_POS)
        )
        ex = self.session.executor
        world = self.session.world
        dt = float(world.model.opt.timestep)
        with self.session.lock:
            ex.set_gripper(travel)
            for i in range(round(0.8 / dt)):
                if i % 5 == 0 and (
                    self._cancel.is_set() or (cancel is not None and cancel.is_set())
                ):
                    return GripperResult(self._position(), False, False, cancelled=True)
                ex.step()
        actual = float(world.data.qpos[world.finger_qpos])
        reached = abs(actual - travel) < 1e-3
        effort = abs(float(world.data.actuator_force[world.gripper_actuator]))
        return GripperResult(self._position(), reached, not reached, effort)

    def _position(self) -> float:
        world = self.session.world
        travel = float(world.data.qpos[world.finger_qpos])
        return self.geometry.opening_to_position(self.geometry.max_opening_m - 2.0 * travel)

    def cancel(self) -> None:
        """Stop closing."""
        self._cancel.set()


@register_motion_backend("sim")
def make_backend(config: Mapping[str, Any]) -> MotionBackend:
    """Factory for make_motion_backend("sim", {"session"|"world"|"seed": ...})."""
    return SimMotionBackend(SimSession.from_config(config))


@register_gripper_backend("sim")
def make_gripper(config: Mapping[str, Any]) -> GripperBackend:
    """Factory for make_gripper_backend("sim", {"session"|"world"|"seed": ...})."""
    return SimGripper(SimSession.from_config(config))
