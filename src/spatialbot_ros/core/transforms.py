"""Rigid transforms with explicit frames: T_parent_child maps child-frame points to parent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.errors import TransformError

__all__ = ["RigidTransform"]


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """4x4 homogeneous transform T_parent_child: p_parent = T @ p_child."""

    matrix: npt.NDArray[np.float64]
    parent_frame: str
    child_frame: str
    _checked: bool = field(default=False, repr=False)

    # numpy must not try `ndarray.__rmatmul__` on `T @ points`: a TypeError pointing at
    # .apply() is clearer than numpy's gufunc dimension error.
    __array_ufunc__ = None

    def __post_init__(self) -> None:
        """Validate that the matrix is a finite proper rigid transform."""
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise TransformError(f"transform must be a finite 4x4 matrix, got shape {m.shape}")
        r = m[:3, :3]
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0.0:
            raise TransformError(
                f"{self.parent_frame}<-{self.child_frame}: rotation is not orthonormal with det +1"
            )
        if not np.allclose(m[3], (0.0, 0.0, 0.0, 1.0)):
            raise TransformError("last row of a rigid transform must be [0, 0, 0, 1]")
        object.__setattr__(self, "matrix", m)

    @classmethod
    def identity(cls, frame: str) -> RigidTransform:
        """The identity from `frame` to itself."""
        return cls(np.eye(4), frame, frame)

    @classmethod
    def from_xyz_quat(
        cls, xyz_m: npt.ArrayLike, quat_xyzw: npt.ArrayLike, parent_frame: str, child_frame: str
    ) -> RigidTransform:
        """From a translation (m) and a quaternion (x, y, z, w), as in geometry_msgs."""
        q = np.asarray(quat_xyzw, dtype=np.float64)
        if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-9:
            raise TransformError(f"quaternion must be 4 finite values, non-zero, got {q}")
        m = np.eye(4)
        m[:3, :3] = Rotation.from_quat(q).as_matrix()
        m[:3, 3] = np.asarray(xyz_m, dtype=np.float64).reshape(3)
        return cls(m, parent_frame, child_frame)

    @classmethod
    def from_xyz_rpy(
        cls, xyz_m: npt.ArrayLike, rpy_rad: npt.ArrayLike, parent_frame: str, child_frame: str
    ) -> RigidTransform:
        """From a translation (m) and fixed-axis roll, pitch, yaw (rad), as in URDF and tf2."""
        m = np.eye(4)
        m[:3, :3] = Rotation.from_euler("xyz", np.asarray(rpy_rad, dtype=np.float64)).as_matrix()
        m[:3, 3] = np.asarray(xyz_m, dtype=np.float64).reshape(3)
        return cls(m, parent_frame, child_frame)

    @classmethod
    def from_ros_transform(cls, msg: Any) -> RigidTransform:
        """From a geometry_msgs/TransformStamped-like object (header.frame_id, child_frame_id)."""
        t, r = msg.transform.translation, msg.transform.rotation
        return cls.from_xyz_quat(
            (t.x, t.y, t.z), (r.x, r.y, r.z, r.w), str(msg.header.frame_id), str(msg.child_frame_id)
        )

    @property
    def rotation(self) -> npt.NDArray[np.float64]:
        """3x3 rotation block."""
        return self.matrix[:3, :3]

    @property
    def translation_m(self) -> npt.NDArray[np.float64]:
        """Translation in metres."""
        return self.matrix[:3, 3]

    def to_xyz_quat(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Translation (m) and quaternion (x, y, z, w)."""
        return self.translation_m.copy(), Rotation.from_matrix(self.rotation).as_quat()

    def inverse(self) -> RigidTransform:
        """T_child_parent."""
        m = np.eye(4)
        m[:3, :3] = self.rotation.T
        m[:3, 3] = -self.rotation.T @ self.translation_m
        return RigidTransform(m, self.child_frame, self.parent_frame)

    def __matmul__(self, other: RigidTransform) -> RigidTransform:
        """Compose T_a_b @ T_b_c = T_a_c; frames must chain."""
        if not isinstance(other, RigidTransform):
            return NotImplemented
        if self.child_frame != other.parent_frame:
            raise TransformError(
                f"cannot compose {self.parent_frame}<-{self.child_frame} with "
                f"{other.parent_frame}<-{other.child_frame}: frames do not chain"
            )
        return RigidTransform(self.matrix @ other.matrix, self.parent_frame, other.child_frame)

    def apply(self, points_child: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map points (N, 3) or (3,) from the child frame into the parent frame."""
        p = np.asarray(points_child, dtype=np.float64)
        out = p.reshape(-1, 3) @ self.rotation.T + self.translation_m
        return np.asarray(out, dtype=np.float64).reshape(p.shape)
