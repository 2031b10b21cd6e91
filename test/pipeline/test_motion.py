"""Motion/gripper backend registry and the dry-run backends."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from spatialbot_ros.core.kinematics import JOINT_NAMES, URKinematics
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline import motion
from spatialbot_ros.pipeline.motion import (
    DryRunBackend,
    DryRunGripper,
    GripperBackend,
    MotionBackend,
    MotionBackendError,
    make_gripper_backend,
    make_motion_backend,
)

HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])


def test_dry_run_is_registered_and_satisfies_the_protocols() -> None:
    assert {"dry_run", "moveit_py", "move_group"} <= set(motion.available_motion_backends())
    assert {"dry_run", "gripper_action"} <= set(motion.available_gripper_backends())
    backend = make_motion_backend("dry_run", {"q_start": HOME.tolist()})
    gripper = make_gripper_backend("dry_run", {"stall_at_position": 0.4})
    assert isinstance(backend, MotionBackend)
    assert isinstance(gripper, GripperBackend)
    np.testing.assert_allclose(backend.current_joint_state(), HOME)


def test_unknown_names_list_what_exists() -> None:
    with pytest.raises(MotionBackendError, match="dry_run"):
        make_motion_backend("teleport")
    with pytest.raises(MotionBackendError, match="gripper"):
        make_gripper_backend("magnet")


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is not None, reason="rclpy is installed")
@pytest.mark.parametrize("name", ["moveit_py", "move_group"])
def test_ros_backends_fail_clearly_without_ros(name: str) -> None:
    with pytest.raises(MotionBackendError, match=r"rclpy|moveit"):
        make_motion_backend(name)


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is not None, reason="rclpy is installed")
def test_gripper_action_fails_clearly_without_ros() -> None:
    with pytest.raises(MotionBackendError, match="rclpy"):
        make_gripper_backend("gripper_action")


def test_ros_modules_import_without_ros() -> None:
    # rclpy is imported inside the backends only, so listing/importing them is always safe
    for name in ("motion_moveit_py", "motion_move_group", "gripper_action"):
        module = importlib.import_module(f"spatialbot_ros.ros.{name}")
        assert callable(module.make_backend)


def test_registration_from_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    @motion.register_motion_backend("test_fake")
    def make_fake(config):  # type: ignore[no-untyped-def]
        return DryRunBackend(np.asarray(config["q"]))

    backend = make_motion_backend("test_fake", {"q": [0.1] * 6})
    np.testing.assert_allclose(backend.current_joint_state(), 0.1)
    # lazily, by "module:attribute", imported only when made
    (tmp_path / "lazy_backend_mod.py").write_text(
        "from spatialbot_ros.pipeline.motion import DryRunGripper\n"
        "def make(config):\n    return DryRunGripper(config.get('stall_at_position'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    motion.register_lazy_gripper_backend("test_lazy", "lazy_backend_mod:make")
    assert "lazy_backend_mod" not in sys.modules
    gripper = make_gripper_backend("test_lazy", {"stall_at_position": 0.3})
    assert gripper.command(0.7, 10.0).stalled
    motion.register_lazy_motion_backend("test_broken", "no_such_module_xyz:make")
    with pytest.raises(MotionBackendError, match="no_such_module_xyz"):
        make_motion_backend("test_broken")


def test_dry_run_plans_with_ik_and_records() -> None:
    backend = DryRunBackend(HOME)
    kin = URKinematics()
    q_goal = np.array([0.3, -1.5, 1.6, -1.7, -1.5, 0.2])
    plan = backend.plan_to_pose(kin.fk(q_goal), 0.2, 0.1, q_hint=q_goal)
    assert plan.ok
    assert plan.positions is not None
    np.testing.assert_allclose(plan.positions[0], HOME)
    np.testing.assert_allclose(plan.positions[-1], q_goal, atol=1e-9)
    # timed by the slowest joint at 20 % of 180 °/s
    assert plan.duration_s == pytest.approx(np.abs(q_goal - HOME).max() / (0.2 * np.pi))
    assert json.loads(json.dumps(plan.as_dict()))["ok"] is True
    assert backend.execute(plan).ok
    np.testing.assert_allclose(backend.current_joint_state(), q_goal, atol=1e-9)
    assert [c[0] for c in backend.calls] == ["plan_to_pose", "execute", "current_joint_state"]
    far = RigidTransform.from_xyz_rpy((2.0, 0, 0), (0, 0, 0), "base_link", "tool0")
    failed = backend.plan_to_pose(far, 0.1, 0.1)
    assert not failed.ok
    assert "unreachable" in (failed.error or "")
    assert not backend.execute(failed).ok


def test_dry_run_joint_goals_and_cancel() -> None:
    backend = DryRunBackend(HOME)
    assert not backend.plan_to_joints(np.full(6, np.nan), 0.1, 0.1).ok
    plan = backend.plan_to_joints(HOME + 0.1, 0.1, 0.1)
    stop = threading.Event()
    stop.set()
    result = backend.execute(plan, stop)
    assert result.cancelled
    np.testing.assert_allclose(backend.current_joint_state(), HOME)


def test_dry_run_gripper() -> None:
    gripper = DryRunGripper(stall_at_position=0.5)
    opened = gripper.command(0.0, 20.0)
    assert opened.reached_goal
    assert not opened.stalled
    closed = gripper.command(0.79, 20.0)
    assert closed.stalled
    assert closed.position == 0.5
    free = DryRunGripper()
    assert free.command(0.79, 20.0).reached_goal


class _Msg:
    """A stand-in ROS message: attributes spring into existence as nested messages."""

    def __init__(self) -> None:
        self.__dict__["_fields"] = {}

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        fields = self.__dict__["_fields"]
        if name not in fields:
            fields[name] = _Msg()
        return fields[name]

    def __setattr__(self, name: str, value: object) -> None:
        self.__dict__["_fields"][name] = value


class _Msgs:
    MotionPlanRequest = Constraints = PositionConstraint = OrientationConstraint = _Msg
    BoundingVolume = SolidPrimitive = Pose = _Msg


def test_move_group_request_has_pose_constraints_on_tool0() -> None:
    from spatialbot_ros.ros.motion_move_group import MoveGroupConfig, build_motion_plan_request

    T = RigidTransform.from_xyz_rpy((0.5, 0.1, 0.3), (np.pi, 0, 0.3), "base_link", "tool0")
    req = build_motion_plan_request(_Msgs, T, MoveGroupConfig(), 0.2, 0.1)
    assert req.group_name == "ur_manipulator"
    assert req.max_velocity_scaling_factor == 0.2
    assert req.max_acceleration_scaling_factor == 0.1
    assert req.start_state.is_diff is True
    (goal,) = req.goal_constraints
    (pos,) = goal.position_constraints
    (ori,) = goal.orientation_constraints
    assert pos.link_name == ori.link_name == "tool0"
    assert pos.header.frame_id == ori.header.frame_id == "base_link"
    (sphere,) = pos.constraint_region.primitives
    assert sphere.type == 2  # SolidPrimitive.SPHERE
    assert sphere.dimensions == [0.001]
    (center,) = pos.constraint_region.primitive_poses
    np.testing.assert_allclose(
        [center.position.x, center.position.y, center.position.z], [0.5, 0.1, 0.3]
    )
    _, q = T.to_xyz_quat()
    np.testing.assert_allclose(
        [ori.orientation.x, ori.orientation.y, ori.orientation.z, ori.orientation.w], q
    )
    assert ori.absolute_z_axis_tolerance == 0.01


def _trajectory(names: list[str], rows: list[list[float]], times: list[float]) -> _Msg:
    traj = _Msg()
    traj.joint_names = names
    points = []
    for row, t in zip(rows, times, strict=True):
        p = _Msg()
        p.positions = row
        p.velocities = [1.0] * len(row)
        p.accelerations = [1.0] * len(row)
        p.time_from_start.sec = int(t)
        p.time_from_start.nanosec = round((t - int(t)) * 1e9)
        points.append(p)
    traj.points = points
    return traj


def test_trajectory_arrays_reorder_joints_and_retime_slows_down() -> None:
    from spatialbot_ros.ros.motion_move_group import retime, trajectory_arrays

    names = ["wrist_3_joint", *list(JOINT_NAMES[:5])]
    traj = _trajectory(names, [[6, 1, 2, 3, 4, 5], [6.5, 1.5, 2, 3, 4, 5]], [0.0, 1.5])
    positions, times = trajectory_arrays(traj)
    np.testing.assert_allclose(positions[1], [1.5, 2, 3, 4, 5, 6.5])
    np.testing.assert_allclose(times, [0.0, 1.5])
    retime(traj, 0.5, 1.0)
    _, slow = trajectory_arrays(traj)
    np.testing.assert_allclose(slow, [0.0, 3.0])
    assert traj.points[1].velocities[0] == 0.5
    assert traj.points[1].accelerations[0] == 0.25
    with pytest.raises(MotionBackendError, match="lacks joints"):
        trajectory_arrays(_trajectory(["a"], [[0.0]], [0.0]))
