"""The "sim" motion and gripper backends through pipeline.motion's registry."""

from __future__ import annotations

import threading

import numpy as np

import spatialbot_ros.sim.motion_backend  # noqa: F401 - registers "sim"
from spatialbot_ros.pipeline.motion import make_gripper_backend, make_motion_backend
from spatialbot_ros.sim.motion_backend import SimSession

Q_GOAL = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])


def test_joint_motion_reaches_the_goal() -> None:
    session = SimSession.from_config({"seed": 1})
    arm = make_motion_backend("sim", {"session": session})
    plan = arm.plan_to_joints(Q_GOAL, 1.0, 1.0)
    assert plan.ok
    result = arm.execute(plan)
    assert result.ok, result.error
    np.testing.assert_allclose(arm.current_joint_state(), Q_GOAL, atol=0.01)


def test_cartesian_pose_plan_ends_at_the_pose() -> None:
    session = SimSession.from_config({"seed": 1})
    arm = make_motion_backend("sim", {"session": session})
    arm.execute(arm.plan_to_joints(Q_GOAL, 1.0, 1.0))
    T = session.kinematics.fk(Q_GOAL)
    m = T.matrix.copy()
    m[2, 3] -= 0.05
    target = type(T)(m, T.parent_frame, T.child_frame)
    plan = arm.plan_to_pose(target, 1.0, 1.0, cartesian=True)
    assert plan.ok
    assert plan.positions is not None
    assert len(plan.positions) > 2
    assert arm.execute(plan).ok
    reached = session.kinematics.fk_matrix(arm.current_joint_state())
    np.testing.assert_allclose(reached[:3, 3], m[:3, 3], atol=0.005)


def test_cancel_stops_the_motion() -> None:
    session = SimSession.from_config({"seed": 1})
    arm = make_motion_backend("sim", {"session": session})
    cancel = threading.Event()
    cancel.set()
    result = arm.execute(arm.plan_to_joints(Q_GOAL, 1.0, 1.0), cancel)
    assert result.cancelled
    assert not result.ok


def test_gripper_closes_on_air_without_stalling() -> None:
    session = SimSession.from_config({"seed": 1})
    gripper = make_gripper_backend("sim", {"session": session})
    result = gripper.command(0.7929, 40.0)
    assert result.reached_goal
    assert not result.stalled


def test_gripper_stalls_on_a_cup_between_the_fingers() -> None:
    from spatialbot_ros.core.kinematics import URKinematics
    from spatialbot_ros.sim.scene import SceneObject, SceneSpec
    from spatialbot_ros.sim.world import build_world

    cup = SceneObject("cup_0", "cup", "red", 0.5, 0.0, 0.03, 0.09, 0.15)
    world = build_world(SceneSpec(0, (cup,)))
    kin = URKinematics("ur5")
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])  # tool z down
    T[:3, 3] = (cup.x_m, cup.y_m, cup.height_m - 0.03 + 0.15)
    sol = kin.ik_matrix(T, Q_GOAL)
    assert sol.q is not None
    world.set_arm_q(sol.q)  # fingers open around the cup
    session = SimSession(world)
    result = make_gripper_backend("sim", {"session": session}).command(0.7929, 40.0)
    assert result.stalled
    assert not result.reached_goal
    assert 0.2 < result.position < 0.6  # stopped at the cup's 60 mm, not closed
    assert len(world.finger_contacts("cup_0")) == 2
