"""Generated contact cases: a cup, the gripper at a known gap, a noisy aligned depth frame.

Each case ray-casts (numpy only) a vertical cylinder ("cup", solid, with its top disc), the
table plane, the gripper's boxes (core.contact.finger_boxes_tool0: both fingers and the body)
and optionally an occluder box into an 848x480 depth image seen by a camera 0.45-0.8 m away,
15-45° above the table.  The gripper comes top-down with the left finger on the camera-facing
side of the cup, its pad `gap_mm` from the cup wall (the true gap is recomputed exactly as the
distance between the finger boxes and the cylinder); the right finger sits farther away on the
other side.  Sensor effects: Gaussian depth noise (sigma 2 mm), 10 % of the depth zeroed
(single pixels, or 12x12 px blobs as RealSense holes look), and

* "partial" occlusion: a box 10-25 cm in front of the gripper hides part of the window around
  the near pad but not the pad's own neighbourhood (15 px), so the gap remains measurable;
* "full" occlusion: such a box hides both pads entirely, so the right answer is `occluded`.

Used by test/core/test_contact.py (accuracy) and bench/bench_contact.py (timing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from spatialbot_ros.core.contact import ContactThresholds, finger_boxes_tool0
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import GripperGeometry
from spatialbot_ros.core.transforms import RigidTransform

INTRINSICS = CameraIntrinsics(848, 480, 610.0, 610.0, 424.0, 240.0)
# a wide-opening variant so the far finger can stay well clear of a 50 mm gap on the near side
GRIPPER = GripperGeometry(max_opening_m=0.24)

Occlusion = Literal["none", "partial", "full"]


@dataclass
class ContactCase:
    """One frame with its ground truth."""

    depth_mm: np.ndarray
    mask: np.ndarray
    box_px: tuple[float, float, float, float]
    T_camera_tool0: RigidTransform
    opening_m: float
    gap_mm: float  # exact distance between the finger boxes and the cup
    occlusion: Occlusion


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4x4 world <- optical frame (z forward, x right, y down) of a camera at eye."""
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, :3] = np.column_stack((x, y, z))
    m[:3, 3] = eye
    return m


def _rays(intr: CameraIntrinsics, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    xn = (us[None, :] - intr.cx) / intr.fx + 0 * vs[:, None]
    yn = (vs[:, None] - intr.cy) / intr.fy + 0 * us[None, :]
    return np.stack((xn, yn, np.ones_like(xn)), axis=-1)  # (H, W, 3), z = 1


def _hit_box(
    d: np.ndarray, origin: np.ndarray, R: np.ndarray, c: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Ray parameter (= depth, since d_z = 1) of rays origin + t d entering a box; inf if missed."""
    o = (origin - c) @ R
    db = d @ R
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-h - o) / db
        t2 = (h - o) / db
    lo = np.nanmax(np.minimum(t1, t2), axis=-1)
    hi = np.nanmin(np.maximum(t1, t2), axis=-1)
    return np.where((lo <= hi) & (hi > 0), np.maximum(lo, 0), np.inf)


def _hit_cylinder(d: np.ndarray, o: np.ndarray, r: float, height: float) -> np.ndarray:
    """Solid vertical cylinder on z in [0, height] about the z axis; rays in world coordinates."""
    a = d[..., 0] ** 2 + d[..., 1] ** 2
    b = 2 * (o[0] * d[..., 0] + o[1] * d[..., 1])
    c = o[0] ** 2 + o[1] ** 2 - r * r
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t_side = (-b - np.sqrt(disc)) / (2 * a)
        z_side = o[2] + t_side * d[..., 2]
        side = np.where(
            (disc >= 0) & (t_side > 0) & (z_side >= 0) & (z_side <= height), t_side, np.inf
        )
        t_top = (height - o[2]) / d[..., 2]
        px = o[0] + t_top * d[..., 0]
        py = o[1] + t_top * d[..., 1]
        top = np.where((t_top > 0) & (px * px + py * py <= r * r), t_top, np.inf)
    return np.minimum(side, top)


def _box_cylinder_gap(
    c: np.ndarray, R: np.ndarray, h: np.ndarray, r: float, height: float
) -> float:
    """Distance from a box (world) to the solid cylinder, by dense sampling of the box surface."""
    n = 24
    g = np.linspace(-1, 1, n)
    faces = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            a, b = np.meshgrid(g, g)
            p = np.zeros((n * n, 3))
            others = [i for i in range(3) if i != axis]
            p[:, axis] = sign
            p[:, others[0]] = a.ravel()
            p[:, others[1]] = b.ravel()
            faces.append(p)
    local = np.vstack(faces) * h
    pts = local @ R.T + c
    radial = np.maximum(np.hypot(pts[:, 0], pts[:, 1]) - r, 0.0)
    below = np.maximum(-pts[:, 2], 0.0)
    above = np.maximum(pts[:, 2] - height, 0.0)
    return float(np.min(np.hypot(radial, np.maximum(below, above))))


def make_case(
    rng: np.random.Generator,
    occlusion: Occlusion = "none",
    gap_mm: float | None = None,
    holes: Literal["pixels", "blobs"] = "pixels",
) -> ContactCase:
    """One seeded case (see the module docstring)."""
    intr = INTRINSICS
    r = rng.uniform(0.03, 0.045)
    height = rng.uniform(0.08, 0.11)
    cam_az = rng.uniform(-np.pi, np.pi)
    elev = math.radians(rng.uniform(15, 45))
    dist = rng.uniform(0.45, 0.8)
    eye = dist * np.array(
        [math.cos(elev) * math.cos(cam_az), math.cos(elev) * math.sin(cam_az), math.sin(elev)]
    )
    T_world_cam = _look_at(eye, np.array([0.0, 0.0, 0.5 * height]))
    # top-down gripper, left finger on the camera-facing side at the requested gap
    gap = rng.uniform(0.0, 0.05) if gap_mm is None else gap_mm * 1e-3
    phi = cam_az + rng.uniform(-0.6, 0.6)
    y_tool = np.array([math.cos(phi), math.sin(phi), 0.0])
    z_tool = np.array([0.0, 0.0, -1.0])
    x_tool = np.cross(y_tool, z_tool)
    far_gap = gap + rng.uniform(0.03, 0.06)
    opening = 2 * r + gap + far_gap
    pad_z = rng.uniform(height - 0.045, height - 0.02)
    tcp = (r + gap - 0.5 * opening) * y_tool + np.array([0.0, 0.0, pad_z])
    T_world_tool0 = np.eye(4)
    T_world_tool0[:3, :3] = np.column_stack((x_tool, y_tool, z_tool))
    T_world_tool0[:3, 3] = tcp - GRIPPER.tcp_offset_m * z_tool
    boxes = []
    for _, c, h in finger_boxes_tool0(GRIPPER, opening):
        boxes.append((T_world_tool0[:3, :3] @ c + T_world_tool0[:3, 3], T_world_tool0[:3, :3], h))
    true_gap = min(_box_cylinder_gap(c, R, h, r, height) for c, R, h in boxes[:2])
    # render: the table everywhere, objects only in the region they can cover (fast)
    R_wc, o = T_world_cam[:3, :3], T_world_cam[:3, 3]
    T_cam_world = np.linalg.inv(T_world_cam)
    corners = [
        np.array([sx * r, sy * r, sz * height]) for sx in (-1, 1) for sy in (-1, 1) for sz in (0, 1)
    ]
    for c, R, h in boxes:
        corners += [
            c + R @ (h * np.array([sx, sy, sz]))
            for sx in (-1, 1)
            for sy in (-1, 1)
            for sz in (-1, 1)
        ]
    pc = np.array(corners) @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    pu = intr.fx * pc[:, 0] / pc[:, 2] + intr.cx
    pv = intr.fy * pc[:, 1] / pc[:, 2] + intr.cy
    u_lo, u_hi = max(int(pu.min()) - 2, 0), min(int(pu.max()) + 3, intr.width)
    v_lo, v_hi = max(int(pv.min()) - 2, 0), min(int(pv.max()) + 3, intr.height)
    us = np.arange(intr.width, dtype=np.float64)
    vs = np.arange(intr.height, dtype=np.float64)
    d_cam = _rays(intr, us, vs)
    d_world = d_cam @ R_wc.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d_world[..., 2] < 0, -o[2] / d_world[..., 2], np.inf)
    crop = (slice(v_lo, v_hi), slice(u_lo, u_hi))
    dw = d_world[crop]
    t_cup = np.full(t.shape, np.inf)
    t_cup[crop] = _hit_cylinder(dw, o, r, height)
    t = np.minimum(t, t_cup)
    for c, R, h in boxes:
        t[crop] = np.minimum(t[crop], _hit_box(dw, o, R, c, h))
    tip_cam = T_cam_world[:3, :3] @ (tcp + 0.5 * opening * y_tool) + T_cam_world[:3, 3]
    u0 = intr.fx * tip_cam[0] / tip_cam[2] + intr.cx
    v0 = intr.fy * tip_cam[1] / tip_cam[2] + intr.cy
    # the object's region comes from grounding before the occluder moved in
    mask = np.isfinite(t_cup) & (t_cup <= t + 1e-9)
    if occlusion != "none":
        t = np.minimum(
            t,
            _occluder(
                rng,
                occlusion,
                d_cam,
                tip_cam=tip_cam,
                u0=u0,
                v0=v0,
                T_cam_world=T_cam_world,
                tcp=tcp,
                opening=opening,
                y_tool=y_tool,
            ),
        )
    vv, uu = np.nonzero(mask)
    box = (float(uu.min()), float(vv.min()), float(uu.max() + 1), float(vv.max() + 1))
    # dilate the mask by one pixel, as a segmentation would bleed a little
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    depth = np.where(np.isfinite(t), t, 0.0)
    depth = depth + rng.normal(0.0, 0.002, depth.shape) * (depth > 0)
    if holes == "pixels":
        depth[rng.random(depth.shape) < 0.10] = 0.0
    else:  # RealSense-like: 12x12 px blobs covering about 10 % of the frame
        h, w = depth.shape
        for _ in range(int(0.10 * h * w / 144)):
            y, x = int(rng.integers(0, h - 12)), int(rng.integers(0, w - 12))
            depth[y : y + 12, x : x + 12] = 0.0
    depth_mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
    T_cam_tool0 = RigidTransform(T_cam_world @ T_world_tool0, "camera_color_optical_frame", "tool0")
    return ContactCase(depth_mm, grown, box, T_cam_tool0, opening, true_gap * 1e3, occlusion)


def _occluder(
    rng: np.random.Generator,
    occlusion: Occlusion,
    d_cam: np.ndarray,
    *,
    tip_cam: np.ndarray,
    u0: float,
    v0: float,
    T_cam_world: np.ndarray,
    tcp: np.ndarray,
    opening: float,
    y_tool: np.ndarray,
) -> np.ndarray:
    """Depth of an occluding slab 10-25 cm in front of the near pad, hiding part or all of it."""
    z_occ = tip_cam[2] - rng.uniform(0.10, 0.25)
    h, w = d_cam.shape[:2]
    us = np.arange(w)[None, :] + 0 * np.arange(h)[:, None]
    vs = np.arange(h)[:, None] + 0 * np.arange(w)[None, :]
    if occlusion == "full":
        far_tip = T_cam_world[:3, :3] @ (tcp - 0.5 * opening * y_tool) + T_cam_world[:3, 3]
        u1 = INTRINSICS.fx * far_tip[0] / far_tip[2] + INTRINSICS.cx
        v1 = INTRINSICS.fy * far_tip[1] / far_tip[2] + INTRINSICS.cy
        pad = 60
        cover = (
            (us >= min(u0, u1) - pad)
            & (us <= max(u0, u1) + pad)
            & (vs >= min(v0, v1) - pad)
            & (vs <= max(v0, v1) + pad)
        )
    else:
        # a half-plane edge passing 15-40 px from the pad, on a random side
        ang = rng.uniform(0, 2 * np.pi)
        n = np.array([math.cos(ang), math.sin(ang)])
        offset = rng.uniform(15, 40)
        cover = (us - u0) * n[0] + (vs - v0) * n[1] > offset
    return np.where(cover, z_occ, np.inf)


def expected_states(
    case: ContactCase, th: ContactThresholds, tolerance_mm: float = 5.0
) -> set[str]:
    """States counted correct: the true gap's state, or a neighbour within the tolerance."""
    if case.occlusion == "full":
        return {"occluded"}
    out = set()
    for g in (case.gap_mm - tolerance_mm, case.gap_mm, case.gap_mm + tolerance_mm):
        if g <= th.contact_mm:
            out.add("contact")
        elif g <= th.near_mm:
            out.add("near")
        else:
            out.add("far")
    return out
