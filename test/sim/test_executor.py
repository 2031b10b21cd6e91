"""Grasping in MuJoCo by friction alone: success needs a real lift and both fingers on the cup."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.sim.executor import GraspExecutor, GraspTargets, min_jerk
from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
from spatialbot_ros.sim.scene import SceneObject, SceneSpec
from spatialbot_ros.sim.world import build_world

KIN = URKinematics("ur5")


def _top_down_targets(obj: SceneObject, opening_m: float) -> GraspTargets:
    """A hand-made top-down grasp: fingers 3 cm below the rim, approach from 10 cm above."""
    R = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])

    def q_at(z_tcp: float, seed: np.ndarray) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = (obj.x_m, obj.y_m, z_tcp + 0.15)
        sol = KIN.ik_matrix(T, seed)
        assert sol.q is not None
        return np.asarray(sol.q)

    z = obj.height_m - 0.03
    q_pre = q_at(z + 0.10, np.asarray(HIDDEN_ARM_Q))
    q_grasp = q_at(z, q_pre)
    return GraspTargets(q_pre, q_grasp, q_at(z + 0.12, q_grasp), opening_m)


def _world(radius_m: float = 0.03):
    cup = SceneObject("cup_0", "cup", "red", 0.5, 0.0, radius_m, 0.09, 0.15)
    world = build_world(SceneSpec(0, (cup,)))
    world.set_arm_q(HIDDEN_ARM_Q)
    return world, cup


def test_min_jerk_is_smooth_at_both_ends() -> None:
    s = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(min_jerk(s), [0.0, 0.5, 1.0])


def test_no_weld_only_the_finger_mimic_constraint() -> None:
    world, _ = _world()
    m = world.model
    assert m.neq == 1
    assert m.eq_type[0] == mujoco.mjtEq.mjEQ_JOINT


def test_top_down_grasp_lifts_the_cup() -> None:
    world, cup = _world()
    result = GraspExecutor(world, KIN).execute(_top_down_targets(cup, 0.085), cup.name)
    assert result.success, result.reason
    assert result.lifted_m >= 0.05
    assert result.held


def test_fingers_that_miss_do_not_count_as_success() -> None:
    world, cup = _world()
    targets = _top_down_targets(cup, 0.085)
    # Aim 8 cm beside the cup: the gripper closes on air.
    off = GraspTargets(targets.q_pre, targets.q_grasp, targets.q_lift, 0.085)
    world.data.qpos[world.object_qpos[cup.name] + 1] += 0.08
    mujoco.mj_forward(world.model, world.data)
    result = GraspExecutor(world, KIN).execute(off, cup.name)
    assert not result.success
    assert not result.held
    assert result.lifted_m < 0.01


def test_contact_during_the_approach_stops_it_there() -> None:
    world, cup = _world()
    targets = _top_down_targets(cup, 0.085)
    seen: list[float] = []

    def contact_at_40_percent(_world: object, _name: str, progress: float) -> tuple[float, bool]:
        seen.append(progress)
        return (0.0, True) if progress >= 0.4 else (30.0, False)

    executor = GraspExecutor(world, KIN, contact_check=contact_at_40_percent, contact_checks=10)
    result = executor.execute(targets, cup.name)
    assert "approach stopped on contact at 40 %" in result.reason
    assert max(p for p in seen if p < 1.0) == pytest.approx(0.4)
    samples = [s for s in result.contact_samples if s.progress < 1.0]
    assert len(samples) == 4  # 0.1 ... 0.4, then no more checks
