"""The grasp node without rclpy: targets in, grasp plans and executed grasps out, with status.

Targets arrive as a SpatialBot result (JSON: pixel box + base-frame position, planned on the
grasp node's own latest depth frame) or as a bare base-frame position (planned on a nominal
cup-sized cylinder there). Plans come from core.grasp with the arm's live joint state; the
motion and gripper backends come from pipeline.motion by name (dry_run, move_group, moveit_py,
sim). Execution: open -> pre-grasp -> guarded approach (stops on depth contact) -> close ->
lift -> verify, reporting each step; cancel() stops motion at any step.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.contact import ContactMonitor, ContactThresholds, check_contact
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import (
    GraspConfig,
    GraspPlan,
    GraspRefusal,
    object_points_base,
    plan_grasp,
)
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.core.safety import SafetyLimits
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.motion import GripperBackend, MotionBackend, MotionResult

__all__ = [
    "GraspNodeConfig",
    "GraspNodeLogic",
    "GraspOutcome",
    "GraspStatus",
    "cylinder_points",
]

Level = Literal["info", "warn", "error"]
Mat = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GraspNodeConfig:
    """Parameters of the grasp node (config/grasp_node.yaml documents each)."""

    motion_backend: str = "dry_run"
    gripper_backend: str = "dry_run"
    ur_type: str = "ur5"
    base_frame: str = "base_link"
    velocity_scaling: float = 0.1
    acceleration_scaling: float = 0.1
    approach_velocity_scaling: float = 0.05
    max_effort: float = 40.0
    auto_execute: bool = False
    watch_contact: bool = True
    verify_lift: bool = True
    max_target_age_s: float = 10.0
    pose_target_radius_m: float = 0.04
    pose_target_height_m: float = 0.10
    grasp: Mapping[str, Any] = field(default_factory=dict)
    safety: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Scalings in (0, 1], positive sizes."""
        for name in ("velocity_scaling", "acceleration_scaling", "approach_velocity_scaling"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if self.pose_target_radius_m <= 0 or self.pose_target_height_m <= 0:
            raise ValueError(
                "pose_target_radius_m and pose_target_height_m must be > 0, got "
                f"{self.pose_target_radius_m} and {self.pose_target_height_m}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GraspNodeConfig:
        """From a parameter mapping; unknown keys raise (they are typos)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown grasp node parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(values))


@dataclass(frozen=True)
class GraspStatus:
    """One status report of the grasp node."""

    level: Level
    step: str  # planned | refused | opening | pre_grasp | approach | contact | closing | ...
    message: str

    def to_json(self) -> str:
        """The status topic's payload."""
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass
class GraspOutcome:
    """What one execution did; `as_dict` is the ~/result payload."""

    success: bool
    cancelled: bool = False
    step: str = ""
    error: str | None = None
    contact: str = "no_data"
    held: bool | None = None
    gripper_position: float | None = None
    durations_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def cylinder_points(
    xyz_base_m: npt.ArrayLike, radius_m: float, height_m: float, table_z_m: float = 0.0
) -> Mat:
    """Surface points (N, 3) of an upright cylinder whose centre is near `xyz_base_m`.

    A bare position (PoseStamped target) carries no shape; the planner gets a nominal object
    standing on the table under it, as tall as `height_m` (or reaching up to the point).
    """
    x, y, z = (float(v) for v in np.asarray(xyz_base_m, dtype=np.float64).reshape(3))
    top = max(z + height_m / 2.0, table_z_m + 0.02)
    bottom = max(table_z_m, top - height_m)
    angles = np.linspace(0.0, 2.0 * math.pi, 24, endpoint=False)
    heights = np.linspace(bottom, top, 8)
    a, h = np.meshgrid(angles, heights)
    return np.column_stack(
        (x + radius_m * np.cos(a).ravel(), y + radius_m * np.sin(a).ravel(), h.ravel())
    )


class GraspCancelledError(SpatialBotRosError):
    """Raised inside the sequence when cancel() was called."""


class GraspNodeLogic:
    """Plans grasps for incoming targets and executes them on the chosen backends."""

    def __init__(
        self,
        config: GraspNodeConfig,
        motion: MotionBackend,
        gripper: GripperBackend,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        on_status: Callable[[GraspStatus], None] | None = None,
        kinematics: URKinematics | None = None,
    ) -> None:
        """Hold the backends; nothing moves until execute()."""
        self.config = config
        self.motion = motion
        self.gripper = gripper
        self.clock_ns = clock_ns
        self.on_status = on_status
        self.kinematics = kinematics or URKinematics(config.ur_type)
        self.grasp_config = GraspConfig.from_mapping(config.grasp)
        self.safety = SafetyLimits.from_mapping(config.safety)
        self.contact = ContactMonitor(contact_mm=ContactThresholds().contact_mm)
        self.history: list[GraspStatus] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()  # the user's cancel: ends the whole sequence
        self._stop = threading.Event()  # stops the current motion (cancel or contact)
        self._contact_stopped = False
        self._frame: RGBDFrame | None = None
        self._T_base_camera: RigidTransform | None = None
        self._phase = "idle"
        self._target_box: tuple[float, float, float, float] | None = None
        self._opening_m = 0.0
        self._busy = False
        self.last_plan: GraspPlan | None = None

    def _emit(self, level: Level, step: str, message: str) -> GraspStatus:
        status = GraspStatus(level, step, message)
        self.history.append(status)
        if self.on_status is not None:
            self.on_status(status)
        return status

    @property
    def busy(self) -> bool:
        """True while a grasp executes."""
        return self._busy

    # -- live frames ------------------------------------------------------------------------

    def on_frame(self, frame: RGBDFrame, T_base_camera: RigidTransform | None) -> str | None:
        """A synchronised frame (and the camera pose); during the approach, a contact check.

        Returns the monitor's state while approaching, else None.
        """
        with self._lock:
            self._frame, self._T_base_camera = frame, T_base_camera
            watching = self._phase == "approach" and self.config.watch_contact
            box, opening = self._target_box, self._opening_m
        if not watching or T_base_camera is None or box is None:
            return None
        try:
            q = self.motion.current_joint_state()
            T_camera_tool0 = T_base_camera.inverse() @ self.kinematics.fk(q)
            reading = check_contact(
                frame.depth_mm,
                frame.intrinsics,
                T_camera_tool0,
                opening,
                box,
                gripper=self.grasp_config.gripper,
            )
        except (SpatialBotRosError, ValueError) as exc:
            self._emit("warn", "contact", f"contact check skipped: {exc}")
            return None
        state = self.contact.update(reading)
        if self.contact.in_contact and not self._contact_stopped:
            self._contact_stopped = True
            self._emit("info", "contact", f"contact on depth ({reading.detail}); stopping approach")
            self._stop.set()  # backends poll it and cancel their goal
            self.motion.cancel()
        return state

    # -- planning ---------------------------------------------------------------------------

    def plan_from_result(self, result: Mapping[str, Any]) -> GraspPlan | GraspRefusal | None:
        """Plan for a SpatialBot result; None (with a status) when it is not a grasp target."""
        if result.get("status") != "ok" or result.get("kind") != "grasp":
            self._emit(
                "info",
                "ignored",
                f"result of {str(result.get('task'))[:80]!r} is not an "
                f"ok grasp (status {result.get('status')}, kind {result.get('kind')})",
            )
            return None
        target = result.get("target") or {}
        xyz_base = target.get("xyz_base_m")
        if xyz_base is None:
            self._emit(
                "error",
                "refused",
                "result has no base-frame target (no TF when it was grounded); cannot plan",
            )
            return None
        stamp_ns = int(result.get("stamp_ns") or 0)
        age_s = (self.clock_ns() - stamp_ns) * 1e-9
        if stamp_ns and age_s > self.config.max_target_age_s:
            self._emit(
                "error",
                "refused",
                f"target is {age_s:.1f} s old; expected at most "
                f"{self.config.max_target_age_s:.1f} s (parameter max_target_age_s)",
            )
            return None
        with self._lock:
            frame, T_base_camera = self._frame, self._T_base_camera
        raw_box = [float(v) for v in target.get("bbox_px") or ()]
        box = (raw_box[0], raw_box[1], raw_box[2], raw_box[3]) if len(raw_box) == 4 else None
        points: Mat | None = None
        source = ""
        if frame is not None and T_base_camera is not None and box is not None:
            try:
                points = object_points_base(
                    frame.depth_mm,
                    frame.intrinsics,
                    box,
                    T_base_camera,
                    table_height_m=self.safety.table_height_m,
                )
                source = f"{len(points)} depth points in the target box"
            except SpatialBotRosError as exc:
                self._emit("warn", "planning", f"no object points from depth: {exc}")
        if points is None or len(points) < self.grasp_config.min_points:
            plan = result.get("grasp")
            if isinstance(plan, dict) and not plan.get("refused", True):
                self._emit(
                    "warn",
                    "planning",
                    "no live depth for the target: using the plan in "
                    "the result (seeded from a nominal pose, not the live joint state)",
                )
            points = cylinder_points(
                xyz_base,
                self.config.pose_target_radius_m,
                self.config.pose_target_height_m,
                self.safety.table_height_m,
            )
            source = "a nominal cylinder at the target position (no live depth)"
        self._target_box = box
        return self._plan(points, source)

    def plan_from_position(self, xyz_base_m: npt.ArrayLike) -> GraspPlan | GraspRefusal:
        """Plan for a bare base-frame position (a nominal cylinder stands there)."""
        xyz = np.asarray(xyz_base_m, dtype=np.float64).reshape(-1)
        if xyz.shape != (3,) or not np.all(np.isfinite(xyz)):
            refusal = GraspRefusal(f"expected a finite x, y, z target, got {xyz.tolist()}")
            self._emit("error", "refused", refusal.reason)
            return refusal
        self._target_box = None
        points = cylinder_points(
            xyz,
            self.config.pose_target_radius_m,
            self.config.pose_target_height_m,
            self.safety.table_height_m,
        )
        return self._plan(points, "a nominal cylinder at the target pose")

    def _plan(self, points: Mat, source: str) -> GraspPlan | GraspRefusal:
        try:
            q_now = self.motion.current_joint_state()
        except Exception as exc:  # a backend without a joint state cannot plan safely
            refusal = GraspRefusal(f"no current joint state from {self.motion.name}: {exc}")
            self._emit("error", "refused", refusal.reason)
            return refusal
        outcome = plan_grasp(points, self.grasp_config, self.kinematics, self.safety, q_now)
        if isinstance(outcome, GraspRefusal):
            self._emit("error", "refused", f"no grasp: {outcome.reason}")
            return outcome
        self.last_plan = outcome
        xyz = ", ".join(f"{v:.3f}" for v in outcome.grasp_point_m)
        self._emit(
            "info",
            "planned",
            f"{outcome.grasp_type} grasp at ({xyz}) m, opening "
            f"{outcome.opening_m * 1000:.0f} mm, from {source}",
        )
        return outcome

    # -- execution --------------------------------------------------------------------------

    def cancel(self) -> GraspStatus:
        """Stop any motion now; the running execute() returns cancelled."""
        self._cancel.set()
        self._stop.set()
        self.motion.cancel()
        self.gripper.cancel()
        return self._emit(
            "warn",
            "cancel",
            "cancel requested" if self._busy else "cancel requested while idle (nothing to stop)",
        )

    def execute(self, plan: GraspPlan | None = None) -> GraspOutcome:
        """Run open -> pre-grasp -> approach -> close -> lift -> verify for `plan` (or the last)."""
        plan = plan or self.last_plan
        if plan is None:
            self._emit("error", "execute", "no grasp planned yet")
            return GraspOutcome(False, step="execute", error="no grasp planned yet")
        with self._lock:
            if self._busy:
                self._emit("error", "execute", "a grasp is already executing")
                return GraspOutcome(False, step="execute", error="a grasp is already executing")
            self._busy = True
        self._cancel.clear()
        self._contact_stopped = False
        self.contact.reset()
        outcome = GraspOutcome(False)
        try:
            self._sequence(plan, outcome)
            outcome.success = outcome.error is None and outcome.held is not False
        except GraspCancelledError:
            outcome.cancelled = True
            outcome.error = f"cancelled during {outcome.step}"
            self._emit("warn", outcome.step, outcome.error)
        except Exception as exc:  # a backend failing mid-sequence must become a status
            outcome.error = f"{outcome.step} failed: {exc}"
            self._emit("error", outcome.step, outcome.error)
        finally:
            with self._lock:
                self._phase = "idle"
                self._busy = False
        if outcome.success:
            self._emit(
                "info",
                "done",
                "grasp finished" + ("" if outcome.held is None else " and the object is held"),
            )
        elif not outcome.cancelled:
            self._emit("error", "failed", outcome.error or "object not held")
        return outcome

    def _step(self, outcome: GraspOutcome, name: str, message: str) -> float:
        if self._cancel.is_set():
            raise GraspCancelledError(name)
        outcome.step = name
        with self._lock:
            self._phase = name
        self._emit("info", name, message)
        return time.perf_counter()

    def _move(
        self, outcome: GraspOutcome, plan_fn: Callable[[], Any], what: str, *, guarded: bool = False
    ) -> MotionResult:
        motion_plan = plan_fn()
        if not motion_plan.ok:
            raise SpatialBotRosError(f"planning {what} failed: {motion_plan.error}")
        if self._cancel.is_set():
            raise GraspCancelledError(what)
        self._stop.clear()
        result = self.motion.execute(motion_plan, self._stop)
        if self._cancel.is_set():
            raise GraspCancelledError(what)
        if not result.ok and not (guarded and self._contact_stopped):
            raise SpatialBotRosError(f"{what} did not finish: {result.error or 'stopped'}")
        return result

    def _sequence(self, plan: GraspPlan, outcome: GraspOutcome) -> None:
        c, g = self.config, self.grasp_config.gripper
        t = self._step(outcome, "opening", f"opening to {plan.opening_m * 1000:.0f} mm")
        opened = self.gripper.command(plan.gripper_position, c.max_effort, self._cancel)
        if opened.cancelled:
            raise GraspCancelledError("opening")
        outcome.durations_s["opening"] = time.perf_counter() - t
        with self._lock:
            self._opening_m = plan.opening_m

        t = self._step(outcome, "pre_grasp", "moving to the pre-grasp pose")
        self._move(
            outcome,
            lambda: self.motion.plan_to_joints(
                plan.q_pre, c.velocity_scaling, c.acceleration_scaling
            ),
            "pre_grasp",
        )
        outcome.durations_s["pre_grasp"] = time.perf_counter() - t

        t = self._step(outcome, "approach", "approaching in a straight line, watching contact")
        approach = self._move(
            outcome,
            lambda: self.motion.plan_to_pose(
                plan.grasp,
                c.approach_velocity_scaling,
                c.acceleration_scaling,
                cartesian=True,
                q_hint=plan.q_grasp,
            ),
            "approach",
            guarded=True,
        )
        outcome.contact = self.contact.state
        if self._contact_stopped and not approach.ok:  # a guarded move stopped by contact
            self._emit("info", "approach", "approach stopped at contact; closing here")
        outcome.durations_s["approach"] = time.perf_counter() - t

        t = self._step(outcome, "closing", "closing the gripper")
        with self._lock:
            self._phase = "closing"
        closed = self.gripper.command(g.closed_position, c.max_effort, self._cancel)
        if closed.cancelled:
            raise GraspCancelledError("closing")
        if closed.stalled and self.contact.last is not None:
            self.contact.update(self.contact.last, stalled=True)  # the second contact signal
        outcome.gripper_position = float(closed.position)
        outcome.durations_s["closing"] = time.perf_counter() - t

        t = self._step(outcome, "lift", "lifting")
        self._move(
            outcome,
            lambda: self.motion.plan_to_pose(
                plan.lift,
                c.velocity_scaling,
                c.acceleration_scaling,
                cartesian=True,
                q_hint=plan.q_lift,
            ),
            "lift",
        )
        outcome.durations_s["lift"] = time.perf_counter() - t

        self._step(outcome, "verify", "checking that the object rose with the gripper")
        outcome.held = self._verify(closed.stalled, float(closed.position))

    def _verify(self, stalled: bool, position: float) -> bool | None:
        """Held when the fingers stopped short of closed (stalled on the object); None: unknown."""
        if not self.config.verify_lift:
            return None
        if self.gripper.name == "dry_run" and self.motion.name == "dry_run":
            self._emit("info", "verify", "dry run: nothing was lifted, verification skipped")
            return None
        closed = self.grasp_config.gripper.closed_position
        held = stalled or position < closed - 0.05
        self._emit(
            "info" if held else "error",
            "verify",
            f"gripper at {position:.3f} of {closed:.3f} (stalled={stalled}): "
            + ("object held" if held else "fingers closed on nothing"),
        )
        return held
