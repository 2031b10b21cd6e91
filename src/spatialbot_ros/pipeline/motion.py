"""Motion and gripper backends behind one interface, chosen by name; the dry run lives here.

Backends: "dry_run" (this module), "moveit_py" and "move_group" (spatialbot_ros.ros, imported
only when made), and whatever other packages register ("sim" is registered by
spatialbot_ros.sim).  Register a factory `f(config: Mapping) -> backend` with
`@register_motion_backend("name")` / `@register_gripper_backend("name")`, or lazily by
"module:attribute" with `register_lazy_motion_backend`.

Every pose a backend receives has already passed core.safety, and every trajectory it plans is
checked (swept joint path, end at the pose asked for) before `execute` is called: the grasp
executor guarantees both, since a backend may re-solve IK onto another branch.  Backends still
refuse non-finite input rather than move.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.kinematics import JOINT_NAMES, URKinematics
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "DryRunBackend",
    "DryRunGripper",
    "GripperBackend",
    "GripperResult",
    "MotionBackend",
    "MotionBackendError",
    "MotionPlan",
    "MotionResult",
    "available_gripper_backends",
    "available_motion_backends",
    "make_gripper_backend",
    "make_motion_backend",
    "register_gripper_backend",
    "register_lazy_gripper_backend",
    "register_lazy_motion_backend",
    "register_motion_backend",
]

Mat = npt.NDArray[np.float64]


class MotionBackendError(SpatialBotRosError):
    """A backend that cannot be made (unknown name, missing ROS install, bad config)."""


@dataclass(frozen=True)
class MotionPlan:
    """A planned motion: a joint trajectory (N, 6) with times, or why planning failed."""

    ok: bool
    backend: str
    target: str  # "pose" or "joints"
    joint_names: tuple[str, ...] = JOINT_NAMES
    positions: Mat | None = None  # (N, 6) rad
    times_s: Mat | None = None  # (N,) from the start
    velocity_scaling: float = 0.1
    acceleration_scaling: float = 0.1
    cartesian: bool = False
    error: str | None = None
    native: Any = field(default=None, repr=False, compare=False)  # the backend's own trajectory

    @property
    def duration_s(self) -> float:
        """Planned duration (0 when unknown)."""
        return float(self.times_s[-1]) if self.times_s is not None and len(self.times_s) else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no native object)."""
        return {
            "ok": self.ok,
            "backend": self.backend,
            "target": self.target,
            "joint_names": list(self.joint_names),
            "positions": None if self.positions is None else self.positions.tolist(),
            "times_s": None if self.times_s is None else self.times_s.tolist(),
            "velocity_scaling": self.velocity_scaling,
            "acceleration_scaling": self.acceleration_scaling,
            "cartesian": self.cartesian,
            "error": self.error,
        }


@dataclass(frozen=True)
class MotionResult:
    """Outcome of executing a plan."""

    ok: bool
    cancelled: bool = False
    error: str | None = None
    final_q: Mat | None = None


@dataclass(frozen=True)
class GripperResult:
    """Outcome of a gripper command (control_msgs/GripperCommand result fields)."""

    position: float
    reached_goal: bool
    stalled: bool
    effort: float = math.nan
    error: str | None = None
    cancelled: bool = False


@runtime_checkable
class MotionBackend(Protocol):
    """Plans and executes arm motions; poses are base_link <- tool0."""

    name: str

    def current_joint_state(self) -> Mat:
        """Current joint positions (6,), rad, in JOINT_NAMES order."""
        ...

    def plan_to_pose(
        self,
        T_base_tool0: RigidTransform,
        velocity_scaling: float,
        acceleration_scaling: float,
        *,
        cartesian: bool = False,
        q_hint: Mat | None = None,
    ) -> MotionPlan:
        """Plan from the current state to a tool0 pose (straight line when `cartesian`)."""
        ...

    def plan_to_joints(
        self, q_goal: Mat, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        """Plan from the current state to a joint goal (6,)."""
        ...

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        """Run a plan; returns early with cancelled=True once `cancel` is set."""
        ...

    def cancel(self) -> None:
        """Stop any motion in progress as soon as possible."""
        ...


@runtime_checkable
class GripperBackend(Protocol):
    """Commands the gripper like control_msgs/action/GripperCommand (0 open … closed)."""

    name: str

    def command(
        self, position: float, max_effort: float, cancel: threading.Event | None = None
    ) -> GripperResult:
        """Move the fingers to `position`; stalled=True when they stop on an object."""
        ...

    def cancel(self) -> None:
        """Stop the fingers."""
        ...


MotionFactory = Callable[[Mapping[str, Any]], MotionBackend]
GripperFactory = Callable[[Mapping[str, Any]], GripperBackend]

_MOTION: dict[str, MotionFactory] = {}
_GRIPPER: dict[str, GripperFactory] = {}
# name -> "module:attribute"; imported on first use so rclpy/moveit stay out of plain imports
_LAZY_MOTION: dict[str, str] = {
    "moveit_py": "spatialbot_ros.ros.motion_moveit_py:make_backend",
    "move_group": "spatialbot_ros.ros.motion_move_group:make_backend",
    "sim": "spatialbot_ros.sim.motion_backend:make_backend",  # MuJoCo, imported on demand
}
_LAZY_GRIPPER: dict[str, str] = {
    "gripper_action": "spatialbot_ros.ros.gripper_action:make_backend",
    "sim": "spatialbot_ros.sim.motion_backend:make_gripper",
}


def register_motion_backend(name: str) -> Callable[[MotionFactory], MotionFactory]:
    """Decorator: register a motion backend factory under `name` (replaces a lazy entry)."""

    def deco(factory: MotionFactory) -> MotionFactory:
        _MOTION[name] = factory
        _LAZY_MOTION.pop(name, None)
        return factory

    return deco


def register_gripper_backend(name: str) -> Callable[[GripperFactory], GripperFactory]:
    """Decorator: register a gripper backend factory under `name`."""

    def deco(factory: GripperFactory) -> GripperFactory:
        _GRIPPER[name] = factory
        _LAZY_GRIPPER.pop(name, None)
        return factory

    return deco


def register_lazy_motion_backend(name: str, target: str) -> None:
    """Register "module:attribute" as the factory for `name`, imported on first make."""
    _LAZY_MOTION[name] = target


def register_lazy_gripper_backend(name: str, target: str) -> None:
    """Register "module:attribute" as the gripper factory for `name`."""
    _LAZY_GRIPPER[name] = target


def available_motion_backends() -> list[str]:
    """Names that make_motion_backend accepts."""
    return sorted(set(_MOTION) | set(_LAZY_MOTION))


def available_gripper_backends() -> list[str]:
    """Names that make_gripper_backend accepts."""
    return sorted(set(_GRIPPER) | set(_LAZY_GRIPPER))


def _resolve(name: str, eager: dict[str, Any], lazy: dict[str, str], kind: str) -> Any:
    if name in eager:
        return eager[name]
    if name not in lazy:
        raise MotionBackendError(
            f"expected a {kind} backend in {sorted(set(eager) | set(lazy))}, got {name!r}"
        )
    module_name, _, attr = lazy[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MotionBackendError(
            f"{kind} backend {name!r} needs {module_name}, which failed to import: {exc}"
        ) from exc
    return eager.get(name) or getattr(module, attr)


def make_motion_backend(name: str, config: Mapping[str, Any] | None = None) -> MotionBackend:
    """Build the motion backend registered as `name`."""
    factory = _resolve(name, _MOTION, _LAZY_MOTION, "motion")
    backend: MotionBackend = factory(dict(config or {}))
    return backend


def make_gripper_backend(name: str, config: Mapping[str, Any] | None = None) -> GripperBackend:
    """Build the gripper backend registered as `name`."""
    factory = _resolve(name, _GRIPPER, _LAZY_GRIPPER, "gripper")
    backend: GripperBackend = factory(dict(config or {}))
    return backend


def _joint_trajectory(
    q_from: Mat, q_to: Mat, velocity_scaling: float, max_velocity_rad_s: float, n: int = 20
) -> tuple[Mat, Mat]:
    """Straight joint-space interpolation timed by the slowest joint at the scaled speed."""
    span = float(np.max(np.abs(q_to - q_from)))
    duration = max(span / (max_velocity_rad_s * max(velocity_scaling, 1e-3)), 0.1)
    s = np.linspace(0.0, 1.0, n)
    blend = 10 * s**3 - 15 * s**4 + 6 * s**5  # minimum jerk: smooth start and stop
    positions = q_from[None, :] + blend[:, None] * (q_to - q_from)[None, :]
    return positions, s * duration


class DryRunBackend:
    """Plans with the analytic IK and straight joint interpolation; executing only records.

    `calls` lists every method call (name, arguments) so tests and the dry-run report can show
    exactly what a real backend would have been asked to do.
    """

    name = "dry_run"

    def __init__(
        self,
        q_start: Mat | None = None,
        ur_type: str = "ur5",
        max_velocity_rad_s: float = math.pi,
    ) -> None:
        """Start at `q_start` (default: a pose looking down at the table)."""
        self._q: Mat = np.asarray(
            q_start if q_start is not None else (0.0, -1.75, 1.75, -1.57, -1.57, 0.0),
            dtype=np.float64,
        )
        self.kinematics = URKinematics(ur_type)
        self.max_velocity_rad_s = max_velocity_rad_s
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.executed: list[MotionPlan] = []

    def current_joint_state(self) -> Mat:
        """The recorded joint state (moves only when a plan is executed)."""
        self.calls.append(("current_joint_state", {}))
        return np.array(self._q, dtype=np.float64)

    def plan_to_pose(
        self,
        T_base_tool0: RigidTransform,
        velocity_scaling: float,
        acceleration_scaling: float,
        *,
        cartesian: bool = False,
        q_hint: Mat | None = None,
    ) -> MotionPlan:
        """IK (seeded by `q_hint` or the current state), then a joint-space trajectory."""
        self.calls.append(
            (
                "plan_to_pose",
                {
                    "pose": T_base_tool0,
                    "velocity_scaling": velocity_scaling,
                    "acceleration_scaling": acceleration_scaling,
                    "cartesian": cartesian,
                },
            )
        )
        seed = self._q if q_hint is None else np.asarray(q_hint, dtype=np.float64)
        sol = self.kinematics.ik(T_base_tool0, seed)
        if sol.q is None:
            return MotionPlan(
                False, self.name, "pose", cartesian=cartesian, error=f"IK {sol.status}"
            )
        positions, times = _joint_trajectory(
            self._q, sol.q, velocity_scaling, self.max_velocity_rad_s
        )
        return MotionPlan(
            True,
            self.name,
            "pose",
            JOINT_NAMES,
            positions,
            times,
            velocity_scaling,
            acceleration_scaling,
            cartesian,
        )

    def plan_to_joints(
        self, q_goal: Mat, velocity_scaling: float, acceleration_scaling: float
    ) -> MotionPlan:
        """Joint-space trajectory to `q_goal`."""
        q = np.asarray(q_goal, dtype=np.float64)
        self.calls.append(
            (
                "plan_to_joints",
                {
                    "q_goal": q.copy(),
                    "velocity_scaling": velocity_scaling,
                    "acceleration_scaling": acceleration_scaling,
                },
            )
        )
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            return MotionPlan(False, self.name, "joints", error=f"bad joint goal {q.tolist()}")
        positions, times = _joint_trajectory(self._q, q, velocity_scaling, self.max_velocity_rad_s)
        return MotionPlan(
            True,
            self.name,
            "joints",
            JOINT_NAMES,
            positions,
            times,
            velocity_scaling,
            acceleration_scaling,
        )

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        """Record the plan and jump to its end (nothing moves)."""
        self.calls.append(("execute", {"plan": plan}))
        if cancel is not None and cancel.is_set():
            return MotionResult(False, cancelled=True, final_q=np.array(self._q, dtype=np.float64))
        if not plan.ok or plan.positions is None:
            return MotionResult(False, error=plan.error or "plan failed")
        self.executed.append(plan)
        self._q = np.asarray(plan.positions[-1], dtype=np.float64).copy()
        return MotionResult(True, final_q=np.array(self._q, dtype=np.float64))

    def cancel(self) -> None:
        """Record the cancel."""
        self.calls.append(("cancel", {}))


class DryRunGripper:
    """Records gripper commands; reaches every goal unless told where an object stops it."""

    name = "dry_run"

    def __init__(self, stall_at_position: float | None = None) -> None:
        """`stall_at_position`: closing beyond it stalls there (as if holding an object)."""
        self.stall_at_position = stall_at_position
        self.position = 0.0
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def command(
        self, position: float, max_effort: float, cancel: threading.Event | None = None
    ) -> GripperResult:
        """Record the command; stall if an object is in the way."""
        self.calls.append(("command", {"position": position, "max_effort": max_effort}))
        if cancel is not None and cancel.is_set():
            return GripperResult(self.position, False, False, cancelled=True)
        if self.stall_at_position is not None and position > self.stall_at_position:
            self.position = self.stall_at_position
            return GripperResult(self.position, False, True, max_effort)
        self.position = position
        return GripperResult(position, True, False, 0.0)

    def cancel(self) -> None:
        """Record the cancel."""
        self.calls.append(("cancel", {}))


@register_motion_backend("dry_run")
def _make_dry_run(config: Mapping[str, Any]) -> MotionBackend:
    q = config.get("q_start")
    return DryRunBackend(
        None if q is None else np.asarray(q, dtype=np.float64),
        ur_type=str(config.get("ur_type", "ur5")),
    )


@register_gripper_backend("dry_run")
def _make_dry_run_gripper(config: Mapping[str, Any]) -> GripperBackend:
    stall = config.get("stall_at_position")
    return DryRunGripper(None if stall is None else float(stall))
