"""The robot's own volume from FK: arm links as capsules, the gripper as boxes.

Sizes follow urdf/spatialbot_ur5.urdf.xacro (the arm tubes sit sideways from the DH arm plane
by `shoulder_offset_m` / `elbow_offset_m` along the joint axes).  Used where a check must know
where the arm *is*, not just where the tool is: the swept-path check of core.safety (no link
cuts into the table between waypoints) and removing the robot's pixels from a depth view of
the object (pipeline.grasp_executor's lift check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.contact import finger_boxes_tool0
from spatialbot_ros.core.kinematics import GripperGeometry, KinematicsError, URKinematics

__all__ = [
    "ARM_BODIES",
    "CAPSULE_NAMES",
    "ArmBody",
    "Capsules",
    "arm_capsules",
    "points_on_robot",
]

Mat = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ArmBody:
    """Radii (m) of the arm's link tubes and their sideways offsets from the DH arm plane."""

    shoulder_offset_m: float = 0.13585
    elbow_offset_m: float = 0.0165
    shoulder_radius_m: float = 0.06  # shoulder and upper-arm joint housings
    upper_arm_radius_m: float = 0.06
    elbow_radius_m: float = 0.05
    forearm_radius_m: float = 0.045  # tube 0.04, its wrist_1 end housing 0.045
    wrist_radius_m: float = 0.045
    wrist_3_radius_m: float = 0.0375

    def __post_init__(self) -> None:
        """Finite, non-negative sizes."""
        for name, value in self.__dict__.items():
            if not (math.isfinite(value) and value >= 0.0):
                raise KinematicsError(f"{name} must be finite and >= 0, got {value}")


ARM_BODIES: dict[str, ArmBody] = {
    "ur5": ArmBody(),
    "ur5e": ArmBody(shoulder_offset_m=0.138, elbow_offset_m=0.007),
}

CAPSULE_NAMES: tuple[str, ...] = (
    "shoulder",
    "upper_arm",
    "elbow",
    "forearm",
    "wrist_1",
    "wrist_2",
    "wrist_3",
)


@dataclass(frozen=True)
class Capsules:
    """Link capsules for N joint states: segment ends (N, K, 3) in base_link and radii (K,)."""

    start_m: Mat
    end_m: Mat
    radius_m: Mat
    names: tuple[str, ...] = CAPSULE_NAMES

    def lowest_z_m(self) -> Mat:
        """Lowest point of every capsule, (N, K)."""
        return np.minimum(self.start_m[..., 2], self.end_m[..., 2]) - self.radius_m

    def lowest_moving_z_m(self) -> Mat:
        """Like `lowest_z_m`, but only the parts that leave the base: (N, K), shoulder = +inf.

        The shoulder housing and the upper arm's shoulder end stay at the base's height
        whatever the joints do (below a table top the base is mounted under), so a table
        check looks at the upper arm's elbow end and every link after it.
        """
        low = self.lowest_z_m()
        low[..., 0] = np.inf
        low[..., 1] = self.end_m[..., 1, 2] - self.radius_m[1]
        return low


def arm_capsules(kinematics: URKinematics, frames: Mat, body: ArmBody | None = None) -> Capsules:
    """Capsules of the arm links (shoulder ... wrist_3) from `fk_frames_batch` output."""
    b = body or ARM_BODIES.get(kinematics.ur_type, ArmBody())
    origin = frames[:, :, :3, 3]  # (N, 6, 3): shoulder, elbow, wrist_1, wrist_2, wrist_3, tool0
    z1 = frames[:, 0, :3, 2]  # joints 2-4 are parallel: one sideways axis for the arm plane
    so = b.shoulder_offset_m * z1
    eo = b.elbow_offset_m * z1
    p1, p2, p3, p4, p5, p6 = (origin[:, i] for i in range(6))
    start = np.stack((p1, p1 + so, p2 + eo, p2 + eo, p3 + eo, p4, p5), axis=1)
    end = np.stack((p1 + so, p2 + so, p2 + so, p3 + eo, p4, p5, p6), axis=1)
    radius = np.array(
        (
            b.shoulder_radius_m,
            b.upper_arm_radius_m,
            b.elbow_radius_m,
            b.forearm_radius_m,
            b.wrist_radius_m,
            b.wrist_radius_m,
            b.wrist_3_radius_m,
        )
    )
    return Capsules(start, end, radius)


def _segment_distance(points: Mat, start: Mat, end: Mat) -> Mat:
    """Distance of points (M, 3) to segments (K, 3)->(K, 3), shape (M, K)."""
    seg = end - start
    length2 = np.maximum(np.einsum("kj,kj->k", seg, seg), 1e-12)
    rel = points[:, None, :] - start[None, :, :]
    t = np.clip(np.einsum("mkj,kj->mk", rel, seg) / length2, 0.0, 1.0)
    closest = start[None] + t[..., None] * seg[None]
    return np.asarray(np.linalg.norm(points[:, None, :] - closest, axis=2), dtype=np.float64)


def points_on_robot(
    points_base_m: npt.ArrayLike,
    kinematics: URKinematics,
    q_rad: npt.ArrayLike,
    *,
    gripper: GripperGeometry | None = None,
    opening_m: float | None = None,
    margin_m: float = 0.015,
    body: ArmBody | None = None,
) -> npt.NDArray[np.bool_]:
    """Which points (M, 3) in base_link lie on the robot at joint state `q_rad`, within a margin.

    The arm links are capsules, the gripper body and fingers boxes at `opening_m`; with
    `opening_m=None` (the opening is unknown) the fingers' whole travel counts, which also
    takes in whatever they hold between them.  `margin_m` absorbs depth noise and calibration
    error.
    """
    pts = np.asarray(points_base_m, dtype=np.float64).reshape(-1, 3)
    q = np.asarray(q_rad, dtype=np.float64).reshape(1, 6)
    frames = kinematics.fk_frames_batch(q)
    caps = arm_capsules(kinematics, frames, body)
    on = np.any(
        _segment_distance(pts, caps.start_m[0], caps.end_m[0]) <= caps.radius_m + margin_m,
        axis=1,
    )
    g = gripper or GripperGeometry()
    T = frames[0, 5]
    local = (pts - T[:3, 3]) @ T[:3, :3]
    boxes = finger_boxes_tool0(g, g.max_opening_m if opening_m is None else opening_m)
    if opening_m is None:  # one box from the left finger's outer face to the right one's
        (_, left, half), _, body_box = boxes
        half = np.array([half[0], left[1] + half[1], half[2]])
        boxes = [("fingers", np.array([0.0, 0.0, left[2]]), half), body_box]
    for _, centre, half in boxes:
        on |= np.all(np.abs(local - centre) <= half + margin_m, axis=1)
    return np.asarray(on, dtype=np.bool_)
