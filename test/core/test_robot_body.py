"""The robot's volume from FK: link capsules follow the arm, points on it are recognised."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.kinematics import GripperGeometry, KinematicsError, URKinematics
from spatialbot_ros.core.robot_body import CAPSULE_NAMES, ArmBody, arm_capsules, points_on_robot

KIN = URKinematics("ur5")
HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])


def _on_capsule_surface(a: np.ndarray, b: np.ndarray, r: float, n: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    axis = (b - a) / np.linalg.norm(b - a)
    ref = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(axis, ref)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    t = rng.uniform(0.0, 1.0, n)[:, None]
    th = rng.uniform(0.0, 2 * np.pi, n)[:, None]
    return a + t * (b - a) + r * (np.cos(th) * e1 + np.sin(th) * e2)


def test_capsules_chain_from_the_shoulder_to_tool0() -> None:
    frames = KIN.fk_frames_batch(HOME[None])
    caps = arm_capsules(KIN, frames)
    assert caps.start_m.shape == caps.end_m.shape == (1, len(CAPSULE_NAMES), 3)
    np.testing.assert_allclose(caps.start_m[0, 0], [0.0, 0.0, 0.089159], atol=1e-12)
    np.testing.assert_allclose(caps.end_m[0, -1], KIN.fk_matrix(HOME)[:3, 3], atol=1e-12)
    # the upper arm tube is 0.425 m long and sits sideways by the shoulder offset
    upper = caps.end_m[0, 1] - caps.start_m[0, 1]
    assert np.linalg.norm(upper) == pytest.approx(0.425)
    assert np.linalg.norm(caps.start_m[0, 1] - caps.start_m[0, 0]) == pytest.approx(0.13585)
    # at home the shoulder is just above the table, the links from the elbow on well above it
    assert caps.lowest_z_m()[0, :2].min() == pytest.approx(0.089159 - 0.06)
    assert caps.lowest_z_m()[0, 2:].min() > 0.3
    with pytest.raises(KinematicsError, match="radius"):
        ArmBody(wrist_radius_m=-1.0)


def test_points_on_the_arm_and_gripper_are_recognised_others_are_not() -> None:
    rng = np.random.default_rng(0)
    q = np.array([0.3, -1.4, 1.6, -1.8, -1.5, 0.2])
    caps = arm_capsules(KIN, KIN.fk_frames_batch(q[None]))
    on_arm = np.vstack(
        [
            _on_capsule_surface(a, b, float(r), 200, rng)
            for a, b, r in zip(caps.start_m[0], caps.end_m[0], caps.radius_m, strict=True)
        ]
    )
    assert points_on_robot(on_arm, KIN, q).all()
    # 3 cm out from the middle of the long tubes (upper arm, forearm) is off the robot
    off_arm = np.vstack(
        [
            _on_capsule_surface(
                caps.start_m[0, k] + 0.3 * (caps.end_m[0, k] - caps.start_m[0, k]),
                caps.start_m[0, k] + 0.7 * (caps.end_m[0, k] - caps.start_m[0, k]),
                float(caps.radius_m[k]) + 0.03,
                300,
                rng,
            )
            for k in (1, 3)
        ]
    )
    assert not points_on_robot(off_arm, KIN, q, margin_m=0.01).any()
    assert points_on_robot(off_arm, KIN, q, margin_m=0.035).all()
    T = KIN.fk_matrix(q)
    tool = T[:3, 3]
    cup = tool + np.array([0.0, 0.0, -0.35]) + rng.normal(0, 0.02, (100, 3))
    assert not points_on_robot(cup, KIN, q).any()
    # finger pads at the TCP, between-the-fingers object points and the body
    g = GripperGeometry()
    local = np.array(
        [
            [0.0, 0.0425 + 0.005, g.tcp_offset_m],  # on the left finger (open)
            [0.0, 0.0, 0.05],  # inside the body
            [0.0, 0.0, g.tcp_offset_m],  # the TCP: between the fingers, not on them
        ]
    )
    pts = local @ T[:3, :3].T + T[:3, 3]
    on = points_on_robot(pts, KIN, q, gripper=g, opening_m=0.085, margin_m=0.005)
    assert on.tolist() == [True, True, False]
    # opening unknown: the fingers' whole travel counts, what they hold included
    on = points_on_robot(pts, KIN, q, gripper=g, margin_m=0.005)
    assert on.tolist() == [True, True, True]
    below_the_tips = T[:3, :3] @ [0.0, 0.0, g.tcp_offset_m + 0.04] + T[:3, 3]
    assert not points_on_robot(below_the_tips[None], KIN, q, gripper=g, margin_m=0.005).any()
