"""Grasp node behaviour: targets in, plans and executed grasps out, cancel and contact."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core.contact import ContactReading
from spatialbot_ros.core.grasp import GraspPlan, GraspRefusal
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline import grasp_node_logic as gnl
from spatialbot_ros.pipeline.grasp_node_logic import (
    GraspNodeConfig,
    GraspNodeLogic,
    GraspStatus,
    cylinder_points,
)
from spatialbot_ros.pipeline.motion import (
    DryRunBackend,
    DryRunGripper,
    MotionResult,
    make_gripper_backend,
    make_motion_backend,
)
from spatialbot_ros.sim.synthetic import make_scene

NS = 1_000_000_000
REACHABLE = (0.45, 0.1, 0.05)


def make_logic(motion: Any = None, gripper: Any = None, now_ns: int = 100 * NS, **config: Any):
    statuses: list[GraspStatus] = []
    logic = GraspNodeLogic(
        GraspNodeConfig.from_mapping(config),
        motion or make_motion_backend("dry_run", {}),
        gripper or make_gripper_backend("dry_run", {}),
        clock_ns=lambda: now_ns,
        on_status=statuses.append,
    )
    return logic, statuses


def steps(statuses: list[GraspStatus]) -> list[str]:
    return [s.step for s in statuses]


def grasp_result(xyz_base: Any = REACHABLE, **overrides: Any) -> dict[str, Any]:
    result = {
        "task": "grasp the cup",
        "engine": "geometric",
        "status": "ok",
        "kind": "grasp",
        "stamp_ns": 100 * NS,
        "frame_id": "camera_color_optical_frame",
        "error": None,
        "target": {
            "label": "cup",
            "bbox_px": [300.0, 200.0, 340.0, 260.0],
            "xyz_camera_m": [0.0, 0.0, 0.6],
            "xyz_base_m": None if xyz_base is None else list(xyz_base),
        },
        "grasp": None,
    }
    result.update(overrides)
    return result


def test_cylinder_points_stand_on_the_table():
    pts = cylinder_points((0.4, 0.0, 0.05), 0.04, 0.1)
    assert pts.shape == (192, 3)
    assert pts[:, 2].min() == pytest.approx(0.0)
    assert pts[:, 2].max() == pytest.approx(0.1)
    np.testing.assert_allclose(np.hypot(pts[:, 0] - 0.4, pts[:, 1]), 0.04)


def test_plan_from_a_reachable_position():
    logic, statuses = make_logic()
    plan = logic.plan_from_position(REACHABLE)
    assert isinstance(plan, GraspPlan), statuses
    assert statuses[-1].step == "planned"
    assert "nominal cylinder" in statuses[-1].message
    assert logic.last_plan is plan


@pytest.mark.parametrize(
    ("xyz", "match"), [((2.0, 0.0, 0.05), "outside"), ((math.nan, 0.0, 0.0), "finite")]
)
def test_unreachable_or_invalid_positions_are_refused(xyz, match):
    logic, statuses = make_logic()
    refusal = logic.plan_from_position(xyz)
    assert isinstance(refusal, GraspRefusal)
    assert match in refusal.reason
    assert statuses[-1].step == "refused"
    assert logic.last_plan is None


def test_plan_from_result_uses_live_depth_in_the_target_box():
    scene = make_scene(seed=3, n_objects=3)
    T_base_world = RigidTransform.from_xyz_rpy((0.45, 0.0, 0.0), (0, 0, 0), "base_link", "world")
    T_base_cam = T_base_world @ scene.T_world_camera
    obj = scene.objects[1]  # fully visible: its box holds no other cup
    logic, statuses = make_logic()
    logic.on_frame(scene.frame, T_base_cam)
    xyz_base = T_base_world.apply(np.asarray(obj.center_world_m))
    result = grasp_result(xyz_base)
    result["target"]["bbox_px"] = [float(v) for v in obj.bbox_px]
    plan = logic.plan_from_result(result)
    assert isinstance(plan, GraspPlan), statuses
    assert "depth points in the target box" in statuses[-1].message
    assert np.linalg.norm(plan.object.center_m[:2] - xyz_base[:2]) < 0.03


@pytest.mark.parametrize(
    ("result", "step", "match"),
    [
        (grasp_result(status="error"), "ignored", "not an ok grasp"),
        (grasp_result(kind="question"), "ignored", "not an ok grasp"),
        (grasp_result(None), "refused", "no base-frame target"),
        (grasp_result(stamp_ns=50 * NS), "refused", "50.0 s old"),
    ],
)
def test_results_that_are_not_graspable_targets(result, step, match):
    logic, statuses = make_logic()
    assert logic.plan_from_result(result) is None
    assert statuses[-1].step == step
    assert match in statuses[-1].message


def test_result_without_live_depth_falls_back_to_a_nominal_object():
    logic, statuses = make_logic()
    plan = logic.plan_from_result(grasp_result())
    assert isinstance(plan, GraspPlan)
    assert "no live depth" in statuses[-1].message


def test_dry_run_execution_reports_every_step():
    motion, gripper = DryRunBackend(), DryRunGripper()
    logic, statuses = make_logic(motion, gripper)
    plan = logic.plan_from_position(REACHABLE)
    result = logic.execute()
    assert result.outcome == "succeeded", result.reason
    seen = steps(statuses)
    for step in ("dry_run", "check", "open", "pre_grasp", "approach", "close", "lift", "verify"):
        assert step in seen, seen
    assert statuses[-1].step == "result"
    assert statuses[-1].message == "succeeded: grasped and lifted"
    assert len(motion.executed) == 3
    positions = [c[1]["position"] for c in gripper.calls if c[0] == "command"]
    assert positions == [0.0, pytest.approx(0.7929)]
    # The simulated gripper stalled at the object's width, as a real one would.
    assert result.gripper.stalled
    np.testing.assert_allclose(motion.executed[0].positions[-1], plan.q_pre, atol=1e-6)
    assert not logic.busy


def test_execute_without_a_plan():
    logic, _ = make_logic()
    result = logic.execute()
    assert result.outcome == "refused"
    assert result.reason == "no grasp planned yet"


class NamedGripper(DryRunGripper):
    name = "test_gripper"


@pytest.mark.parametrize(("stall", "outcome"), [(0.5, "succeeded"), (None, "failed")])
def test_verification_by_gripper_stall(stall, outcome):
    logic, statuses = make_logic(DryRunBackend(), NamedGripper(stall_at_position=stall))
    logic.plan_from_position(REACHABLE)
    result = logic.execute()
    assert result.outcome == outcome, result.reason
    if outcome == "failed":
        assert "nothing between the fingers" in result.reason
        assert statuses[-1].level == "error"


class BlockingBackend(DryRunBackend):
    """execute() of the given call blocks until stopped (a slow real arm)."""

    def __init__(self, block_call: int, stopped_as_error: bool = False) -> None:
        super().__init__()
        self.block_call = block_call
        self.stopped_as_error = stopped_as_error  # MoveGroup reports a cancelled goal so
        self.n_exec = 0
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def execute(self, plan, cancel=None):
        self.n_exec += 1
        if self.n_exec == self.block_call:
            self.started.set()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if self.cancelled.is_set() or (cancel is not None and cancel.is_set()):
                    if self.stopped_as_error:
                        return MotionResult(False, error="execution failed, error code -7")
                    return MotionResult(False, cancelled=True, final_q=self._q.copy())
                time.sleep(0.005)
            raise AssertionError("never stopped")
        return super().execute(plan, cancel)

    def cancel(self):
        super().cancel()
        self.cancelled.set()


def test_cancel_stops_motion_and_reports():
    motion = BlockingBackend(block_call=1)  # the move to pre-grasp
    logic, statuses = make_logic(motion)
    logic.plan_from_position(REACHABLE)
    results = []
    thread = threading.Thread(target=lambda: results.append(logic.execute()))
    thread.start()
    assert motion.started.wait(5)
    assert logic.busy
    assert logic.execute().reason == "a grasp is already executing"
    logic.cancel()
    thread.join(5)
    (result,) = results
    assert result.outcome == "cancelled"
    assert "pre_grasp" in result.reason
    assert ("cancel", {}) in motion.calls
    assert statuses[-1].level == "warn"
    assert not logic.busy


@pytest.mark.parametrize("stopped_as_error", [False, True])
def test_contact_during_approach_stops_and_closes(monkeypatch, stopped_as_error):
    scene = make_scene(seed=3, n_objects=1)
    T_base_cam = (
        RigidTransform.from_xyz_rpy((0.45, 0.0, 0.0), (0, 0, 0), "base_link", "world")
        @ scene.T_world_camera
    )
    reading = ContactReading("contact", 1.0, (), "depth", "left pad nearest")
    monkeypatch.setattr(gnl, "check_contact", lambda *a, **k: reading)
    motion = BlockingBackend(block_call=2, stopped_as_error=stopped_as_error)  # the approach
    logic, statuses = make_logic(motion)
    logic.on_frame(scene.frame, T_base_cam)
    logic.plan_from_result(grasp_result())  # has a target box: contact is watched
    result = logic.execute()
    assert result.outcome == "succeeded", result.reason
    messages = [s.message for s in statuses]
    assert any("stopped at contact" in m for m in messages), messages
    assert "close" in steps(statuses)
    # Polled every 20 ms, reported once per state change.
    assert sum("contact check" in m for m in messages) <= 2


class LiftFails(DryRunBackend):
    def execute(self, plan, cancel=None):
        if len(self.executed) == 2:
            return MotionResult(False, error="execution failed, error code -4")
        return super().execute(plan, cancel)


def test_failed_lift_is_reported_not_ignored():
    logic, statuses = make_logic(LiftFails())
    logic.plan_from_position(REACHABLE)
    result = logic.execute()
    assert result.outcome == "failed"
    assert "lift" in result.reason
    assert "error code -4" in result.reason
    assert statuses[-1].level == "error"


class FailingBackend(DryRunBackend):
    def execute(self, plan, cancel=None):
        raise RuntimeError("controller not active")


def test_backend_failure_becomes_an_error_status():
    logic, statuses = make_logic(FailingBackend())
    logic.plan_from_position(REACHABLE)
    result = logic.execute()
    assert result.outcome == "failed"
    assert "controller not active" in result.reason
    assert statuses[-1].level == "error"
    assert not logic.busy


def test_config_validation():
    with pytest.raises(ValueError, match="unknown grasp node parameter"):
        GraspNodeConfig.from_mapping({"velocity": 0.1})
    with pytest.raises(ValueError, match="velocity_scaling"):
        GraspNodeConfig(velocity_scaling=1.5)
