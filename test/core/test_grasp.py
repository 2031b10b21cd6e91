"""Grasp synthesis: strategies, pose geometry, IK consistency, refusals, hand-eye, points."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spatialbot_ros.core.camera_model import project_points
from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.grasp import (
    GraspConfig,
    GraspError,
    GraspPlan,
    GraspRefusal,
    HandEye,
    object_points_base,
    plan_grasp,
)
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.core.safety import SafetyLimits, check_pose
from spatialbot_ros.core.transforms import RigidTransform

HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
KIN = URKinematics()


def cup_points(
    center_xy: tuple[float, float],
    radius_bottom_m: float,
    height_m: float,
    radius_top_m: float | None = None,
    *,
    n: int = 1500,
    seed: int = 0,
    table_z: float = 0.0,
) -> np.ndarray:
    """Points on a (possibly tapered) cup's wall, base_link, as a depth view would give."""
    rng = np.random.default_rng(seed)
    r_top = radius_bottom_m if radius_top_m is None else radius_top_m
    th = rng.uniform(0, 2 * np.pi, n)
    z = rng.uniform(0, height_m, n)
    r = radius_bottom_m + (r_top - radius_bottom_m) * z / height_m
    pts = np.column_stack((center_xy[0] + r * np.cos(th), center_xy[1] + r * np.sin(th), z))
    pts[:, 2] += table_z
    return pts + rng.normal(0, 0.001, pts.shape)


def plan(points: np.ndarray, **kwargs: object) -> GraspPlan | GraspRefusal:
    safety = kwargs.pop("safety", SafetyLimits())
    config = kwargs.pop("config", GraspConfig())
    return plan_grasp(points, config, KIN, safety, HOME)  # type: ignore[arg-type]


def test_top_down_grasp_of_a_narrow_cup() -> None:
    result = plan(cup_points((0.5, 0.1), 0.035, 0.09))
    assert isinstance(result, GraspPlan), result
    assert result.grasp_type == "top_down"
    z_axis = result.grasp.rotation[:, 2]
    np.testing.assert_allclose(z_axis, [0, 0, -1], atol=1e-9)
    # TCP on the cup's axis, grasp_depth below the top (cup top at 0.09)
    np.testing.assert_allclose(result.grasp_point_m[:2], [0.5, 0.1], atol=0.004)
    assert result.grasp_point_m[2] == pytest.approx(0.09 - 0.03, abs=0.005)
    tcp = result.grasp.matrix @ np.array([0, 0, result.tcp_offset_m, 1.0])
    np.testing.assert_allclose(tcp[:3], result.grasp_point_m, atol=1e-12)
    # opening clears the 70 mm body, within the gripper's 85 mm
    assert 0.072 <= result.opening_m <= 0.085
    # pre-grasp straight above, lift straight up
    np.testing.assert_allclose(
        result.pre_grasp.translation_m - result.grasp.translation_m, [0, 0, 0.10], atol=1e-12
    )
    np.testing.assert_allclose(
        result.lift.translation_m - result.grasp.translation_m, [0, 0, 0.10], atol=1e-12
    )
    for _, T, q in result.waypoints():
        np.testing.assert_allclose(KIN.fk_matrix(q), T.matrix, atol=1e-9)
        assert check_pose(T, SafetyLimits()).ok
    # one IK branch: the straight moves are small joint motions
    assert np.abs(result.q_grasp - result.q_pre).max() < 0.6
    assert np.abs(result.q_lift - result.q_grasp).max() < 0.6


def test_closing_axis_follows_the_narrow_side() -> None:
    rng = np.random.default_rng(1)
    # an oval 60 x 120 mm object whose narrow side is along base_link y
    th = rng.uniform(0, 2 * np.pi, 1500)
    z = rng.uniform(0, 0.08, 1500)
    pts = np.column_stack((0.45 + 0.06 * np.cos(th), -0.1 + 0.03 * np.sin(th), z))
    result = plan(pts)
    assert isinstance(result, GraspPlan), result
    closing = result.grasp.rotation[:, 1]
    assert abs(closing[1]) == pytest.approx(1.0, abs=0.02)
    assert result.opening_m < 0.085


def test_wide_tapered_cup_gets_a_side_grasp() -> None:
    # 96 mm across the rim, 66 mm at mid height: too wide from above, fine from the side
    pts = cup_points((0.5, -0.05), 0.025, 0.10, radius_top_m=0.048)
    result = plan(pts)
    assert isinstance(result, GraspPlan), result
    assert result.grasp_type == "side"
    z_axis = result.grasp.rotation[:, 2]
    assert abs(z_axis[2]) < 1e-9  # horizontal approach
    radial = np.array([0.5, -0.05]) / np.linalg.norm([0.5, -0.05])
    assert float(z_axis[:2] @ radial) > 0.9  # pointing away from the robot, at the cup
    assert result.grasp_point_m[2] == pytest.approx(0.05, abs=0.01)


def test_wide_straight_cup_is_pinched_at_the_rim() -> None:
    pts = cup_points((0.5, 0.1), 0.05, 0.09)
    result = plan(pts)
    assert isinstance(result, GraspPlan), result
    assert result.grasp_type == "top_down_rim"
    # the rim point nearest the robot, pads astride the wall
    rim_dist = np.linalg.norm(result.grasp_point_m[:2] - [0.5, 0.1])
    assert rim_dist == pytest.approx(0.046, abs=0.006)
    assert np.linalg.norm(result.grasp_point_m[:2]) < np.linalg.norm([0.5, 0.1])
    assert result.opening_m == pytest.approx(0.035)


def test_top_down_unreachable_falls_back_to_side() -> None:
    # a low ceiling rules out the top-down pre-grasp (tool0 ~0.3 m up) but not a side grasp
    safety = SafetyLimits(workspace_max_m=(0.85, 0.85, 0.22))
    result = plan(cup_points((0.5, 0.1), 0.035, 0.09), safety=safety)
    assert isinstance(result, GraspPlan), result
    assert result.grasp_type == "side"
    forced = plan(
        cup_points((0.5, 0.1), 0.035, 0.09), safety=safety, config=GraspConfig(strategy="top_down")
    )
    assert isinstance(forced, GraspRefusal)
    assert "outside the workspace box" in " ".join(forced.details)


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        (cup_points((1.2, 0.0), 0.03, 0.09), "outside the workspace box"),
        (cup_points((0.8, 0.3), 0.03, 0.09), "max reach"),
        (cup_points((0.5, 0.1), 0.03, 0.05, table_z=1.0), "outside the workspace box"),
        (cup_points((0.5, 0.1), 0.03, 0.05, table_z=-0.1), "below the table"),
        (np.full((50, 3), np.nan), "NaN"),
        (np.zeros((3, 3)), "at least 10"),
        (np.zeros((10, 2)), "shape (N, 3)"),
    ],
)
def test_impossible_targets_are_refused(points: np.ndarray, fragment: str) -> None:
    result = plan(points)
    assert isinstance(result, GraspRefusal)
    assert fragment in result.reason
    assert json.loads(json.dumps(result.as_dict()))["refused"] is True


def test_a_few_nan_points_are_dropped_not_fatal() -> None:
    pts = cup_points((0.5, 0.1), 0.035, 0.09)
    pts[:20] = np.nan
    assert isinstance(plan(pts), GraspPlan)


def test_plan_as_dict_is_json_and_complete() -> None:
    result = plan(cup_points((0.45, -0.15), 0.033, 0.1))
    assert isinstance(result, GraspPlan)
    d = json.loads(json.dumps(result.as_dict()))
    assert d["frame_id"] == "base_link"
    assert d["tool_frame"] == "tool0"
    assert len(d["q_grasp"]) == 6
    assert d["joint_names"][0] == "shoulder_pan_joint"
    assert len(d["grasp"]["quat_xyzw"]) == 4
    assert 0.0 <= d["gripper_position"] <= 0.7929


def test_config_from_mapping() -> None:
    cfg = GraspConfig.from_mapping({"tcp_offset_m": 0.17, "lift_height_m": 0.2, "strategy": "side"})
    assert cfg.tcp_offset_m == 0.17
    assert cfg.gripper.tcp_offset_m == 0.17
    assert cfg.lift_height_m == 0.2
    with pytest.raises(GraspError, match="unknown grasp keys"):
        GraspConfig.from_mapping({"speed": 3})
    with pytest.raises(GraspError, match="strategy"):
        GraspConfig(strategy="sideways")  # type: ignore[arg-type]


def test_tcp_offset_moves_tool0_back() -> None:
    pts = cup_points((0.5, 0.1), 0.035, 0.09)
    a = plan(pts)
    b = plan(pts, config=GraspConfig.from_mapping({"tcp_offset_m": 0.2}))
    assert isinstance(a, GraspPlan)
    assert isinstance(b, GraspPlan)
    np.testing.assert_allclose(a.grasp_point_m, b.grasp_point_m, atol=1e-9)
    assert b.grasp.translation_m[2] - a.grasp.translation_m[2] == pytest.approx(0.05)


def test_hand_eye_eye_to_hand_and_eye_in_hand() -> None:
    still = HandEye.from_xyz_rpy("eye_to_hand", (1.0, 0.0, 0.5), (0.0, 0.6, math.pi))
    T = still.T_base_camera()
    assert (T.parent_frame, T.child_frame) == ("base_link", "camera_color_optical_frame")
    # the optical z axis looks back toward the robot and down
    assert T.rotation[0, 2] < -0.7
    assert T.rotation[2, 2] < -0.5
    wrist = HandEye.from_xyz_rpy(
        "eye_in_hand", (0.0, -0.075, 0.03), (0.0, -math.pi / 2, math.pi / 2)
    )
    q = np.array([0.2, -1.4, 1.5, -1.6, -1.5, 0.3])
    T_base_tool0 = KIN.fk(q)
    T_cam = wrist.T_base_camera(T_base_tool0)
    expected = T_base_tool0.matrix @ wrist.T_mount_camera.matrix
    expected = expected @ wrist.camera_to_optical.matrix  # type: ignore[union-attr]
    np.testing.assert_allclose(T_cam.matrix, expected, atol=1e-12)
    # the wrist camera's optical axis is tool0's z axis
    np.testing.assert_allclose(T_cam.rotation[:, 2], T_base_tool0.rotation[:, 2], atol=1e-9)
    with pytest.raises(GraspError, match="needs the current"):
        wrist.T_base_camera()
    with pytest.raises(TransformError, match="eye_in_hand calibration must be tool0"):
        HandEye("eye_in_hand", RigidTransform.identity("base_link"))


def _render_depth(
    points_base: np.ndarray, T_base_cam: RigidTransform, intr: CameraIntrinsics
) -> np.ndarray:
    """A z-buffered depth image (mm) of sampled surface points, table plane included."""
    depth = np.zeros((intr.height, intr.width))
    cam = T_base_cam.inverse().apply(points_base)
    uv = np.round(project_points(intr, cam)).astype(int)
    for (u, v), z in zip(uv, cam[:, 2], strict=True):
        if 0 <= u < intr.width and 0 <= v < intr.height and (depth[v, u] == 0 or z < depth[v, u]):
            depth[v, u] = z
    return np.round(depth * 1000).astype(np.uint16)


def test_object_points_base_recovers_the_cup_and_drops_the_table() -> None:
    intr = CameraIntrinsics(320, 240, 300.0, 300.0, 160.0, 120.0)
    T = HandEye.from_xyz_rpy("eye_to_hand", (1.0, 0.0, 0.5), (0.0, 0.6, math.pi)).T_base_camera()
    cup = cup_points((0.5, 0.0), 0.035, 0.09, n=40000, seed=3)
    rng = np.random.default_rng(4)
    table = np.column_stack(
        (rng.uniform(0.3, 0.7, 40000), rng.uniform(-0.2, 0.2, 40000), np.zeros(40000))
    )
    depth = _render_depth(np.vstack((cup, table)), T, intr)
    uv = project_points(intr, T.inverse().apply(cup))
    box = (uv[:, 0].min() - 3, uv[:, 1].min() - 3, uv[:, 0].max() + 3, uv[:, 1].max() + 3)
    pts = object_points_base(depth, intr, box, T)
    assert pts.shape[0] > 100
    assert pts[:, 2].min() > 0.008  # no table points
    np.testing.assert_allclose(np.median(pts[:, :2], axis=0), [0.5, 0.0], atol=0.04)
    result = plan(pts)
    assert isinstance(result, GraspPlan), result
    np.testing.assert_allclose(result.grasp_point_m[:2], [0.5, 0.0], atol=0.012)


@pytest.mark.parametrize("wrist_3", [0.0, 2.8, -2.8, 5.0])
def test_mirror_image_keeps_wrist_3_near_its_current_angle(wrist_3: float) -> None:
    q0 = HOME.copy()
    q0[5] = wrist_3
    result = plan_grasp(cup_points((0.5, 0.1), 0.035, 0.09), GraspConfig(), KIN, SafetyLimits(), q0)
    assert isinstance(result, GraspPlan), result
    assert abs(result.q_pre[5] - wrist_3) <= np.pi / 2 + 1e-9
    for _, T, q in result.waypoints():
        np.testing.assert_allclose(KIN.fk_matrix(q), T.matrix, atol=1e-9)


# the sim's parked pose: arm folded to the side, out of the camera's view
PARKED = np.array([1.9, -1.9, 1.9, -1.57, -1.57, 0.0])


@pytest.mark.parametrize(
    "cup",
    [  # (x, y, radius, height) of cups the planner reached shoulder-flipped from PARKED
        (0.388, -0.21, 0.033, 0.093),
        (0.471, -0.124, 0.029, 0.089),
        (0.405, -0.035, 0.032, 0.079),
        (0.429, -0.059, 0.026, 0.085),
        (0.385, -0.138, 0.028, 0.088),
        (0.444, -0.151, 0.034, 0.071),
    ],
)
def test_planning_from_a_parked_pose_keeps_the_arm_branch_and_a_clear_path(
    cup: tuple[float, float, float, float],
) -> None:
    from spatialbot_ros.core.safety import check_joint_sweep

    x, y, r, h = cup
    result = plan_grasp(cup_points((x, y), r, h), GraspConfig(), KIN, SafetyLimits(), PARKED)
    assert isinstance(result, GraspPlan), result
    here = KIN.configuration(PARKED)
    for q in (result.q_pre, result.q_grasp, result.q_lift):
        assert KIN.configuration(q).shoulder == here.shoulder
        assert KIN.configuration(q).elbow_up
    qs = np.stack([result.q_pre, result.q_grasp, result.q_lift])
    sweep = check_joint_sweep(qs, SafetyLimits(), KIN, GraspConfig().gripper, q_start_rad=PARKED)
    assert sweep.ok, sweep.message()


def test_every_plan_sweeps_clear_from_random_starting_states() -> None:
    from spatialbot_ros.core.safety import check_joint_sweep

    rng = np.random.default_rng(11)
    safety, config = SafetyLimits(), GraspConfig()
    planned = 0
    for _ in range(40):
        # a plausible starting state: somewhere around the base, elbow up, tool above the table
        while True:
            q0 = np.array(
                [
                    rng.uniform(-np.pi, np.pi),
                    rng.uniform(-2.6, -0.8),
                    rng.uniform(0.6, 2.4),
                    rng.uniform(-2.5, -0.8),
                    rng.uniform(-2.0, -1.1),
                    rng.uniform(-1.0, 1.0),
                ]
            )
            branch = KIN.configuration(q0)
            if branch.elbow_up and check_joint_sweep(q0, safety, KIN, config.gripper).ok:
                break
        az = rng.uniform(-1.2, 1.2)
        dist = rng.uniform(0.35, 0.7)
        pts = cup_points((dist * math.cos(az), dist * math.sin(az)), 0.033, 0.09, n=600)
        result = plan_grasp(pts, config, KIN, safety, q0)
        if isinstance(result, GraspRefusal):
            continue
        planned += 1
        qs = np.stack([result.q_pre, result.q_grasp, result.q_lift])
        sweep = check_joint_sweep(qs, safety, KIN, config.gripper, q_start_rad=q0)
        assert sweep.ok, (q0.tolist(), sweep.message())
        assert KIN.configuration(result.q_pre).shoulder == KIN.configuration(q0).shoulder
    assert planned >= 35
