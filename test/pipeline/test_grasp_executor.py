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
