"""Ray-cast depth of a cup on the table with the UR5 and its gripper in view (numpy only).

Analytic ray hits against the arm's link capsules (core.robot_body, at the given joints), the
gripper's body and finger boxes (core.contact.finger_boxes_tool0), a solid cylinder for the cup
and the table plane; planar depth in mm like a RealSense aligned depth image.
"""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.contact import finger_boxes_tool0
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import GripperGeometry, URKinematics
from spatialbot_ros.core.robot_body import arm_capsules
from spatialbot_ros.core.transforms import RigidTransform

INF = np.inf


def _rays(intr: CameraIntrinsics) -> np.ndarray:
    """Per-pixel directions (H*W, 3) in the optical frame with z = 1 (so t = planar depth)."""
    u, v = np.meshgrid(np.arange(intr.width) + 0.0, np.arange(intr.height) + 0.0)
    return np.column_stack(
        ((u.ravel() - intr.cx) / intr.fx, (v.ravel() - intr.cy) / intr.fy, np.ones(u.size))
    )


def _hit_sphere(d: np.ndarray, c: np.ndarray, r: float) -> np.ndarray:
    dd = np.einsum("ij,ij->i", d, d)
    b = d @ c
    h = b * b - dd * (c @ c - r * r)
    t = (b - np.sqrt(np.maximum(h, 0.0))) / dd
    return np.where((h >= 0) & (t > 0), t, INF)


def _hit_cylinder_side(d: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Ray (origin 0) against the side of the finite cylinder a-b of radius r."""
    ba = b - a
    oa = -a
    baba = ba @ ba
    bard = d @ ba
    baoa = ba @ oa
    rdoa = d @ oa
    oaoa = oa @ oa
    dd = np.einsum("ij,ij->i", d, d)
    qa = baba * dd - bard * bard
    qb = baba * rdoa - baoa * bard
    qc = baba * oaoa - baoa * baoa - r * r * baba
    h = qb * qb - qa * qc
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-qb - np.sqrt(np.maximum(h, 0.0))) / qa
    y = baoa + t * bard
    return np.where((h >= 0) & (t > 0) & (y > 0) & (y < baba) & (np.abs(qa) > 1e-12), t, INF)


def _hit_capsule(d: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    return np.minimum(
        _hit_cylinder_side(d, a, b, r), np.minimum(_hit_sphere(d, a, r), _hit_sphere(d, b, r))
    )


def _hit_box(d: np.ndarray, T_cam_box: np.ndarray, half: np.ndarray) -> np.ndarray:
    R, c = T_cam_box[:3, :3], T_cam_box[:3, 3]
    o = -R.T @ c
    dl = d @ R
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - o) / dl
        t2 = (half - o) / dl
    near = np.nanmax(np.minimum(t1, t2), axis=1)
    far = np.nanmin(np.maximum(t1, t2), axis=1)
    return np.where((near <= far) & (far > 0), np.maximum(near, 0.0), INF)


def _hit_disk(d: np.ndarray, centre: np.ndarray, normal: np.ndarray, r: float) -> np.ndarray:
    den = d @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (centre @ normal) / den
    p = d * t[:, None] - centre
    inside = np.einsum("ij,ij->i", p, p) <= r * r
    return np.where(inside & (t > 0) & np.isfinite(t), t, INF)


def render_depth_mm(
    intr: CameraIntrinsics,
    T_base_cam: RigidTransform,
    *,
    cup_xy_m: tuple[float, float],
    cup_radius_m: float,
    cup_bottom_z_m: float,
    cup_height_m: float,
    q_rad: np.ndarray | None,
    opening_m: float = 0.085,
    kinematics: URKinematics | None = None,
    gripper: GripperGeometry | None = None,
    table: bool = True,
) -> np.ndarray:
    """Depth (H, W) uint16 mm of the cup, the table and (when `q_rad` is given) the robot."""
    kin = kinematics or URKinematics()
    g = gripper or GripperGeometry()
    d = _rays(intr)
    T_cam_base = T_base_cam.inverse().matrix

    def to_cam(p: np.ndarray) -> np.ndarray:
        return np.asarray(T_cam_base[:3, :3] @ p + T_cam_base[:3, 3])

    depth = np.full(d.shape[0], INF)
    bottom = np.array([cup_xy_m[0], cup_xy_m[1], cup_bottom_z_m])
    top = bottom + np.array([0.0, 0.0, cup_height_m])
    depth = np.minimum(depth, _hit_cylinder_side(d, to_cam(bottom), to_cam(top), cup_radius_m))
    depth = np.minimum(depth, _hit_disk(d, to_cam(top), T_cam_base[:3, 2], cup_radius_m))
    if table:
        depth = np.minimum(depth, _hit_disk(d, to_cam(np.zeros(3)), T_cam_base[:3, 2], 2.0))
    if q_rad is not None:
        frames = kin.fk_frames_batch(np.asarray(q_rad, dtype=np.float64).reshape(1, 6))
        caps = arm_capsules(kin, frames)
        for a, b, r in zip(caps.start_m[0], caps.end_m[0], caps.radius_m, strict=True):
            depth = np.minimum(depth, _hit_capsule(d, to_cam(a), to_cam(b), float(r)))
        T_cam_tool0 = T_cam_base @ frames[0, 5]
        for _, centre, half in finger_boxes_tool0(g, opening_m):
            box = np.eye(4)
            box[:3, 3] = centre
            depth = np.minimum(depth, _hit_box(d, T_cam_tool0 @ box, half))
    depth = np.where(np.isfinite(depth), np.round(depth * 1000.0), 0.0)
    return np.clip(depth, 0, 65535).astype(np.uint16).reshape(intr.height, intr.width)
