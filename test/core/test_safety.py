"""Safety checks: workspace box, table, reach, joint jumps, scaling caps, NaN and frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialbot_ros.core.kinematics import GripperGeometry, JointLimits, URKinematics
from spatialbot_ros.core.safety import (
    SafetyError,
    SafetyLimits,
    SafetyVerdict,
    check_joint_path,
    check_joint_sweep,
    check_pose,
    check_scaling,
    gripper_points_base_m,
)
from spatialbot_ros.core.transforms import RigidTransform

DOWN = (math.pi, 0.0, 0.0)  # tool0 z pointing down


def pose(xyz: tuple[float, float, float], rpy: tuple[float, float, float] = DOWN) -> RigidTransform:
    return RigidTransform.from_xyz_rpy(xyz, rpy, "base_link", "tool0")


def test_pose_in_front_of_robot_is_safe() -> None:
    verdict = check_pose(pose((0.5, 0.1, 0.3)), SafetyLimits(), GripperGeometry())
    assert verdict.ok, verdict.message()
    assert verdict.reasons == ()


@pytest.mark.parametrize(
    ("xyz", "fragment"),
    [
        ((0.95, 0.0, 0.3), "outside the workspace box"),
        ((0.5, 0.1, 0.12), "below the table"),  # the pads hang 0.17 m below tool0
        ((0.8, 0.3, 0.3), "max reach"),
        ((0.05, 0.05, 0.4), "base axis"),
    ],
)
def test_unsafe_poses_name_the_reason(xyz: tuple[float, float, float], fragment: str) -> None:
    verdict = check_pose(pose(xyz), SafetyLimits(), GripperGeometry())
    assert not verdict.ok
    assert fragment in verdict.message()


def test_table_check_uses_the_pads_not_just_tool0() -> None:
    limits = SafetyLimits()
    T = pose((0.5, 0.1, 0.16))
    assert check_pose(T, limits).ok  # tool0 alone is well above the table
    lowest = gripper_points_base_m(T.matrix, GripperGeometry())[:, 2].min()
    assert lowest == pytest.approx(0.16 - 0.15 - 0.02)
    assert not check_pose(T, limits, GripperGeometry()).ok


def test_raised_table_moves_the_limit() -> None:
    T = pose((0.5, 0.1, 0.3))
    assert check_pose(T, SafetyLimits(table_height_m=0.0), GripperGeometry()).ok
    verdict = check_pose(T, SafetyLimits(table_height_m=0.2), GripperGeometry())
    assert "below the table limit z=0.205" in verdict.message()


def test_nan_wrong_frames_and_non_rotations_are_refused() -> None:
    limits = SafetyLimits()
    m = pose((0.5, 0.1, 0.3)).matrix.copy()
    m[0, 3] = np.nan
    assert "NaN" in check_pose(m, limits).message()
    assert "4x4" in check_pose(np.eye(3), limits).message()
    assert "base_link<-tool0" in check_pose(RigidTransform.identity("base_link"), limits).message()
    scaled = pose((0.5, 0.1, 0.3)).matrix.copy()
    scaled[:3, :3] *= 2.0
    assert "rotation" in check_pose(scaled, limits).message()
    mirrored = pose((0.5, 0.1, 0.3)).matrix.copy()
    mirrored[:3, 0] *= -1.0
    assert "rotation" in check_pose(mirrored, limits).message()


def test_joint_path_jump_limits_and_nan() -> None:
    limits = SafetyLimits(max_joint_step_rad=0.5)
    q0 = np.array([0.0, -1.5, 1.5, -1.5, -1.5, 0.0])
    smooth = np.stack([q0, q0 + 0.2, q0 + 0.4])
    assert check_joint_path(smooth, limits).ok
    jumpy = np.stack([q0, q0 + np.array([0, 0, 0, 0, 0, 1.0])])
    verdict = check_joint_path(jumpy, limits)
    assert not verdict.ok
    assert "joint 5 jumps 1.000 rad between waypoints 0 and 1" in verdict.message()
    # the jump from the start state counts when a start is given
    assert not check_joint_path(q0 + 0.9, limits, q_start_rad=q0).ok
    outside = q0.copy()
    outside[2] = 3.5  # elbow beyond ±π
    assert "joint limits" in check_joint_path(outside, limits).message()
    tight = JointLimits(lower_rad=(-1.0,) * 6, upper_rad=(1.0,) * 6)
    assert not check_joint_path(np.zeros(6) + 1.5, limits, tight).ok
    assert "NaN" in check_joint_path(np.full(6, np.nan), limits).message()
    assert "shape" in check_joint_path(np.zeros((2, 5)), limits).message()


def test_scaling_caps() -> None:
    limits = SafetyLimits(max_velocity_scaling=0.3, max_acceleration_scaling=0.2)
    assert check_scaling(0.3, 0.2, limits).ok
    verdict = check_scaling(0.5, 0.0, limits)
    assert len(verdict.reasons) == 2
    assert not check_scaling(float("nan"), 0.1, limits).ok


def test_limits_validation_and_mapping() -> None:
    limits = SafetyLimits.from_mapping({"workspace_max_m": [0.8, 0.8, 0.7], "table_height_m": 0.1})
    assert limits.workspace_max_m == (0.8, 0.8, 0.7)
    assert limits.min_z_m == pytest.approx(0.105)
    with pytest.raises(SafetyError, match="unknown safety keys"):
        SafetyLimits.from_mapping({"speed": 1})
    with pytest.raises(SafetyError, match="workspace_min_m must be <"):
        SafetyLimits(workspace_min_m=(1.0, 0.0, 0.0))
    with pytest.raises(SafetyError, match="max_velocity_scaling"):
        SafetyLimits(max_velocity_scaling=1.5)


def test_verdicts_combine_and_raise() -> None:
    both = SafetyVerdict(True) + SafetyVerdict(False, ("a",)) + SafetyVerdict(False, ("b",))
    assert not both.ok
    assert both.message() == "a; b"
    with pytest.raises(SafetyError, match="a; b"):
        both.raise_if_unsafe()
    SafetyVerdict(True).raise_if_unsafe()


KIN = URKinematics("ur5")
# the sim's parked pose (arm folded out of the camera's view) and the shoulder-flipped IK
# branch the planner used to pick from it for a cup at (0.405, -0.035)
PARKED = np.array([1.9, -1.9, 1.9, -1.57, -1.57, 0.0])
FLIPPED = np.array([3.33, -3.37, 1.61, 0.18, -1.57, 1.31])


def _lowest_pad_z(q: np.ndarray) -> float:
    return float(gripper_points_base_m(KIN.fk_matrix(q), GripperGeometry())[:, 2].min())


def test_sweep_catches_a_shoulder_flip_that_both_ends_pass() -> None:
    limits = SafetyLimits()
    g = GripperGeometry()
    # both ends are fine poses on their own
    assert check_pose(KIN.fk(PARKED), limits, g).ok
    assert check_pose(KIN.fk(FLIPPED), limits, g).ok
    verdict = check_joint_sweep(FLIPPED, limits, KIN, g, q_start_rad=PARKED)
    assert not verdict.ok
    assert "arm link below the table top" in verdict.message()
    assert "upper_arm" in verdict.message()
    # the same pose reached on the parked pose's own branch sweeps clear
    same_branch = KIN.ik_all_matrix(KIN.fk_matrix(FLIPPED))
    kept = [q for q in same_branch if KIN.configuration(q) == KIN.configuration(PARKED)]
    assert len(kept) == 1
    assert check_joint_sweep(kept[0], limits, KIN, g, q_start_rad=PARKED).ok


def _wrist_swing() -> tuple[np.ndarray, np.ndarray, float, float]:
    """Wrist_1 swinging the gripper through its lowest point half way: ends high, middle low."""
    q_a = np.array([0.0, -1.2, 1.6, -1.57 - 0.8, -1.57, 0.0])
    q_b = q_a.copy()
    q_b[3] = -1.57 + 0.8
    ends = min(_lowest_pad_z(q_a), _lowest_pad_z(q_b))
    middle = _lowest_pad_z(0.5 * (q_a + q_b))
    return q_a, q_b, ends, middle


def test_sweep_checks_between_the_waypoints_at_the_sampling_step() -> None:
    q_a, q_b, ends, middle = _wrist_swing()
    assert middle < ends - 0.05
    # a table between the two heights: both waypoints pass, the move between them does not
    table = 0.5 * (ends + middle)
    limits = SafetyLimits(table_height_m=table, min_height_above_table_m=0.0, max_joint_step_rad=2)
    g = GripperGeometry()
    for q in (q_a, q_b):
        assert check_pose(KIN.fk(q), limits, g).ok
    assert check_joint_path(np.stack([q_a, q_b]), limits).ok  # waypoints only: blind to it
    verdict = check_joint_sweep(np.stack([q_a, q_b]), limits, KIN, g)
    assert "below the table limit" in verdict.message()
    assert "at 0% of the way" not in verdict.message()
    assert "arm link" not in verdict.message()  # the base under a raised table is no violation
    # a dip only a few hundredths of a radian wide is still caught at the default step ...
    narrow = SafetyLimits(
        table_height_m=middle + 1e-4, min_height_above_table_m=0.0, max_joint_step_rad=2
    )
    assert not check_joint_sweep(np.stack([q_a, q_b]), narrow, KIN, g).ok
    # ... and missed when the sampling step is coarser than the dip
    coarse = SafetyLimits(
        table_height_m=middle + 1e-4,
        min_height_above_table_m=0.0,
        max_joint_step_rad=2,
        sweep_step_rad=0.7,
    )
    assert check_joint_sweep(np.stack([q_a, q_b]), coarse, KIN, g).ok


def test_sweep_may_leave_a_violation_but_never_enter_one() -> None:
    q_a, q_b, ends, middle = _wrist_swing()
    limits = SafetyLimits(
        table_height_m=0.5 * (ends + middle), min_height_above_table_m=0.0, max_joint_step_rad=2
    )
    g = GripperGeometry()
    q_mid = 0.5 * (q_a + q_b)
    # starting low (in violation) and rising out of it is allowed ...
    assert check_joint_sweep(q_b, limits, KIN, g, q_start_rad=q_mid).ok
    # ... going down into it is not, and staying in it neither
    assert not check_joint_sweep(q_mid, limits, KIN, g, q_start_rad=q_a).ok
    assert not check_joint_sweep(q_mid + 0.01, limits, KIN, g, q_start_rad=q_mid).ok
    # leaving and re-entering is caught
    assert not check_joint_sweep(np.stack([q_b, q_mid]), limits, KIN, g, q_start_rad=q_mid).ok


def test_sweep_rejects_bad_input_and_checks_box_and_column() -> None:
    limits = SafetyLimits()
    assert "shape" in check_joint_sweep(np.zeros((2, 5)), limits, KIN).message()
    assert "NaN" in check_joint_sweep(np.full(6, np.nan), limits, KIN).message()
    home = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    # turning the base by pi keeps the tool at its radius: fine; a low ceiling is not
    turned = home + np.array([np.pi, 0, 0, 0, 0, 0])
    assert check_joint_sweep(turned, limits, KIN, GripperGeometry(), q_start_rad=home).ok
    low = SafetyLimits(workspace_max_m=(0.85, 0.85, 0.3))
    verdict = check_joint_sweep(turned, low, KIN, GripperGeometry(), q_start_rad=home)
    assert "outside the workspace box" in verdict.message()
    wide = SafetyLimits(min_radius_m=0.6)
    assert "of the base axis" in check_joint_sweep(turned, wide, KIN, q_start_rad=home).message()
    with pytest.raises(SafetyError, match="sweep_step_rad"):
        SafetyLimits(sweep_step_rad=0.0)
