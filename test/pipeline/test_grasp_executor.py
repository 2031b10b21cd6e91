"""Grasp execution: the sequence, contact abort, cancel, verification, and no motion on refusal."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from spatialbot_ros.core.contact import ContactReading
from spatialbot_ros.core.grasp import GraspConfig, GraspPlan, GraspRefusal, plan_grasp
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.core.safety import SafetyLimits
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.grasp_executor import (
    ExecutionStatus,
    ExecutorConfig,
    GraspExecutor,
    lift_rise_m,
)
from spatialbot_ros.pipeline.motion import DryRunBackend, DryRunGripper, MotionPlan, MotionResult

HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])


def cup(
    center: tuple[float, float] = (0.5, 0.1), r: float = 0.035, h: float = 0.09, n: int = 800
) -> np.ndarray:
    rng = np.random.default_rng(0)
    th = rng.uniform(0, 2 * np.pi, n)
    z = rng.uniform(0, h, n)
    return np.column_stack((center[0] + r * np.cos(th), center[1] + r * np.sin(th), z))


class SlowDryRun(DryRunBackend):
    """Execution takes `seconds` (or until halted), so contact can be polled meanwhile."""

    def __init__(self, seconds: float = 0.3) -> None:
        super().__init__(HOME)
        self.seconds = seconds

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        if cancel is not None and cancel.wait(self.seconds):
            self.calls.append(("execute", {"plan": plan, "halted": True}))
            return MotionResult(False, cancelled=True)
        return super().execute(plan, cancel)


def lifted_observer(backend: DryRunBackend, points: np.ndarray):  # type: ignore[no-untyped-def]
    """Object points as a depth view would return them: raised once the lift has executed."""

    def observe() -> np.ndarray:
        executed = [c for c in backend.calls if c[0] == "execute"]
        return points + (np.array([0, 0, 0.1]) if len(executed) >= 3 else 0.0)

    return observe


def near_reading() -> ContactReading:
    return ContactReading("near", 12.0)


def motion_calls(backend: DryRunBackend) -> list[str]:
    return [name for name, _ in backend.calls if name != "current_joint_state"]


def test_full_sequence_succeeds_and_reports_every_step() -> None:
    motion = DryRunBackend(HOME)
    gripper = DryRunGripper(stall_at_position=0.45)
    statuses: list[ExecutionStatus] = []
    ex = GraspExecutor(motion, gripper, on_status=statuses.append)
    pts = cup()
    result = ex.grasp_points(pts, contact=near_reading, observe_object=lifted_observer(motion, pts))
    assert result.ok, result.reason
    assert result.rise_m == pytest.approx(0.1)
    assert result.gripper is not None
    assert result.gripper.stalled
    steps = [s.step for s in statuses]
    order = ["check", "open", "pre_grasp", "approach", "close", "lift", "verify", "done"]
    assert [s for s in order if s in steps] == order
    assert sorted(set(steps), key=steps.index) == order
    assert motion_calls(motion) == [
        "plan_to_pose",
        "execute",
        "plan_to_pose",
        "execute",
        "plan_to_pose",
        "execute",
    ]
    # the approach and lift are straight lines, the approach slower
    kinds = [args for name, args in motion.calls if name == "plan_to_pose"]
    assert [k["cartesian"] for k in kinds] == [False, True, True]
    assert kinds[1]["velocity_scaling"] < kinds[0]["velocity_scaling"]
    assert [c[1]["position"] for c in gripper.calls] == [0.0, pytest.approx(0.7929)]
    np.testing.assert_allclose(motion.current_joint_state(), result.plan.q_lift, atol=1e-6)  # type: ignore[union-attr]
    assert result.as_dict()["outcome"] == "succeeded"


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        (cup(center=(1.3, 0.0)), "outside the workspace box"),
        (cup(center=(0.5, 0.1)) - np.array([0, 0, 0.3]), "below the table"),
        (cup(center=(0.78, 0.35)), "max reach"),
        (np.full((100, 3), np.nan), "NaN"),
        (np.zeros((0, 3)), "shape"),
    ],
)
def test_unsafe_targets_are_refused_without_any_backend_call(
    points: np.ndarray, fragment: str
) -> None:
    motion = DryRunBackend(HOME)
    gripper = DryRunGripper()
    result = GraspExecutor(motion, gripper).grasp_points(points)
    assert result.outcome == "refused"
    assert fragment in result.reason
    assert motion.calls == []
    assert gripper.calls == []


def _plan() -> GraspPlan:
    result = plan_grasp(cup(), GraspConfig(), URKinematics(), SafetyLimits(), HOME)
    assert isinstance(result, GraspPlan)
    return result


def test_tampered_plans_are_refused_without_any_backend_call() -> None:
    plan = _plan()
    m = plan.grasp.matrix.copy()
    m[2, 3] -= 0.2  # 20 cm lower: the pads would be in the table
    low = RigidTransform(m, "base_link", "tool0")
    bad_pose = dataclasses.replace(plan, grasp=low)
    bad_joints = dataclasses.replace(plan, q_grasp=plan.q_grasp + 0.3)
    nan_joints = dataclasses.replace(plan, q_lift=np.full(6, np.nan))
    for tampered, fragment in (
        (bad_pose, "below the table"),
        (bad_joints, "away from the pose"),
        (nan_joints, "finite"),
        (GraspRefusal("no grasp"), "no grasp"),
    ):
        motion, gripper = DryRunBackend(HOME), DryRunGripper()
        result = GraspExecutor(motion, gripper).execute(tampered)
        assert result.outcome == "refused"
        assert fragment in result.reason
        assert motion.calls == []
        assert gripper.calls == []


def test_too_fast_settings_are_refused() -> None:
    motion, gripper = DryRunBackend(HOME), DryRunGripper()
    ex = GraspExecutor(motion, gripper, config=ExecutorConfig(velocity_scaling=0.9))
    result = ex.execute(_plan())
    assert result.outcome == "refused"
    assert "velocity scaling" in result.reason
    assert motion.calls == []


def test_contact_during_the_approach_stops_the_arm_and_grasps_there() -> None:
    motion = SlowDryRun(seconds=2.0)
    gripper = DryRunGripper(stall_at_position=0.45)
    statuses: list[ExecutionStatus] = []
    result = GraspExecutor(motion, gripper, on_status=statuses.append).execute(
        _plan(), contact=lambda: ContactReading("contact", 1.0)
    )
    assert result.ok, result.reason
    assert ("cancel", {}) in motion.calls
    halted = [args for name, args in motion.calls if name == "execute" and args.get("halted")]
    assert len(halted) == 1
    assert any("stopped at contact" in s.message for s in statuses)
    # closed where it stopped, then lifted straight up from there (not to the planned lift)
    assert [c[1]["position"] for c in gripper.calls] == [0.0, pytest.approx(0.7929)]
    lift_goal = [a for n, a in motion.calls if n == "plan_to_pose"][-1]["pose"]
    stopped_at = URKinematics().fk_matrix(_plan().q_pre)  # halted right after pre-grasp
    np.testing.assert_allclose(lift_goal.translation_m, stopped_at[:3, 3] + [0, 0, 0.1], atol=1e-9)


def test_contact_during_the_approach_can_abort() -> None:
    motion = SlowDryRun(seconds=2.0)
    gripper = DryRunGripper(stall_at_position=0.45)
    ex = GraspExecutor(motion, gripper, config=ExecutorConfig(on_approach_contact="abort"))
    result = ex.execute(_plan(), contact=lambda: ContactReading("contact", 1.0))
    assert result.outcome == "failed"
    assert "unexpected contact" in result.reason
    assert len(gripper.calls) == 1  # opened, never closed
    assert len([c for c in motion.calls if c[0] == "plan_to_pose"]) == 2  # no lift


def test_cancel_at_a_step_stops_everything() -> None:
    motion = DryRunBackend(HOME)
    gripper = DryRunGripper(stall_at_position=0.45)
    cancel = threading.Event()

    def on_status(status: ExecutionStatus) -> None:
        if status.step == "approach":
            cancel.set()

    ex = GraspExecutor(motion, gripper, on_status=on_status)
    result = ex.execute(_plan(), cancel=cancel)
    assert result.outcome == "cancelled"
    assert ("cancel", {}) in motion.calls
    assert ("cancel", {}) in gripper.calls
    assert not any(c[0] == "command" and c[1]["position"] > 0 for c in gripper.calls)


def test_cancel_while_moving_interrupts_the_approach() -> None:
    motion = SlowDryRun(seconds=5.0)
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    result = GraspExecutor(motion, DryRunGripper(0.45)).execute(
        _plan(), contact=near_reading, cancel=cancel
    )
    timer.cancel()
    assert result.outcome == "cancelled"


def test_empty_gripper_and_unmoved_object_fail() -> None:
    motion = DryRunBackend(HOME)
    result = GraspExecutor(motion, DryRunGripper()).execute(_plan())
    assert result.outcome == "failed"
    assert "closed fully" in result.reason
    motion = DryRunBackend(HOME)
    pts = cup()
    result = GraspExecutor(motion, DryRunGripper(0.45)).execute(_plan(), observe_object=lambda: pts)
    assert result.outcome == "failed"
    assert "rose 0 mm" in result.reason


def test_lift_rise() -> None:
    pts = cup()
    assert lift_rise_m(pts, pts + np.array([0, 0, 0.07])) == pytest.approx(0.07)
    # stray points high above (robot pixels the observer missed) do not fake a rise
    stray = np.vstack((pts, np.column_stack((pts[:200, :2], np.full(200, 0.4)))))
    assert lift_rise_m(pts, stray) == pytest.approx(0.0, abs=0.005)
    assert lift_rise_m(None, pts) is None
    assert lift_rise_m(pts[:3], pts) is None


def test_depth_contact_source_reads_live_depth_through_fk_and_hand_eye() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from contact_cases import GRIPPER, INTRINSICS, make_case

    from spatialbot_ros.core.contact import check_contact
    from spatialbot_ros.core.grasp import HandEye
    from spatialbot_ros.pipeline.grasp_executor import depth_contact_source

    case = make_case(np.random.default_rng(3), "none", gap_mm=2.0)
    kin = URKinematics()
    q = np.array([0.2, -1.4, 1.5, -1.7, -1.5, 0.1])
    T_base_tool0 = kin.fk(q)
    # the camera where it must be for this frame to show the gripper at FK(q)
    T_base_cam = T_base_tool0 @ case.T_camera_tool0.inverse()
    hand_eye = HandEye("eye_to_hand", T_base_cam, camera_to_optical=None)
    read = depth_contact_source(
        lambda: (case.depth_mm, INTRINSICS),
        lambda: q,
        kin,
        hand_eye,
        opening_m=case.opening_m,
        object_region=case.mask,
        gripper=GRIPPER,
    )
    reading = read()
    direct = check_contact(
        case.depth_mm, INTRINSICS, case.T_camera_tool0, case.opening_m, case.mask, gripper=GRIPPER
    )
    assert reading.state == direct.state == "contact"
    assert reading.gap_mm == pytest.approx(direct.gap_mm, abs=1e-6)
    none = depth_contact_source(
        lambda: None, lambda: q, kin, hand_eye, opening_m=0.05, object_region=case.mask
    )
    assert none().state == "no_data"


def test_depth_object_observer_sees_the_object_rise() -> None:
    from spatialbot_ros.core.camera_model import project_points
    from spatialbot_ros.core.grasp import HandEye
    from spatialbot_ros.core.intrinsics import CameraIntrinsics
    from spatialbot_ros.pipeline.grasp_executor import depth_object_observer

    intr = CameraIntrinsics(320, 240, 300.0, 300.0, 160.0, 120.0)
    hand_eye = HandEye.from_xyz_rpy("eye_to_hand", (1.0, 0.0, 0.5), (0.0, 0.6, np.pi))
    T = hand_eye.T_base_camera()
    kin = URKinematics()

    def render(points: np.ndarray) -> np.ndarray:
        depth = np.zeros((240, 320))
        cam = T.inverse().apply(points)
        uv = np.round(project_points(intr, cam)).astype(int)
        for (u, v), z in zip(uv, cam[:, 2], strict=True):
            if 0 <= u < 320 and 0 <= v < 240 and (depth[v, u] == 0 or z < depth[v, u]):
                depth[v, u] = z
        return np.round(depth * 1000).astype(np.uint16)

    pts = cup(center=(0.5, 0.0), n=20000)
    frames = {"now": render(pts)}
    observe = depth_object_observer(
        lambda: (frames["now"], intr), lambda: HOME, kin, hand_eye, (0.5, 0.0)
    )
    before = observe()
    assert before is not None
    assert before.shape[0] > 100
    assert np.hypot(before[:, 0] - 0.5, before[:, 1]).max() <= 0.08
    frames["now"] = render(pts + np.array([0.0, 0.0, 0.1]))
    after = observe()
    assert lift_rise_m(before, after) == pytest.approx(0.1, abs=0.01)


# -- every pose and trajectory a backend sees is checked first ---------------------------------

PARKED = np.array([1.9, -1.9, 1.9, -1.57, -1.57, 0.0])


class SpyBackend(DryRunBackend):
    """Records every pose, joint goal and trajectory the executor hands over."""

    def __init__(self, q_start: np.ndarray = HOME) -> None:
        super().__init__(q_start)
        self.poses: list[RigidTransform] = []
        self.joint_goals: list[np.ndarray] = []

    def plan_to_pose(self, T_base_tool0, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.poses.append(T_base_tool0)
        return super().plan_to_pose(T_base_tool0, *args, **kwargs)

    def plan_to_joints(self, q_goal, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.joint_goals.append(np.asarray(q_goal, dtype=np.float64))
        return super().plan_to_joints(q_goal, *args, **kwargs)


def _assert_everything_sent_was_safe(spy: SpyBackend, safety: SafetyLimits) -> None:
    from spatialbot_ros.core.safety import check_joint_sweep, check_pose

    g = GraspConfig().gripper
    kin = URKinematics()
    for T in spy.poses:
        verdict = check_pose(T, safety, g)
        assert verdict.ok, verdict.message()
    for q in spy.joint_goals:
        assert check_pose(kin.fk(q), safety, g).ok
    for plan in spy.executed:
        assert plan.positions is not None
        verdict = check_joint_sweep(
            plan.positions[1:], safety, kin, g, q_start_rad=plan.positions[0]
        )
        assert verdict.ok, verdict.message()


@pytest.mark.parametrize("start", ["home", "parked", "stopped_early"])
def test_every_pose_and_trajectory_sent_to_the_backend_passes_the_safety_checks(
    start: str,
) -> None:
    safety = SafetyLimits()
    spy = SpyBackend(PARKED if start == "parked" else HOME)
    if start == "stopped_early":
        spy = SlowSpy(seconds=2.0)
        contact = lambda: ContactReading("contact", 1.0)  # noqa: E731
    else:
        contact = near_reading
    pts = cup(center=(0.405, -0.035), r=0.032, h=0.079)
    result = GraspExecutor(spy, DryRunGripper(0.45), safety=safety).grasp_points(
        pts, contact=contact
    )
    assert result.ok, result.reason
    assert len(spy.poses) == 3
    _assert_everything_sent_was_safe(spy, safety)


class SlowSpy(SpyBackend):
    """A spy whose execution takes a while (or until halted), so contact can stop it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(HOME)
        self.seconds = seconds

    def execute(self, plan: MotionPlan, cancel: threading.Event | None = None) -> MotionResult:
        if cancel is not None and cancel.wait(self.seconds):
            self.calls.append(("execute", {"plan": plan, "halted": True}))
            return MotionResult(False, cancelled=True)
        return super().execute(plan, cancel)


def test_an_unsafe_lift_from_where_contact_stopped_the_arm_never_reaches_the_backend() -> None:
    # the planned lift fits under the ceiling; lifting from higher up (contact stopped the arm
    # right after the pre-grasp) would not: the executor must refuse that pose itself
    plan = _plan()
    ceiling = float(plan.lift.translation_m[2]) + 0.02
    safety = SafetyLimits(workspace_max_m=(0.85, 0.85, ceiling))
    spy = SlowSpy(seconds=2.0)
    ex = GraspExecutor(spy, DryRunGripper(0.45), safety=safety)
    assert ex.check_plan(plan).ok
    result = ex.execute(plan, contact=lambda: ContactReading("contact", 1.0))
    assert result.outcome == "failed"
    assert "lift" in result.reason
    assert "outside the workspace box" in result.reason
    assert len(spy.poses) == 2  # pre-grasp and approach; the lift pose was never sent
    _assert_everything_sent_was_safe(spy, safety)


class FlippingBackend(SpyBackend):
    """A backend that re-solves IK its own way: the pre-grasp on the other shoulder side."""

    def plan_to_pose(self, T_base_tool0, velocity_scaling, acceleration_scaling, **kwargs):  # type: ignore[no-untyped-def]
        self.poses.append(T_base_tool0)
        here = self.kinematics.configuration(self._q)
        flipped = [
            q
            for q in self.kinematics.ik_all(T_base_tool0)
            if self.kinematics.configuration(q).shoulder != here.shoulder
        ]
        q_goal, _ = self.kinematics._closest_in_limits(np.stack(flipped), self._q)
        positions = self._q + np.linspace(0, 1, 20)[:, None] * (q_goal[0] - self._q)
        return MotionPlan(
            True, self.name, "pose", positions=positions, times_s=np.linspace(0, 2, 20)
        )


def test_a_backend_trajectory_that_flips_the_shoulder_is_not_executed() -> None:
    spy = FlippingBackend(PARKED)
    pts = cup(center=(0.405, -0.035), r=0.032, h=0.079)
    result = GraspExecutor(spy, DryRunGripper(0.45)).grasp_points(pts, contact=near_reading)
    assert result.outcome == "failed"
    assert "pre_grasp: the backend's trajectory is unsafe" in result.reason
    assert "arm link below the table top" in result.reason
    assert spy.executed == []


def test_check_plan_sweeps_the_move_from_the_current_state() -> None:
    kin = URKinematics()
    plan = plan_grasp(
        cup(center=(0.405, -0.035), r=0.032, h=0.079), GraspConfig(), kin, SafetyLimits(), PARKED
    )
    assert isinstance(plan, GraspPlan)
    ex = GraspExecutor(DryRunBackend(PARKED), DryRunGripper(0.45))
    assert ex.check_plan(plan, q_current=PARKED).ok
    assert "NaN" in ex.check_plan(plan, q_current=np.full(6, np.nan)).message()
    # the same poses on the shoulder-flipped branch (what the planner used to pick from the
    # parked pose): every pose is fine, the arm is not: its elbow is in the table
    flipped = []
    for q in (plan.q_pre, plan.q_grasp, plan.q_lift):
        here = kin.configuration(q)
        cands = [
            s
            for s in kin.ik_all_matrix(kin.fk_matrix(q))
            if kin.configuration(s) == type(here)(-here.shoulder, -here.elbow, here.wrist)
        ]
        flipped.append(kin._closest_in_limits(np.stack(cands), PARKED)[0][0])
    other = dataclasses.replace(plan, q_pre=flipped[0], q_grasp=flipped[1], q_lift=flipped[2])
    for verdict in (ex.check_plan(other), ex.check_plan(other, q_current=PARKED)):
        assert not verdict.ok
        assert "arm link below the table top" in verdict.message()
    assert not any("unsafe" in r for r in ex.check_plan(other).reasons)  # the poses pass
    # and execute() refuses it without moving (it asks for the joint state, nothing else)
    motion = DryRunBackend(PARKED)
    result = GraspExecutor(motion, DryRunGripper(0.45)).execute(other)
    assert result.outcome == "refused"
    assert motion_calls(motion) == []


# -- the lift check sees the object, not the arm -----------------------------------------------


def _arm_over_cup_scene():  # type: ignore[no-untyped-def]
    """Camera 1 m in front of the robot looking back at a cup the planned grasp hangs over."""
    import sys
    from pathlib import Path

    from spatialbot_ros.core.grasp import HandEye
    from spatialbot_ros.core.intrinsics import CameraIntrinsics

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from robot_depth_scene import render_depth_mm

    intr = CameraIntrinsics(320, 240, 300.0, 300.0, 160.0, 120.0)
    hand_eye = HandEye.from_xyz_rpy("eye_to_hand", (1.0, 0.0, 0.5), (0.0, 0.6, np.pi))
    cup_xy, r, h = (0.5, 0.0), 0.035, 0.09
    plan = plan_grasp(cup(cup_xy, r, h), GraspConfig(), URKinematics(), SafetyLimits(), HOME)
    assert isinstance(plan, GraspPlan)

    def render(q: np.ndarray, cup_z: float) -> np.ndarray:
        return render_depth_mm(
            intr,
            hand_eye.T_base_camera(),
            cup_xy_m=cup_xy,
            cup_radius_m=r,
            cup_bottom_z_m=cup_z,
            cup_height_m=h,
            q_rad=q,
            opening_m=plan.opening_m,
        )

    return intr, hand_eye, cup_xy, plan, render


@pytest.mark.parametrize(("cup_rise_m", "expected_m"), [(0.1, 0.1), (0.0, 0.0)])
def test_depth_object_observer_measures_the_cup_not_the_arm_hanging_over_it(
    cup_rise_m: float, expected_m: float
) -> None:
    from spatialbot_ros.pipeline.grasp_executor import depth_object_observer

    intr, hand_eye, cup_xy, plan, render = _arm_over_cup_scene()
    state = {"q": plan.q_pre, "depth": render(plan.q_pre, 0.0)}
    observe = depth_object_observer(
        lambda: (state["depth"], intr), lambda: state["q"], URKinematics(), hand_eye, cup_xy
    )
    before = observe()
    assert before is not None
    # the wrist, forearm and gripper are in the observed cylinder above the cup; none of their
    # points may count (the arm's points put the median at 0.33 m)
    assert before.shape[0] > 300
    assert np.percentile(before[:, 2], 99) < 0.09 + 0.005
    state["q"], state["depth"] = plan.q_lift, render(plan.q_lift, cup_rise_m)
    after = observe()
    rise = lift_rise_m(before, after)
    assert rise is not None
    # the fingers hide the top of the lifted cup; its lower part rose the full height
    assert rise == pytest.approx(expected_m, abs=0.02)


@pytest.mark.parametrize("holds", [True, False])
def test_executor_verifies_the_lift_from_rendered_depth_with_the_arm_in_view(holds: bool) -> None:
    from spatialbot_ros.pipeline.grasp_executor import depth_object_observer

    intr, hand_eye, cup_xy, plan, render = _arm_over_cup_scene()
    motion = DryRunBackend(HOME)
    gripper = DryRunGripper(0.45)

    def frame() -> tuple[np.ndarray, object]:
        # the cup comes up with the gripper once it has closed on it, if it holds
        lifted = holds and gripper.position > 0.0
        return render(motion._q, 0.1 if lifted else 0.0), intr

    observe = depth_object_observer(frame, lambda: motion._q, URKinematics(), hand_eye, cup_xy)
    result = GraspExecutor(motion, gripper).execute(plan, observe_object=observe)
    if holds:
        assert result.ok, result.reason
        assert result.rise_m is not None
        assert result.rise_m > 0.05
    else:
        assert result.outcome == "failed"
        assert "the object rose 0 mm" in result.reason
