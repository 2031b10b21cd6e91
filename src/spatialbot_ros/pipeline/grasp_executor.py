"""The grasp sequence: pre-grasp -> approach watching contact -> close -> lift -> verify.

Runs the same under ROS, replay and simulation: motion and gripper go through the
pipeline.motion backends, contact comes from a callback that reads live depth
(core.contact.check_contact with the current FK), and the lift check from a callback that
returns the object's points in base_link.  Before any backend call every pose is checked by
core.safety (and the plan's joints against its poses, and the swept joint path from the current
state); an unsafe or impossible target is refused without a single motion call.  Every
trajectory a backend plans is checked again (swept path, and that it ends at the pose asked
for) before it is executed, since a backend may pick its own IK branch.  A threading.Event
cancels at any step.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.camera_model import deproject_pixels, project_points
from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.contact import (
    ContactMonitor,
    ContactReading,
    ContactState,
    ContactThresholds,
    check_contact,
)
from spatialbot_ros.core.grasp import GraspConfig, GraspPlan, GraspRefusal, HandEye, plan_grasp
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import BASE_FRAME, TOOL_FRAME, GripperGeometry, URKinematics
from spatialbot_ros.core.robot_body import points_on_robot
from spatialbot_ros.core.safety import (
    SafetyLimits,
    SafetyVerdict,
    check_joint_path,
    check_joint_sweep,
    check_pose,
    check_scaling,
)
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.motion import (
    GripperBackend,
    GripperResult,
    MotionBackend,
    MotionPlan,
    MotionResult,
)

__all__ = [
    "DepthFrameSource",
    "ExecutionStatus",
    "ExecutorConfig",
    "GraspExecutionResult",
    "GraspExecutor",
    "Outcome",
    "Step",
    "depth_contact_source",
    "depth_object_observer",
    "lift_rise_m",
]

Step = Literal["check", "open", "pre_grasp", "approach", "close", "lift", "verify", "done"]
Outcome = Literal["succeeded", "refused", "failed", "cancelled"]
Mat = npt.NDArray[np.float64]
ContactSource = Callable[[], ContactReading]
ObjectObserver = Callable[[], Mat | None]
# the latest aligned depth frame (HxW uint16 mm) and its intrinsics, or None when there is none
DepthFrameSource = Callable[[], tuple[npt.NDArray[np.uint16], CameraIntrinsics] | None]


@dataclass(frozen=True)
class ExecutorConfig:
    """Speeds (scaling factors of the joint limits), gripper effort, checks."""

    velocity_scaling: float = 0.2
    acceleration_scaling: float = 0.2
    approach_velocity_scaling: float = 0.05
    grasp_effort_n: float = 40.0
    open_effort_n: float = 40.0
    contact_poll_s: float = 0.02
    min_rise_fraction: float = 0.5  # object points must rise this share of the lift height
    plan_tolerance_m: float = 1e-4  # plan joints vs plan poses (FK) agreement
    # a backend's trajectory must end this close to the pose asked for (MoveIt's default goal
    # tolerances are far tighter; this catches a plan to somewhere else, not jitter)
    trajectory_goal_tolerance_m: float = 0.005
    # contact before the grasp pose: "close" stops the arm there and grasps (a guarded move),
    # "abort" stops and gives up (the object is not where the plan put it)
    on_approach_contact: Literal["close", "abort"] = "close"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> ExecutorConfig:
        """From YAML; unknown keys are an error."""
        return dataclass_from_mapping(cls, config, "executor")


@dataclass(frozen=True)
class ExecutionStatus:
    """One status update: the step, what happened, and the contact state if watched."""

    step: Step
    message: str
    t_s: float
    contact: ContactState | None = None
    gap_mm: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "step": self.step,
            "message": self.message,
            "t_s": self.t_s,
            "contact": self.contact,
            "gap_mm": self.gap_mm,
        }


@dataclass
class GraspExecutionResult:
    """How the grasp went, with every status it reported."""

    outcome: Outcome
    reason: str
    plan: GraspPlan | None = None
    steps: list[ExecutionStatus] = field(default_factory=list)
    gripper: GripperResult | None = None
    contact: ContactReading | None = None
    rise_m: float | None = None

    @property
    def ok(self) -> bool:
        """True when the object was grasped and lifted."""
        return self.outcome == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "grasp": None if self.plan is None else self.plan.as_dict(),
            "steps": [s.as_dict() for s in self.steps],
            "gripper": None
            if self.gripper is None
            else {
                "position": self.gripper.position,
                "reached_goal": self.gripper.reached_goal,
                "stalled": self.gripper.stalled,
            },
            "contact": None if self.contact is None else self.contact.as_dict(),
            "rise_m": self.rise_m,
        }


def lift_rise_m(
    points_before: Mat | None, points_after: Mat | None, percentile: float = 10.0
) -> float | None:
    """How far the object's points rose: a low height percentile after minus before (m).

    A low percentile, not the median: the fingers and the gripper body hide the top of a held
    object while its lower part stays in view, and robot pixels the observer failed to remove
    lie above the object, so a low percentile errs towards "did not rise", the safe side.
    None without data (fewer than 5 finite points on either side).
    """
    if points_before is None or points_after is None:
        return None
    a = np.asarray(points_before, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(points_after, dtype=np.float64).reshape(-1, 3)
    a = a[np.all(np.isfinite(a), axis=1)]
    b = b[np.all(np.isfinite(b), axis=1)]
    if a.shape[0] < 5 or b.shape[0] < 5:
        return None
    return float(np.percentile(b[:, 2], percentile) - np.percentile(a[:, 2], percentile))


def depth_contact_source(
    get_frame: DepthFrameSource,
    get_joint_state: Callable[[], Mat],
    kinematics: URKinematics,
    hand_eye: HandEye,
    *,
    opening_m: float,
    object_region: tuple[float, float, float, float] | npt.NDArray[np.bool_],
    gripper: GripperGeometry | None = None,
    thresholds: ContactThresholds | None = None,
) -> ContactSource:
    """A ContactSource reading live depth: FK of the current joints, through the hand-eye pose.

    `object_region` is the target's pixel box or mask from grounding; with an eye-in-hand camera
    it goes stale as the camera moves, so pass a region for the current view there.
    """

    def read() -> ContactReading:
        frame = get_frame()
        if frame is None:
            return ContactReading("no_data", None, detail="no depth frame")
        depth_mm, intrinsics = frame
        T_base_tool0 = kinematics.fk(get_joint_state())
        T_camera_tool0 = hand_eye.T_base_camera(T_base_tool0).inverse() @ T_base_tool0
        return check_contact(
            depth_mm,
            intrinsics,
            T_camera_tool0,
            opening_m,
            object_region,
            gripper=gripper,
            thresholds=thresholds,
        )

    return read


def depth_object_observer(
    get_frame: DepthFrameSource,
    get_joint_state: Callable[[], Mat],
    kinematics: URKinematics,
    hand_eye: HandEye,
    center_xy_m: tuple[float, float],
    *,
    radius_m: float = 0.08,
    z_range_m: tuple[float, float] = (0.008, 0.45),
    opening_m: float | None = None,
    gripper: GripperGeometry | None = None,
    robot_margin_m: float = 0.015,
) -> ObjectObserver:
    """An ObjectObserver: the object's live depth points (base_link), the robot's removed.

    Points come from a vertical cylinder (`radius_m`, `z_range_m`) around the object; every
    point the robot explains at its current FK is dropped: the arm's link capsules and the
    gripper's body and finger boxes (core.robot_body), grown by `robot_margin_m`.  Without
    that, the wrist and forearm hanging over the object at the pre-grasp are most of the
    points in the cylinder, and the height estimate follows the arm, not the object.
    `opening_m` is the finger opening when it is known for every call; by default the fingers'
    whole travel is masked, with what they hold, so the lift is judged on the object's part
    below and beside the fingers (the part a held object keeps in view anyway).
    """
    g = gripper or GripperGeometry()
    cx, cy = center_xy_m
    z0, z1 = z_range_m

    def observe() -> Mat | None:
        frame = get_frame()
        if frame is None:
            return None
        depth_mm, intr = frame
        q_now = np.asarray(get_joint_state(), dtype=np.float64)
        T_base_tool0 = kinematics.fk(q_now)
        T_base_cam = hand_eye.T_base_camera(T_base_tool0)
        corners = np.array(
            [[cx + sx * radius_m, cy + sy * radius_m, z] for sx in (-1, 1) for sy in (-1, 1)
             for z in (z0, z1)]
        )  # fmt: skip
        uv = project_points(intr, T_base_cam.inverse().apply(corners))
        if not np.all(np.isfinite(uv)):
            return None
        h, w = depth_mm.shape
        u_lo, v_lo = np.clip(np.floor(uv.min(axis=0)).astype(int), 0, (w, h))
        u_hi, v_hi = np.clip(np.ceil(uv.max(axis=0)).astype(int) + 1, 0, (w, h))
        patch = depth_mm[v_lo:v_hi, u_lo:u_hi]
        v, u = np.nonzero(patch > 0)
        if v.size == 0:
            return None
        cam = deproject_pixels(intr, np.column_stack((u + u_lo, v + v_lo)), patch[v, u] * 1e-3)
        pts = T_base_cam.apply(cam)
        keep = (np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) <= radius_m) & (
            (pts[:, 2] >= z0) & (pts[:, 2] <= z1)
        )
        pts = pts[keep]
        on_robot = points_on_robot(
            pts, kinematics, q_now, gripper=g, opening_m=opening_m, margin_m=robot_margin_m
        )
        return np.asarray(pts[~on_robot], dtype=np.float64)

    return observe


class _CancelledError(Exception):
    pass


class _StepFailedError(Exception):
    pass


class GraspExecutor:
    """Runs grasp plans on a motion and a gripper backend, safety first, cancellable."""

    def __init__(
        self,
        motion: MotionBackend,
        gripper: GripperBackend,
        *,
        kinematics: URKinematics | None = None,
        safety: SafetyLimits | None = None,
        grasp_config: GraspConfig | None = None,
        config: ExecutorConfig | None = None,
        on_status: Callable[[ExecutionStatus], None] | None = None,
    ) -> None:
        """Backends plus the limits every pose is checked against."""
        self.motion = motion
        self.gripper = gripper
        self.kinematics = kinematics or URKinematics()
        self.safety = safety or SafetyLimits()
        self.grasp_config = grasp_config or GraspConfig()
        self.config = config or ExecutorConfig()
        self.on_status = on_status
        self._t0 = 0.0
        self._steps: list[ExecutionStatus] = []

    # -- entry points ------------------------------------------------------------------------
    def grasp_points(
        self,
        points_base_m: npt.ArrayLike,
        *,
        q_current: npt.ArrayLike | None = None,
        contact: ContactSource | None = None,
        observe_object: ObjectObserver | None = None,
        cancel: threading.Event | None = None,
    ) -> GraspExecutionResult:
        """Plan a grasp for target points (N, 3) in base_link and execute it.

        The points are screened (finite, inside the box, above the table, within reach) before
        the backend is even asked for its joint state.
        """
        self._begin()
        pts = np.asarray(points_base_m, dtype=np.float64)
        screen = self._screen_points(pts)
        if screen is not None:
            return self._refuse(screen, None)
        q0 = np.asarray(
            self.motion.current_joint_state() if q_current is None else q_current,
            dtype=np.float64,
        )
        result = plan_grasp(pts, self.grasp_config, self.kinematics, self.safety, q0)
        if isinstance(result, GraspRefusal):
            return self._refuse(result.reason, None)
        return self.execute(
            result, contact=contact, observe_object=observe_object, cancel=cancel, _begun=True
        )

    def execute(
        self,
        plan: GraspPlan | GraspRefusal,
        *,
        contact: ContactSource | None = None,
        observe_object: ObjectObserver | None = None,
        cancel: threading.Event | None = None,
        _begun: bool = False,
    ) -> GraspExecutionResult:
        """Execute a plan: every check passes before the first motion call, or none is made."""
        if not _begun:
            self._begin()
        if isinstance(plan, GraspRefusal):
            return self._refuse(plan.reason, None)
        verdict = self.check_plan(plan)
        if verdict.ok:  # only a plan that is safe on its own is worth a joint state query
            q_now = np.asarray(self.motion.current_joint_state(), dtype=np.float64)
            verdict = self.check_plan(plan, q_current=q_now)
        if not verdict.ok:
            return self._refuse(verdict.message(), plan)
        self._status("check", "plan passed the safety checks")
        stop = cancel or threading.Event()
        cfg = self.config
        monitor = ContactMonitor(contact_mm=5.0)
        result = GraspExecutionResult("failed", "", plan, self._steps)
        try:
            self._step_gripper("open", 0.0, cfg.open_effort_n, stop)
            self._move("pre_grasp", plan.pre_grasp, plan.q_pre, cfg.velocity_scaling, stop)
            before = observe_object() if observe_object is not None else None
            reading, stopped_early = self._approach(plan, stop, contact, monitor)
            result.contact = reading
            grip = self._close(plan, stop, monitor)
            result.gripper = grip
            lift_pose, lift_hint = plan.lift, plan.q_lift
            if stopped_early:  # lift straight up from where the arm stopped
                q_now = np.asarray(self.motion.current_joint_state(), dtype=np.float64)
                up = self.kinematics.fk_matrix(q_now)
                up[2, 3] += self.grasp_config.lift_height_m
                lift_pose, lift_hint = RigidTransform(up, BASE_FRAME, TOOL_FRAME), q_now
            self._move("lift", lift_pose, lift_hint, cfg.velocity_scaling, stop, cartesian=True)
            after = observe_object() if observe_object is not None else None
            rise = lift_rise_m(before, after)
            result.rise_m = rise
            self._verify(plan, grip, rise)
        except _CancelledError as exc:
            self.motion.cancel()
            self.gripper.cancel()
            self._status("done", f"cancelled: {exc}")
            result.outcome, result.reason = "cancelled", str(exc)
            return result
        except _StepFailedError as exc:
            self._status("done", f"failed: {exc}")
            result.outcome, result.reason = "failed", str(exc)
            return result
        self._status("done", "grasped and lifted")
        result.outcome, result.reason = "succeeded", "grasped and lifted"
        return result

    # -- checks ------------------------------------------------------------------------------
    def check_plan(self, plan: GraspPlan, q_current: npt.ArrayLike | None = None) -> SafetyVerdict:
        """Every pose safe, joints finite, in limits, no jump, and consistent with the poses.

        The straight joint moves pre-grasp -> grasp -> lift are swept (core.safety
        check_joint_sweep), from `q_current` (the robot's state) when given.  Makes no backend
        call, so it is what a caller runs before handing a plan to `execute`.
        """
        g = self.grasp_config.gripper
        verdict = check_scaling(
            self.config.velocity_scaling, self.config.acceleration_scaling, self.safety
        ) + check_scaling(
            self.config.approach_velocity_scaling, self.config.acceleration_scaling, self.safety
        )
        for name, T, q in plan.waypoints():
            if (T.parent_frame, T.child_frame) != (BASE_FRAME, TOOL_FRAME):
                return verdict + SafetyVerdict(False, (f"{name}: wrong frames",))
            pose_verdict = check_pose(T, self.safety, g, plan.opening_m)
            verdict += SafetyVerdict(
                pose_verdict.ok, tuple(f"{name}: {r}" for r in pose_verdict.reasons)
            )
            q_arr = np.asarray(q, dtype=np.float64)
            if q_arr.shape != (6,) or not np.all(np.isfinite(q_arr)):
                verdict += SafetyVerdict(False, (f"{name}: joints not 6 finite values",))
                continue
            err = float(np.abs(self.kinematics.fk_matrix(q_arr)[:3, 3] - T.translation_m).max())
            if err > self.config.plan_tolerance_m:
                verdict += SafetyVerdict(
                    False, (f"{name}: joints reach {err * 1000:.1f} mm away from the pose",)
                )
        if verdict.ok:
            qs = np.array([plan.q_pre, plan.q_grasp, plan.q_lift])
            verdict += check_joint_path(qs, self.safety, self.kinematics.limits)
            verdict += check_joint_sweep(
                qs, self.safety, self.kinematics, g, q_start_rad=q_current, opening_m=plan.opening_m
            )
        return verdict

    def _screen_points(self, pts: Mat) -> str | None:
        if pts.ndim != 2 or pts.shape[1] != 3 or pts.shape[0] == 0:
            return f"expected target points of shape (N, 3), got {pts.shape}"
        finite = np.all(np.isfinite(pts), axis=1)
        if finite.sum() < 0.5 * pts.shape[0]:
            return "target points are NaN/inf"
        centre = np.median(pts[finite], axis=0)
        s = self.safety
        if float(np.percentile(pts[finite, 2], 98)) < s.min_z_m:
            return f"target is below the table limit z={s.min_z_m:.3f} m"
        if np.any(centre < np.asarray(s.workspace_min_m)) or np.any(
            centre > np.asarray(s.workspace_max_m)
        ):
            return f"target centre {np.round(centre, 3).tolist()} m is outside the workspace box"
        reach = float(np.linalg.norm(centre - np.asarray(s.reach_origin_m)))
        if reach > s.max_reach_m:
            return (
                f"target is {reach:.3f} m from the shoulder, beyond the max reach {s.max_reach_m} m"
            )
        return None

    # -- steps -------------------------------------------------------------------------------
    def _begin(self) -> None:
        self._t0 = time.monotonic()
        self._steps = []

    def _status(
        self, step: Step, message: str, reading: ContactReading | None = None
    ) -> ExecutionStatus:
        status = ExecutionStatus(
            step,
            message,
            time.monotonic() - self._t0,
            None if reading is None else reading.state,
            None if reading is None else reading.gap_mm,
        )
        self._steps.append(status)
        if self.on_status is not None:
            self.on_status(status)
        return status

    def _refuse(self, reason: str, plan: GraspPlan | None) -> GraspExecutionResult:
        self._status("check", f"refused: {reason}")
        return GraspExecutionResult("refused", reason, plan, self._steps)

    @staticmethod
    def _check_cancel(stop: threading.Event, where: str) -> None:
        if stop.is_set():
            raise _CancelledError(f"cancel requested before {where}")

    def _step_gripper(
        self, step: Step, position: float, effort: float, stop: threading.Event
    ) -> GripperResult:
        self._check_cancel(stop, step)
        self._status(step, f"gripper to {position:.3f}")
        res = self.gripper.command(position, effort, stop)
        if res.cancelled or stop.is_set():
            raise _CancelledError(f"cancelled during {step}")
        if res.error:
            raise _StepFailedError(f"gripper {step}: {res.error}")
        return res

    def _plan(
        self, step: Step, T: RigidTransform, q_hint: Mat, scaling: float, cartesian: bool
    ) -> MotionPlan:
        # re-check right before the backend sees the pose: this is the only way poses leave
        g = self.grasp_config.gripper
        verdict = check_pose(T, self.safety, g)
        if not verdict.ok:
            raise _StepFailedError(f"{step}: {verdict.message()}")
        plan = self.motion.plan_to_pose(
            T, scaling, self.config.acceleration_scaling, cartesian=cartesian, q_hint=q_hint
        )
        if not plan.ok:
            raise _StepFailedError(f"{step}: planning failed: {plan.error}")
        verdict = self.check_trajectory(plan, T)
        if not verdict.ok:
            raise _StepFailedError(
                f"{step}: the backend's trajectory is unsafe: {verdict.message()}"
            )
        return plan

    def check_trajectory(self, plan: MotionPlan, T_goal: RigidTransform | None) -> SafetyVerdict:
        """A backend's planned trajectory: finite joints, swept path safe, ends at `T_goal`.

        Backends re-solve IK themselves (MoveIt picks its own branch), so the joints they plan
        are checked, not just the pose they were given.  The first point is the robot's state:
        violations it starts in may be left, never entered.
        """
        positions = None if plan.positions is None else np.asarray(plan.positions, np.float64)
        if positions is None or positions.ndim != 2 or positions.shape[1] != 6:
            shape = None if positions is None else positions.shape
            return SafetyVerdict(False, (f"expected joint positions (N, 6), got {shape}",))
        if positions.shape[0] == 0 or not np.all(np.isfinite(positions)):
            return SafetyVerdict(False, ("trajectory is empty or has NaN/inf joints",))
        verdict = check_joint_sweep(
            positions[1:] if positions.shape[0] > 1 else positions,
            self.safety,
            self.kinematics,
            self.grasp_config.gripper,
            q_start_rad=positions[0] if positions.shape[0] > 1 else None,
        )
        if T_goal is not None:
            end = self.kinematics.fk_matrix(positions[-1])
            err = float(np.linalg.norm(end[:3, 3] - T_goal.translation_m))
            if err > self.config.trajectory_goal_tolerance_m:
                verdict += SafetyVerdict(
                    False, (f"trajectory ends {err * 1000:.1f} mm from the pose asked for",)
                )
        return verdict

    def _move(
        self,
        step: Step,
        T: RigidTransform,
        q_hint: Mat,
        scaling: float,
        stop: threading.Event,
        *,
        cartesian: bool = False,
    ) -> MotionResult:
        self._check_cancel(stop, step)
        self._status(step, "planning")
        plan = self._plan(step, T, q_hint, scaling, cartesian)
        self._check_cancel(stop, step)
        self._status(step, f"executing {plan.duration_s:.2f} s")
        res = self.motion.execute(plan, stop)
        if res.cancelled or stop.is_set():
            raise _CancelledError(f"cancelled during {step}")
        if not res.ok:
            raise _StepFailedError(f"{step}: execution failed: {res.error}")
        return res

    def _approach(
        self,
        plan: GraspPlan,
        stop: threading.Event,
        contact: ContactSource | None,
        monitor: ContactMonitor,
    ) -> tuple[ContactReading | None, bool]:
        """Straight line to the grasp pose, contact polled meanwhile; True when stopped early."""
        step: Step = "approach"
        self._check_cancel(stop, step)
        self._status(step, "planning")
        motion_plan = self._plan(
            step, plan.grasp, plan.q_grasp, self.config.approach_velocity_scaling, True
        )
        self._status(step, f"executing {motion_plan.duration_s:.2f} s, watching contact")
        touched = threading.Event()
        # a separate event lets contact stop the motion without looking like a user cancel
        halt = threading.Event()
        outcome: list[MotionResult] = []

        def run() -> None:
            outcome.append(self.motion.execute(motion_plan, halt))

        worker = threading.Thread(target=run, name="grasp-approach", daemon=True)
        worker.start()
        last: ContactReading | None = None
        while True:
            alive = worker.is_alive()
            if stop.is_set():
                halt.set()
                self.motion.cancel()
            if contact is not None:
                last = contact()
                state = monitor.update(last)
                self._status(step, "contact check", last)
                if state == "contact" and alive and not touched.is_set():
                    touched.set()
                    halt.set()
                    self.motion.cancel()
                    self._status(step, "contact: stopping the arm", last)
            if not alive:
                break
            worker.join(self.config.contact_poll_s)
        worker.join()
        if stop.is_set():
            raise _CancelledError("cancelled during approach")
        if touched.is_set():
            gap = "?" if last is None or last.gap_mm is None else f"{last.gap_mm:.1f}"
            if self.config.on_approach_contact == "abort":
                raise _StepFailedError(
                    f"unexpected contact during the approach (gap {gap} mm): "
                    "the object is not where the plan expects it"
                )
            self._status(step, f"stopped at contact (gap {gap} mm); grasping here", last)
            return last, True
        if not outcome or not outcome[0].ok:
            err = outcome[0].error if outcome else "no result"
            raise _StepFailedError(f"approach: execution failed: {err}")
        return last, False

    def _close(
        self, plan: GraspPlan, stop: threading.Event, monitor: ContactMonitor
    ) -> GripperResult:
        g = self.grasp_config.gripper
        res = self._step_gripper("close", g.closed_position, self.config.grasp_effort_n, stop)
        state = monitor.update(monitor.last or ContactReading("no_data", None), stalled=res.stalled)
        self._status("close", f"gripper at {res.position:.3f}, stalled={res.stalled}, {state}")
        if not res.stalled and res.position >= g.closed_position - 0.01:
            raise _StepFailedError("the gripper closed fully: nothing between the fingers")
        return res

    def _verify(self, plan: GraspPlan, grip: GripperResult, rise: float | None) -> None:
        self._status("verify", "checking that the object rose with the gripper")
        wanted = self.config.min_rise_fraction * self.grasp_config.lift_height_m
        if rise is None:
            if not grip.stalled:
                raise _StepFailedError("no depth to verify the lift and the gripper did not stall")
            self._status("verify", "no depth to verify; the stalled gripper says it holds")
            return
        if not math.isfinite(rise) or rise < wanted:
            raise _StepFailedError(
                f"the object rose {rise * 1000:.0f} mm, expected at least {wanted * 1000:.0f} mm"
            )
        self._status("verify", f"object rose {rise * 1000:.0f} mm")
