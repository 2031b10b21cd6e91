"""Rigid transforms: composition, inversion and frame chaining on seeded random poses."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.transforms import RigidTransform


def random_transform(seed: int, parent: str, child: str) -> RigidTransform:
    """A seeded random rotation and translation."""
    rng = np.random.default_rng(seed)
    m = np.eye(4)
    m[:3, :3] = Rotation.random(random_state=seed).as_matrix()
    m[:3, 3] = rng.uniform(-2.0, 2.0, 3)
    return RigidTransform(m, parent, child)


@pytest.mark.parametrize("seed", range(5))
def test_compose_equals_applying_in_sequence(seed: int) -> None:
    t_base_tool = random_transform(seed, "base_link", "tool0")
    t_tool_cam = random_transform(seed + 100, "tool0", "camera_link")
    points = np.random.default_rng(seed).normal(size=(20, 3))
    t_base_cam = t_base_tool @ t_tool_cam
    assert (t_base_cam.parent_frame, t_base_cam.child_frame) == ("base_link", "camera_link")
    np.testing.assert_allclose(
        t_base_cam.apply(points), t_base_tool.apply(t_tool_cam.apply(points)), atol=1e-12
    )


@pytest.mark.parametrize("seed", range(5))
def test_inverse_undoes_and_swaps_frames(seed: int) -> None:
    t = random_transform(seed, "base_link", "camera_color_optical_frame")
    inv = t.inverse()
    assert (inv.parent_frame, inv.child_frame) == ("camera_color_optical_frame", "base_link")
    np.testing.assert_allclose((t @ inv).matrix, np.eye(4), atol=1e-12)
    np.testing.assert_allclose((inv @ t).matrix, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(inv.matrix, np.linalg.inv(t.matrix), atol=1e-12)


def test_composition_is_associative() -> None:
    a = random_transform(1, "a", "b")
    b = random_transform(2, "b", "c")
    c = random_transform(3, "c", "d")
    np.testing.assert_allclose(((a @ b) @ c).matrix, (a @ (b @ c)).matrix, atol=1e-12)


def test_frames_that_do_not_chain_are_refused() -> None:
    a = random_transform(1, "base_link", "tool0")
    b = random_transform(2, "camera_link", "camera_color_optical_frame")
    with pytest.raises(TransformError, match="base_link<-tool0 with camera_link<-"):
        a @ b
    with pytest.raises(TransformError, match="do not chain"):
        a @ a


def test_matmul_with_other_types_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        random_transform(1, "a", "b") @ np.eye(4)  # type: ignore[operator]


def test_apply_keeps_the_input_shape() -> None:
    t = RigidTransform.from_xyz_rpy([1.0, 2.0, 3.0], [0.0, 0.0, np.pi / 2], "a", "b")
    np.testing.assert_allclose(t.apply([1.0, 0.0, 0.0]), [1.0, 3.0, 3.0], atol=1e-12)
    assert t.apply(np.zeros((4, 3))).shape == (4, 3)


def test_rpy_is_fixed_axis_roll_pitch_yaw() -> None:
    roll, pitch, yaw = 0.3, -0.7, 1.9
    rx = Rotation.from_rotvec([roll, 0, 0]).as_matrix()
    ry = Rotation.from_rotvec([0, pitch, 0]).as_matrix()
    rz = Rotation.from_rotvec([0, 0, yaw]).as_matrix()
    t = RigidTransform.from_xyz_rpy([0, 0, 0], [roll, pitch, yaw], "a", "b")
    np.testing.assert_allclose(t.rotation, rz @ ry @ rx, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_xyz_quat_round_trip(seed: int) -> None:
    t = random_transform(seed, "a", "b")
    xyz, quat = t.to_xyz_quat()
    back = RigidTransform.from_xyz_quat(xyz, quat, "a", "b")
    np.testing.assert_allclose(back.matrix, t.matrix, atol=1e-12)
    assert np.isclose(np.linalg.norm(quat), 1.0)


def test_unnormalised_quaternion_is_normalised() -> None:
    t = RigidTransform.from_xyz_quat([0, 0, 0], [0, 0, 2.0, 2.0], "a", "b")
    expected = Rotation.from_rotvec([0, 0, np.pi / 2]).as_matrix()
    np.testing.assert_allclose(t.rotation, expected, atol=1e-12)


def test_from_ros_transform_message_fields() -> None:
    msg = SimpleNamespace(
        header=SimpleNamespace(frame_id="base_link"),
        child_frame_id="camera_link",
        transform=SimpleNamespace(
            translation=SimpleNamespace(x=0.1, y=0.2, z=0.3),
            rotation=SimpleNamespace(x=0.0, y=0.0, z=0.0, w=1.0),
        ),
    )
    t = RigidTransform.from_ros_transform(msg)
    assert (t.parent_frame, t.child_frame) == ("base_link", "camera_link")
    np.testing.assert_allclose(t.translation_m, [0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.eye(3), "4x4"),
        (np.full((4, 4), np.nan), "finite"),
        (np.diag([1.0, 1.0, 2.0, 1.0]), "orthonormal"),
        (np.diag([1.0, 1.0, -1.0, 1.0]), "det \\+1"),
        (np.vstack([np.eye(4)[:3], [0.0, 0.0, 1.0, 1.0]]), "last row"),
    ],
    ids=["3x3", "nan", "scaled", "reflection", "last-row"],
)
def test_non_rigid_matrices_are_refused(matrix: np.ndarray, match: str) -> None:
    with pytest.raises(TransformError, match=match):
        RigidTransform(matrix, "a", "b")


@pytest.mark.parametrize("quat", [[0, 0, 0, 0], [0, 0, np.nan, 1], [0, 0, 1]])
def test_bad_quaternions_are_refused(quat: list[float]) -> None:
    with pytest.raises(TransformError, match="quaternion"):
        RigidTransform.from_xyz_quat([0, 0, 0], quat, "a", "b")


def test_identity() -> None:
    t = RigidTransform.identity("tool0")
    assert (t.parent_frame, t.child_frame) == ("tool0", "tool0")
    np.testing.assert_array_equal(t.matrix, np.eye(4))
