"""Closed-loop grasp execution in MuJoCo: joint trajectories, gripper, depth contact check."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.sim.world import GRIPPER_CLOSED_POS, SimWorld

__all__ = [
    "ContactSample",
    "ExecutionResult",
    "GraspExecutor",
    "GraspTargets",
    "min_jerk",
]

LIFT_SUCCESS_M = 0.05


def min_jerk(s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Minimum-jerk time scaling of s in [0, 1] (zero velocity and acceleration at both ends)."""
    return np.asarray(10 * s**3 - 15 * s**4 + 6 * s**5, dtype=np.float64)


@dataclass(frozen=True)
class GraspTargets:
    """What the executor needs from a grasp plan: joint goals and the gripper opening."""

    q_pre: npt.NDArray[np.float64]
    q_grasp: npt.NDArray[np.float64]
    q_lift: npt.NDArray[np.float64]
    opening_m: float
    T_pre: RigidTransform | None = None  # tool0 poses, for the straight-line approach
    T_grasp: RigidTransform | None = None

    @classmethod
    def from_plan(cls, plan: Any) -> GraspTargets:
        """From a core.grasp.GraspPlan (or its as_dict())."""
        get = plan.get if isinstance(plan, dict) else lambda k, d=None: getattr(plan, k, d)
        pre, grasp = get("pre_grasp"), get("grasp")
        return cls(
            q_pre=np.asarray(get("q_pre"), dtype=np.float64),
            q_grasp=np.asarray(get("q_grasp"), dtype=np.float64),
            q_lift=np.asarray(get("q_lift"), dtype=np.float64),
            opening_m=float(get("opening_m", 0.085)),
            T_pre=pre if isinstance(pre, RigidTransform) else None,
            T_grasp=grasp if isinstance(grasp, RigidTransform) else None,
        )


@dataclass(frozen=True)
class ContactSample:
    """One contact check during the approach: progress, depth verdict and physics truth."""

    t_s: float
    progress: float  # 0 at pre-grasp, 1 at grasp
    signal_mm: float | None  # gap between fingertips and object surface (None: not measured)
    detected: bool | None  # None: no evidence (pads occluded or without depth)
    truth: bool


@dataclass
class ExecutionResult:
    """Outcome of one simulated grasp."""

    success: bool
    lifted_m: float
    held: bool
    reason: str
    contact_samples: list[ContactSample] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    final_object_position_m: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "success": self.success,
            "lifted_m": self.lifted_m,
            "held": self.held,
            "reason": self.reason,
            "contact_samples": [s.__dict__ for s in self.contact_samples],
            "timings_ms": dict(self.timings_ms),
            "final_object_position_m": list(self.final_object_position_m),
        }


ContactCheck = Callable[[SimWorld, str, float], "tuple[float | None, bool | None]"]


class GraspExecutor:
    """Runs a grasp in a SimWorld with position-controlled joints and a force-limited gripper."""

    def __init__(
        self,
        world: SimWorld,
        kinematics: Any = None,
        *,
        contact_check: ContactCheck | None = None,
        joint_speed_rad_s: float = 1.2,
        approach_speed_m_s: float = 0.08,
        contact_checks: int = 8,
        stop_on_contact: bool = True,
    ) -> None:
        """Hold the world, the IK used for straight-line approaches and the contact check."""
        self.world = world
        self.kinematics = kinematics
        self.contact_check = contact_check
        self.joint_speed = joint_speed_rad_s
        self.approach_speed = approach_speed_m_s
        self.contact_checks = contact_checks
        self.stop_on_contact = stop_on_contact
        self.sim_time_s = 0.0

    # --- low level ---------------------------------------------------------------------------

    def step(self, n: int = 1) -> None:
        """Advance the physics by n steps."""
        import mujoco

        for _ in range(n):
            mujoco.mj_step(self.world.model, self.world.data)
        self.sim_time_s += n * float(self.world.model.opt.timestep)

    def set_gripper(self, finger_pos: float) -> None:
        """Command each finger's travel (0 open ... GRIPPER_CLOSED_POS closed)."""
        self.world.data.ctrl[self.world.gripper_actuator] = float(
            np.clip(finger_pos, 0.0, GRIPPER_CLOSED_POS)
        )

    def follow(
        self,
        waypoints: npt.NDArray[np.float64],
        duration_s: float,
        on_progress: Callable[[float], bool] | None = None,
        checks: int = 0,
    ) -> float:
        """Track a joint path (K, 6) in `duration_s`, min-jerk timed, then settle briefly.

        `on_progress(fraction)` runs `checks` times along the way; returning True stops the
        motion there (a guarded move). Returns the fraction of the path completed.
        """
        dt = float(self.world.model.opt.timestep)
        steps = max(2, round(duration_s / dt))
        k = len(waypoints) - 1
        check_at = {round(steps * (i + 1) / checks) for i in range(checks)} if checks else set()
        for i in range(1, steps + 1):
            s = float(min_jerk(np.array([i / steps]))[0]) * k
            j = min(int(s), k - 1)
            q = waypoints[j] + (s - j) * (waypoints[j + 1] - waypoints[j])
            self.world.data.ctrl[self.world.arm_actuators] = q
            self.step()
            if on_progress is not None and i in check_at and on_progress(i / steps):
                # Hold where the arm is: commanding the measured joints stops it in place.
                self.world.data.ctrl[self.world.arm_actuators] = self.world.arm_q()
                self.step(round(0.1 / dt))
                return i / steps
        self.step(round(0.15 / dt))
        return 1.0

    def move_joints(self, q_goal: npt.ArrayLike, min_duration_s: float = 0.6) -> None:
        """Joint-space move to `q_goal` at the configured joint speed."""
        q0 = np.asarray(self.world.data.ctrl[self.world.arm_actuators], dtype=np.float64).copy()
        q1 = np.asarray(q_goal, dtype=np.float64)
        duration = max(min_duration_s, float(np.max(np.abs(q1 - q0))) / self.joint_speed * 1.9)
        self.follow(np.stack([q0, q1]), duration)

    def cartesian_path(
        self, q_from: npt.NDArray[np.float64], q_to: npt.NDArray[np.float64], n: int = 12
    ) -> npt.NDArray[np.float64]:
        """Joint waypoints of a straight tool0 line between the FK of two configurations."""
        if self.kinematics is None:
            return np.stack([q_from + (q_to - q_from) * t for t in np.linspace(0, 1, n)])
        T0 = self.kinematics.fk_matrix(q_from)
        T1 = self.kinematics.fk_matrix(q_to)
        path = [q_from]
        seed = q_from
        for t in np.linspace(0.0, 1.0, n)[1:]:
            T = T1.copy()
            T[:3, 3] = T0[:3, 3] + t * (T1[:3, 3] - T0[:3, 3])
            sol = self.kinematics.ik_matrix(T, seed)
            if sol.q is None:  # fall back to joint interpolation for this segment
                q = q_from + (q_to - q_from) * t
            else:
                q = np.asarray(sol.q, dtype=np.float64)
            path.append(q)
            seed = q
        path[-1] = q_to
        return np.stack(path)

    # --- the grasp -----------------------------------------------------------------------------

    def via(self, q_ready: Sequence[float]) -> None:
        """Go to a ready pose, turning the base joint first so the arm swings high, not low."""
        q_now = np.asarray(self.world.data.ctrl[self.world.arm_actuators], dtype=np.float64)
        q_turn = q_now.copy()
        q_turn[0] = q_ready[0]
        self.move_joints(q_turn)
        self.move_joints(np.asarray(q_ready, dtype=np.float64))

    def execute(
        self, targets: GraspTargets, object_name: str, q_ready: Sequence[float] | None = None
    ) -> ExecutionResult:
        """Open, (ready pose,) pre-grasp, approach checking contact, close, lift, hold; judge."""
        timings: dict[str, float] = {}
        samples: list[ContactSample] = []
        z0 = float(self.world.object_position(object_name)[2])
        t0 = time.perf_counter()

        # Finger travel 0 is fully open (85 mm between the pads); open as far as planned.
        self.set_gripper(max(0.0, (2 * GRIPPER_CLOSED_POS - targets.opening_m) / 2.0))
        if q_ready is not None:
            self.via(q_ready)
        self.move_joints(targets.q_pre)
        timings["move_pre"] = (time.perf_counter() - t0) * 1e3

        t1 = time.perf_counter()
        path = self.cartesian_path(targets.q_pre, targets.q_grasp)
        length = 0.10
        if self.kinematics is not None:
            a = self.kinematics.fk_matrix(targets.q_pre)[:3, 3]
            b = self.kinematics.fk_matrix(targets.q_grasp)[:3, 3]
            length = float(np.linalg.norm(b - a))

        def check(progress: float) -> bool:
            if self.contact_check is None:
                return False
            signal, detected = self.contact_check(self.world, object_name, progress)
            samples.append(
                ContactSample(
                    t_s=self.sim_time_s,
                    progress=progress,
                    signal_mm=signal,
                    detected=detected,
                    truth=self.world.robot_touches(object_name),
                )
            )
            # Closed loop: contact before the grasp pose means the fingers met the object
            # early (a grounding or depth error); stop there rather than push it over.
            return bool(detected) and self.stop_on_contact and progress < 1.0

        done = self.follow(path, max(0.8, length / self.approach_speed), check, self.contact_checks)
        timings["approach"] = (time.perf_counter() - t1) * 1e3
        stopped_early = done < 1.0

        t2 = time.perf_counter()
        self.set_gripper(GRIPPER_CLOSED_POS)
        self.step(round(0.6 / float(self.world.model.opt.timestep)))
        timings["close"] = (time.perf_counter() - t2) * 1e3
        if self.contact_check is not None:
            check(1.0)

        t3 = time.perf_counter()
        self.move_joints(targets.q_lift, min_duration_s=1.0)
        self.step(round(0.5 / float(self.world.model.opt.timestep)))  # hold: does it slip?
        timings["lift_hold"] = (time.perf_counter() - t3) * 1e3

        pos = self.world.object_position(object_name)
        lifted = float(pos[2]) - z0
        fingers = self.world.finger_contacts(object_name)
        held = len(fingers) >= 2
        success = lifted >= LIFT_SUCCESS_M and held
        if success:
            reason = f"lifted {lifted * 100:.1f} cm and held by both fingers"
        elif not held:
            reason = f"not held ({len(fingers)} finger(s) in contact), lifted {lifted * 100:.1f} cm"
        else:
            reason = f"held but lifted only {lifted * 100:.1f} cm (< {LIFT_SUCCESS_M * 100:.0f} cm)"
        if stopped_early:
            reason += f"; approach stopped on contact at {100 * done:.0f} %"
        return ExecutionResult(
            success=success,
            lifted_m=lifted,
            held=held,
            reason=reason,
            contact_samples=samples,
            timings_ms=timings,
            final_object_position_m=[float(v) for v in pos],
        )


def targets_from_q(q: Sequence[npt.ArrayLike], opening_m: float) -> GraspTargets:
    """GraspTargets from three joint vectors (pre, grasp, lift)."""
    q_pre, q_grasp, q_lift = (np.asarray(v, dtype=np.float64) for v in q)
    return GraspTargets(q_pre, q_grasp, q_lift, opening_m)
