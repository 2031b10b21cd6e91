"""The project URDF: xacro expansion, real URDF parsers, and FK against core.kinematics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xacro
import yourdfpy
from urdf_parser_py import urdf as urdf_parser

from spatialbot_ros.core.kinematics import JOINT_NAMES, GripperGeometry, URKinematics

URDF_DIR = Path(__file__).resolve().parents[2] / "urdf"
XACRO_PATH = URDF_DIR / "spatialbot_ur5.urdf.xacro"
EXPANDED_PATH = URDF_DIR / "spatialbot_ur5.urdf"

CAMERA_FRAMES = (
    "camera_link",
    "camera_color_frame",
    "camera_color_optical_frame",
    "camera_depth_frame",
    "camera_depth_optical_frame",
    "camera_aligned_depth_to_color_frame",
)


def expand(**args: str) -> str:
    """Expand the xacro with the given arguments, like `xacro file.xacro name:=value`."""
    doc = xacro.process_file(str(XACRO_PATH), mappings=dict(args))
    return str(doc.toprettyxml(indent="  "))


def _without_banner(text: str) -> str:
    # xacro's banner names the input path as given on its command line; the rest must match
    return re.sub(r"<!-- =+ -->\n<!-- \|.*?\n<!-- \|.*?\n<!-- =+ -->\n", "", text, count=1)


def load(text: str, tmp_path: Path) -> yourdfpy.URDF:
    """Parse with yourdfpy (no meshes: the model is primitives only)."""
    path = tmp_path / "robot.urdf"
    path.write_text(text)
    return yourdfpy.URDF.load(str(path), build_scene_graph=True, load_meshes=False)


def test_shipped_urdf_is_the_default_expansion() -> None:
    """urdf/spatialbot_ur5.urdf must be regenerated whenever the xacro changes."""
    shipped = EXPANDED_PATH.read_text()
    assert _without_banner(shipped).strip() == _without_banner(expand()).strip(), (
        "regenerate: xacro urdf/spatialbot_ur5.urdf.xacro -o urdf/spatialbot_ur5.urdf"
    )


@pytest.mark.parametrize("ur_type", ["ur5", "ur5e"])
def test_chain_base_link_to_tool0_matches_dh_fk(ur_type: str, tmp_path: Path) -> None:
    robot = load(expand(ur_type=ur_type), tmp_path)
    kin = URKinematics(ur_type)
    rng = np.random.default_rng(7)
    q_all = rng.uniform(-2 * np.pi, 2 * np.pi, size=(200, 6))
    q_all[:, 2] = rng.uniform(-np.pi, np.pi, size=200)
    worst = 0.0
    for q in q_all:
        robot.update_cfg({**dict(zip(JOINT_NAMES, q, strict=True)), "gripper_left_finger_joint": 0})
        T_urdf = robot.get_transform("tool0", "base_link")
        worst = max(worst, float(np.abs(T_urdf - kin.fk_matrix(q)).max()))
    assert worst < 1e-9


def test_base_frame_is_base_link_turned_by_pi(tmp_path: Path) -> None:
    robot = load(expand(), tmp_path)
    T = robot.get_transform("base", "base_link")
    np.testing.assert_allclose(T, np.diag([-1.0, -1.0, 1.0, 1.0]), atol=1e-12)


def test_parsers_agree_on_structure_and_limits(tmp_path: Path) -> None:
    text = expand()
    robot = urdf_parser.URDF.from_xml_string(text)
    assert robot.get_root() == "base_link"
    chain = robot.get_chain("base_link", "tool0", links=False)
    assert [j for j in chain if j in JOINT_NAMES] == list(JOINT_NAMES)
    joints = {j.name: j for j in robot.joints}
    assert joints["elbow_joint"].limit.upper == pytest.approx(np.pi)
    assert joints["shoulder_pan_joint"].limit.upper == pytest.approx(2 * np.pi)
    assert joints["wrist_3_joint"].limit.effort == pytest.approx(28.0)
    assert joints["gripper_right_finger_joint"].mimic.joint == "gripper_left_finger_joint"
    links = {link.name: link for link in robot.links}
    for name in (
        "shoulder_link",
        "upper_arm_link",
        "forearm_link",
        "wrist_1_link",
        "wrist_2_link",
        "wrist_3_link",
        "gripper_left_finger",
        "gripper_right_finger",
    ):
        assert links[name].inertial is not None, name
        assert links[name].inertial.mass > 0, name
        assert links[name].collisions, name
    assert len(load(text, tmp_path).robot.links) == len(robot.links)


def test_gripper_frames_match_gripper_geometry(tmp_path: Path) -> None:
    robot = load(expand(), tmp_path)
    geo = GripperGeometry()
    T_tcp = robot.get_transform("tool_tcp", "tool0")
    np.testing.assert_allclose(T_tcp, geo.T_tool0_tcp.matrix, atol=1e-12)
    for closing in (0.0, 0.01, 0.0425):
        robot.update_cfg({"gripper_left_finger_joint": closing})
        opening = geo.max_opening_m - 2 * closing
        left = robot.get_transform("gripper_left_fingertip", "tool0")[:3, 3]
        right = robot.get_transform("gripper_right_fingertip", "tool0")[:3, 3]
        np.testing.assert_allclose(
            np.stack([left, right]), geo.fingertip_offsets_tool0_m(opening), atol=1e-12
        )


def test_camera_frames_named_as_realsense_ros(tmp_path: Path) -> None:
    robot = load(expand(), tmp_path)
    names = set(robot.link_map)
    assert set(CAMERA_FRAMES) <= names
    # optical frame: z forward (camera_link x), x right (camera_link -y), y down (camera_link -z)
    T = robot.get_transform("camera_color_optical_frame", "camera_link")
    np.testing.assert_allclose(T[:3, :3], [[0, 0, 1], [-1, 0, 0], [0, -1, 0]], atol=1e-12)
    np.testing.assert_allclose(T[:3, 3], [0.0, 0.015, 0.0], atol=1e-12)
    # with the real camera node publishing them, only camera_link stays in the URDF
    bare = set(load(expand(use_nominal_extrinsics="false"), tmp_path).link_map)
    assert "camera_link" in bare
    assert "camera_color_optical_frame" not in bare


def test_camera_mount_args(tmp_path: Path) -> None:
    robot = load(
        expand(camera_mount="eye_to_hand", camera_xyz="0.9 0.1 0.6", camera_rpy="0 0.5 3.0"),
        tmp_path,
    )
    T = robot.get_transform("camera_link", "base_link")
    np.testing.assert_allclose(T[:3, 3], [0.9, 0.1, 0.6], atol=1e-12)
    hand = load(expand(camera_mount="eye_in_hand", camera_xyz="0 -0.07 0.02"), tmp_path)
    q = np.array([0.3, -1.2, 1.1, -1.4, -1.5, 0.2])
    hand.update_cfg(dict(zip(JOINT_NAMES, q, strict=True)))
    T_tool0_cam = hand.get_transform("camera_link", "tool0")
    np.testing.assert_allclose(T_tool0_cam[:3, 3], [0.0, -0.07, 0.02], atol=1e-12)
    T_base_cam = hand.get_transform("camera_link", "base_link")
    np.testing.assert_allclose(T_base_cam, URKinematics().fk_matrix(q) @ T_tool0_cam, atol=1e-9)


def test_bad_args_fail_loudly() -> None:
    with pytest.raises(Exception, match="ur_type"):
        expand(ur_type="ur9")
    with pytest.raises(Exception, match="camera_mount"):
        expand(camera_mount="on_the_ceiling")


def test_mujoco_compiles_and_simulates_the_urdf(tmp_path: Path) -> None:
    import mujoco

    path = tmp_path / "robot.urdf"
    path.write_text(expand(ur_type="ur5e"))
    model = mujoco.MjModel.from_xml_path(str(path))
    names = [model.joint(i).name for i in range(model.njnt)]
    assert names[:6] == list(JOINT_NAMES)
    assert {"gripper_left_finger_joint", "gripper_right_finger_joint"} <= set(names)
    assert all(model.body_mass[1:] > 0)  # every moving body has an inertial
    data = mujoco.MjData(model)
    data.qpos[:6] = [0.3, -1.5, 1.4, -1.5, -1.6, 0.0]
    for _ in range(200):
        mujoco.mj_step(model, data)
    assert np.all(np.isfinite(data.qpos))
