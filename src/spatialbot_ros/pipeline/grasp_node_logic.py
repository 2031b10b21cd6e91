"""The grasp node without rclpy: targets in, grasp plans and executed grasps out, with status.

Targets arrive as a SpatialBot result (JSON: pixel box + base-frame position, planned on the
grasp node's own latest depth frame) or as a bare base-frame position (planned on a nominal
cup-sized cylinder there). Plans come from core.grasp with the arm's live joint state; the
motion and gripper backends come from pipeline.motion by name (dry_run, move_group, moveit_py,
sim). Execution is pipeline.grasp_executor's: safety checks, then open -> pre-grasp -> approach
stopped by depth contact -> close -> lift -> verify, each step reported; cancel() stops it.
This class adds what the node knows: the latest frame and its TF camera pose, from which the
executor's contact source and lift observer read.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.contact import ContactReading, check_contact
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import (
    GraspConfig,
    GraspPlan,
    GraspRefusal,
    HandEye,
    object_points_base,
    plan_grasp,
)
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.core.safety import SafetyLimits
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.grasp_executor import (
    ContactSource,
    ExecutionStatus,
    ExecutorConfig,
    GraspExecutionResult,
    GraspExecutor,
    depth_object_observer,
)
from spatialbot_ros.pipeline.motion import DryRunGripper, GripperBackend, MotionBackend

__all__ = [
    "GraspNodeConfig",
    "GraspNodeLogic",
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
        return dataclass_from_mapping(cls, values, "grasp node parameter")


@dataclass(frozen=True)
class GraspStatus:
    """One status report of the grasp node."""

    level: Level
    step: str  # planned | refused | opening | pre_grasp | approach | contact | closing | ...
    message: str

    def to_json(self) -> str:
        """The status topic's payload."""
        return json.dumps(asdict(self), separators=(",", ":"))


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
        self.executor = GraspExecutor(
            motion,
            gripper,
            kinematics=self.kinematics,
            safety=self.safety,
            grasp_config=self.grasp_config,
            config=ExecutorConfig(
                velocity_scaling=config.velocity_scaling,
                acceleration_scaling=config.acceleration_scaling,
                approach_velocity_scaling=config.approach_velocity_scaling,
                grasp_effort_n=config.max_effort,
            ),
            on_status=self._on_executor_status,
        )
        self.history: list[GraspStatus] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._frame: RGBDFrame | None = None
        self._T_base_camera: RigidTransform | None = None
        self._target_box: tuple[float, float, float, float] | None = None
        self._last_contact_state: str | None = None
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

    def on_frame(self, frame: RGBDFrame, T_base_camera: RigidTransform | None) -> None:
        """Keep the newest synchronised frame and its camera pose (planning, contact, lift)."""
        with self._lock:
            self._frame, self._T_base_camera = frame, T_base_camera

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
        self.motion.cancel()
        self.gripper.cancel()
        return self._emit(
            "warn",
            "cancel",
            "cancel requested" if self._busy else "cancel requested while idle (nothing to stop)",
        )

    def execute(self, plan: GraspPlan | None = None) -> GraspExecutionResult:
        """Run the plan (or the last one) through the GraspExecutor: safety checks first, then
        open -> pre-grasp -> approach stopped by depth contact -> close -> lift -> verify."""
        plan = plan or self.last_plan
        if plan is None:
            self._emit("error", "execute", "no grasp planned yet")
            return GraspExecutionResult("refused", "no grasp planned yet")
        with self._lock:
            if self._busy:
                self._emit("error", "execute", "a grasp is already executing")
                return GraspExecutionResult("refused", "a grasp is already executing", plan)
            self._busy = True
            box = self._target_box
        self._cancel.clear()
        self._last_contact_state = None
        dry_run = self.motion.name == "dry_run"
        gripper = self.gripper
        simulated_stall = (
            dry_run
            and isinstance(gripper, DryRunGripper)
            and gripper.name == "dry_run"
            and gripper.stall_at_position is None
        )
        if simulated_stall and isinstance(gripper, DryRunGripper):
            # Nothing is there to stop the fingers: let the simulated gripper stall at the
            # object's width, as a real one would, so the dry run reports the whole sequence.
            gripper.stall_at_position = self.grasp_config.gripper.opening_to_position(
                plan.object.width_narrow_m
            )
            self._emit("info", "dry_run", "dry run: the gripper stalls at the object's width")
        contact = self._contact_source(plan, box) if self.config.watch_contact else None
        # A dry run moves nothing, so depth cannot show the object rising: no lift check then.
        observer = self._object_observer(plan) if self.config.verify_lift and not dry_run else None
        try:
            result = self.executor.execute(
                plan, contact=contact, observe_object=observer, cancel=self._cancel
            )
        except Exception as exc:  # a backend failing outside the executor's own handling
            result = GraspExecutionResult("failed", f"{type(exc).__name__}: {exc}", plan)
        finally:
            if simulated_stall and isinstance(gripper, DryRunGripper):
                gripper.stall_at_position = None  # the next object has its own width
            with self._lock:
                self._busy = False
        level: Level = (
            "info" if result.ok else ("warn" if result.outcome == "cancelled" else "error")
        )
        self._emit(level, "result", f"{result.outcome}: {result.reason}")
        return result

    def _on_executor_status(self, status: ExecutionStatus) -> None:
        if status.message == "contact check":
            # Polled every 20 ms during the approach: report changes of state only.
            if status.contact == self._last_contact_state:
                return
            self._last_contact_state = status.contact
        text = status.message
        if status.contact is not None:
            gap = "" if status.gap_mm is None else f", gap {status.gap_mm:.0f} mm"
            text += f" (contact {status.contact}{gap})"
        failed = status.step == "done" and not status.message.startswith("grasped")
        self._emit("error" if failed else "info", status.step, text)

    def _latest(self) -> tuple[RGBDFrame | None, RigidTransform | None]:
        with self._lock:
            return self._frame, self._T_base_camera

    def _contact_source(
        self, plan: GraspPlan, box: tuple[float, float, float, float] | None
    ) -> ContactSource | None:
        """Contact from the latest frame, its camera pose (TF) and the arm's FK; needs a box."""
        if box is None:
            return None
        gripper = self.grasp_config.gripper

        def read() -> ContactReading:
            frame, T_base_camera = self._latest()
            if frame is None or T_base_camera is None:
                return ContactReading("no_data", None, detail="no depth frame with a camera pose")
            T_camera_tool0 = T_base_camera.inverse() @ self.kinematics.fk(
                self.motion.current_joint_state()
            )
            return check_contact(
                frame.depth_mm,
                frame.intrinsics,
                T_camera_tool0,
                plan.opening_m,
                box,
                gripper=gripper,
            )

        return read

    def _object_observer(self, plan: GraspPlan) -> Callable[[], Mat | None]:
        """The object's live depth points (robot removed), for the executor's lift check."""
        center_xy = (float(plan.object.center_m[0]), float(plan.object.center_m[1]))

        def observe() -> Mat | None:
            frame, T_base_camera = self._latest()
            if frame is None or T_base_camera is None:
                return None
            # The TF camera pose at the frame's stamp already includes any arm motion, so the
            # frame is observed as from a fixed camera.
            hand_eye = HandEye("eye_to_hand", T_base_camera, None)
            return depth_object_observer(
                lambda: (frame.depth_mm, frame.intrinsics),
                self.motion.current_joint_state,
                self.kinematics,
                hand_eye,
                center_xy,
                gripper=self.grasp_config.gripper,
            )()

        return observe
