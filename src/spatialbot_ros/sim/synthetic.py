"""Synthetic RGB-D tabletop scenes: cups and boxes on a table, ray-cast with numpy only.

World frame "world": the table top is the plane z = 0 (a 1.2 m x 0.8 m rectangle centred at
the origin), z up, a floor at z = -0.75 m.  Objects stand on the table: vertical cylinders
("cups", solid) and boxes rotated about z.  A pinhole camera (RealSense-like intrinsics by
default) at a named or given pose looks at the table; every pixel's ray is intersected with
every object, the table and the floor in one vectorised pass, giving depth (planar z, as a
RealSense reports it), a Lambert-shaded colour image and an object-id image from which the
ground truth (visible mask, pixel box, visible fraction) is read.

Sensor effects, all seeded: depth noise with sigma = `noise_mm` * z / 1 m (depth
proportional: `noise_mm` is sigma at 1 m), and holes (zeroed depth) in smooth random blobs
covering `hole_fraction` of the image.  Used by tests and bench of the weight-free engine; it
needs neither MuJoCo nor OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "CAMERA_POSES",
    "PALETTE",
    "SceneTask",
    "SyntheticObject",
    "SyntheticScene",
    "default_intrinsics",
    "labelled_task_family",
    "look_at",
    "make_scene",
    "match_object",
    "task_family",
]

Shape = Literal["cylinder", "box"]

# Named colours and the RGB the renderer paints them with (before shading).
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (200, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 60, 200),
    "yellow": (230, 210, 40),
    "orange": (240, 130, 20),
    "purple": (130, 50, 160),
    "pink": (240, 120, 180),
    "white": (235, 235, 235),
    "black": (30, 30, 30),
    "gray": (128, 128, 128),
    "brown": (120, 70, 30),
    "cyan": (40, 200, 210),
}
TABLE_RGB = (190, 172, 140)
FLOOR_RGB = (70, 70, 75)
TABLE_HALF_X_M = 0.6
TABLE_HALF_Y_M = 0.4
FLOOR_Z_M = -0.75
MAX_RANGE_M = 6.0

# Camera poses as (eye, target) in the world frame, metres; "up" is world +z.
CAMERA_POSES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "front": ((0.0, -0.55, 0.45), (0.0, 0.05, 0.0)),
    "front_low": ((0.0, -0.62, 0.26), (0.0, 0.05, 0.03)),
    "left": ((-0.38, -0.45, 0.45), (0.0, 0.05, 0.0)),
    "right": ((0.38, -0.45, 0.45), (0.0, 0.05, 0.0)),
    "high": ((0.0, -0.28, 0.72), (0.0, 0.05, 0.0)),
}


def default_intrinsics(width: int = 640, height: int = 480) -> CameraIntrinsics:
    """RealSense D435-like colour intrinsics (fx = fy = 615 px at 640x480), scaled to size."""
    base = CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5)
    return base if (width, height) == (640, 480) else base.scaled(width, height)


def look_at(
    eye_m: Sequence[float],
    target_m: Sequence[float],
    up: Sequence[float] = (0.0, 0.0, 1.0),
    parent_frame: str = "world",
    child_frame: str = "camera_color_optical_frame",
) -> RigidTransform:
    """T_world_camera of an optical frame (x right, y down, z forward) at eye looking at target."""
    eye = np.asarray(eye_m, dtype=np.float64)
    z = np.asarray(target_m, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("expected a viewing direction not parallel to up, got parallel")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return RigidTransform(m, parent_frame, child_frame)


@dataclass(frozen=True, eq=False)
class SyntheticObject:
    """Ground truth of one object: geometry in the world frame and what the camera sees of it."""

    index: int
    shape: Shape
    center_xy_m: tuple[float, float]  # on the table plane
    height_m: float
    radius_m: float  # cylinders; for boxes the footprint's half diagonal
    half_extents_m: tuple[float, float]  # boxes (x, y before yaw); cylinders (r, r)
    yaw_rad: float
    color_name: str
    rgb: tuple[int, int, int]
    mask: npt.NDArray[np.bool_] = field(repr=False)  # visible pixels
    silhouette_px: int  # pixels it would cover with nothing in front
    bbox_px: tuple[int, int, int, int]  # visible pixels, x2/y2 exclusive; zeros when unseen
    center_camera_m: tuple[float, float, float]  # volumetric centre in the optical frame
    center_px: tuple[float, float]  # projection of the volumetric centre (u, v)
    visible_centroid_px: tuple[float, float]  # mean (u, v) of the visible pixels
    visible_distance_m: float  # distance of the visible surface's centroid to the camera

    @property
    def volume_m3(self) -> float:
        """Volume in cubic metres."""
        if self.shape == "cylinder":
            return math.pi * self.radius_m**2 * self.height_m
        return 4.0 * self.half_extents_m[0] * self.half_extents_m[1] * self.height_m

    @property
    def visible_px(self) -> int:
        """Number of visible pixels."""
        return int(self.mask.sum())

    @property
    def visible_fraction(self) -> float:
        """Visible pixels over the pixels it would cover unoccluded."""
        return self.visible_px / self.silhouette_px if self.silhouette_px else 0.0

    @property
    def distance_m(self) -> float:
        """Distance from the camera centre to the volumetric centre, metres."""
        return float(np.linalg.norm(self.center_camera_m))

    @property
    def center_world_m(self) -> tuple[float, float, float]:
        """Volumetric centre in the world frame."""
        return (self.center_xy_m[0], self.center_xy_m[1], self.height_m / 2.0)


@dataclass(frozen=True, eq=False)
class SyntheticScene:
    """A rendered scene: the RGB-D frame, the camera pose and per-object ground truth."""

    frame: RGBDFrame
    T_world_camera: RigidTransform
    objects: list[SyntheticObject]
    camera: str
    seed: int
    depth_clean_m: npt.NDArray[np.float64] = field(repr=False)  # before noise/holes, inf = miss


@dataclass(frozen=True)
class _Spec:
    """An object to render, before rendering."""

    shape: Shape
    center: tuple[float, float]
    radius: float
    half: tuple[float, float]
    height: float
    yaw: float
    color: str


class SceneTask(NamedTuple):
    """One generated task: its text, the index of the object it means and the relation tested."""

    text: str
    target_index: int
    relation: str


# ---------------------------------------------------------------------------------------------
# Ray casting


def _rays_world(
    intr: CameraIntrinsics, T_world_camera: RigidTransform
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Camera origin (3,) and per-pixel ray directions (H*W, 3) with camera-z component 1."""
    u = (np.arange(intr.width, dtype=np.float64) - intr.cx) / intr.fx
    v = (np.arange(intr.height, dtype=np.float64) - intr.cy) / intr.fy
    uu, vv = np.meshgrid(u, v)
    d_cam = np.stack((uu.ravel(), vv.ravel(), np.ones(uu.size)), axis=1)
    # Parameter t along these rays equals the camera-frame z, i.e. the depth a RealSense reports.
    return T_world_camera.translation_m.copy(), d_cam @ T_world_camera.rotation.T


def _hit_cylinder(
    o: npt.NDArray[np.float64],
    d: npt.NDArray[np.float64],
    c: tuple[float, float],
    r: float,
    h: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ray parameter (inf = miss) and world normal for a solid vertical cylinder on z = 0."""
    ox, oy, oz = o[0] - c[0], o[1] - c[1], o[2]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    a = dx * dx + dy * dy
    b = 2.0 * (ox * dx + oy * dy)
    cc = ox * ox + oy * oy - r * r
    disc = b * b - 4.0 * a * cc
    with np.errstate(invalid="ignore", divide="ignore"):
        t_side = (-b - np.sqrt(disc)) / (2.0 * a)
        z_side = oz + t_side * dz
        side_ok = (disc >= 0) & (t_side > 0) & (z_side >= 0) & (z_side <= h)
        t_cap = (h - oz) / dz
        px, py = ox + t_cap * dx, oy + t_cap * dy
        cap_ok = (t_cap > 0) & (px * px + py * py <= r * r)
    t_side = np.where(side_ok, t_side, np.inf)
    t_cap = np.where(cap_ok, t_cap, np.inf)
    t = np.minimum(t_side, t_cap)
    normal = np.zeros_like(d)
    use_side = t_side < t_cap
    normal[:, 0] = np.where(use_side, (ox + t_side * dx) / r, 0.0)
    normal[:, 1] = np.where(use_side, (oy + t_side * dy) / r, 0.0)
    normal[:, 2] = np.where(use_side, 0.0, 1.0)
    return t, normal


def _hit_box(
    o: npt.NDArray[np.float64],
    d: npt.NDArray[np.float64],
    *,
    c: tuple[float, float],
    half: tuple[float, float],
    h: float,
    yaw: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ray parameter (inf = miss) and world normal for a box on z = 0 rotated by yaw about z."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    rot = np.array([[cy, sy, 0.0], [-sy, cy, 0.0], [0.0, 0.0, 1.0]])  # world -> box
    o_l = rot @ (o - np.array([c[0], c[1], 0.0]))
    d_l = d @ rot.T
    lo = np.array([-half[0], -half[1], 0.0])
    hi = np.array([half[0], half[1], h])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o_l) / d_l
        t2 = (hi - o_l) / d_l
    t_near_axes = np.where(np.isnan(t1), -np.inf, np.minimum(t1, t2))
    t_far_axes = np.where(np.isnan(t2), np.inf, np.maximum(t1, t2))
    t_near = t_near_axes.max(axis=1)
    t_far = t_far_axes.min(axis=1)
    ok = (t_near <= t_far) & (t_near > 0)
    t = np.where(ok, t_near, np.inf)
    axis = t_near_axes.argmax(axis=1)
    normal_l = np.zeros_like(d)
    normal_l[np.arange(d.shape[0]), axis] = -np.sign(d_l[np.arange(d.shape[0]), axis])
    return t, normal_l @ rot  # box -> world is rot.T, applied to row vectors


def _smooth_field(
    rng: np.random.Generator, height: int, width: int, cell_px: int
) -> npt.NDArray[np.float64]:
    """Smooth random field (H, W): bilinear upsampling of a coarse Gaussian grid."""
    gh, gw = height // cell_px + 2, width // cell_px + 2
    coarse = rng.standard_normal((gh, gw))

    def interp_matrix(n: int, g: int) -> npt.NDArray[np.float64]:
        pos = np.arange(n, dtype=np.float64) / cell_px
        i0 = np.floor(pos).astype(int)
        w1 = pos - i0
        m = np.zeros((n, g))
        m[np.arange(n), i0] = 1.0 - w1
        m[np.arange(n), np.minimum(i0 + 1, g - 1)] += w1
        return m

    field_hw: npt.NDArray[np.float64] = (
        interp_matrix(height, gh) @ coarse @ interp_matrix(width, gw).T
    )
    return field_hw


def _render(
    intr: CameraIntrinsics,
    T_world_camera: RigidTransform,
    specs: list[_Spec],
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.int32],
    npt.NDArray[np.float64],
    list[npt.NDArray[np.bool_]],
]:
    """Depth (H, W) m (inf = miss), id image (-1 table, -2 floor, -3 none), normals, silhouettes."""
    o, d = _rays_world(intr, T_world_camera)
    n_px = d.shape[0]
    best_t = np.full(n_px, np.inf)
    ids = np.full(n_px, -3, dtype=np.int32)
    normals = np.zeros((n_px, 3))
    normals[:, 2] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_table = -o[2] / d[:, 2]
        x_t, y_t = o[0] + t_table * d[:, 0], o[1] + t_table * d[:, 1]
        table_ok = (t_table > 0) & (np.abs(x_t) <= TABLE_HALF_X_M) & (np.abs(y_t) <= TABLE_HALF_Y_M)
        t_floor = (FLOOR_Z_M - o[2]) / d[:, 2]
    floor_ok = (t_floor > 0) & ~table_ok
    best_t = np.where(table_ok, t_table, np.where(floor_ok, t_floor, np.inf))
    ids[table_ok] = -1
    ids[floor_ok] = -2
    silhouettes: list[npt.NDArray[np.bool_]] = []
    for k, spec in enumerate(specs):
        if spec.shape == "cylinder":
            t, nrm = _hit_cylinder(o, d, spec.center, spec.radius, spec.height)
        else:
            t, nrm = _hit_box(o, d, c=spec.center, half=spec.half, h=spec.height, yaw=spec.yaw)
        silhouettes.append(np.isfinite(t).reshape(intr.height, intr.width))
        closer = t < best_t
        best_t = np.where(closer, t, best_t)
        ids[closer] = k
        normals[closer] = nrm[closer]
    shape = (intr.height, intr.width)
    return best_t.reshape(shape), ids.reshape(shape), normals.reshape((*shape, 3)), silhouettes


# ---------------------------------------------------------------------------------------------
# Scene generation


def _place_objects(
    rng: np.random.Generator,
    n_objects: int,
    *,
    shapes: Sequence[Shape],
    colors: Sequence[str] | None,
    region_m: tuple[float, float, float, float],
    min_gap_m: float,
) -> list[_Spec]:
    """Random non-overlapping object specs inside region (xmin, xmax, ymin, ymax)."""
    if colors is None:
        names = list(rng.permutation(sorted(PALETTE)))
        colors = [names[i % len(names)] for i in range(n_objects)]
    elif len(colors) < n_objects:
        raise ValueError(f"expected at least {n_objects} colours, got {len(colors)}")
    specs: list[_Spec] = []
    for k in range(n_objects):
        color = colors[k]
        if color not in PALETTE:
            raise ValueError(f"expected a colour from {sorted(PALETTE)}, got {color!r}")
        shape = shapes[int(rng.integers(len(shapes)))]
        height = float(rng.uniform(0.06, 0.14))
        if shape == "cylinder":
            radius = float(rng.uniform(0.026, 0.048))
            half = (radius, radius)
            yaw = 0.0
        else:
            half = (float(rng.uniform(0.022, 0.045)), float(rng.uniform(0.022, 0.045)))
            radius = math.hypot(*half)
            yaw = float(rng.uniform(0.0, math.pi))
            height = float(rng.uniform(0.04, 0.12))
        for _ in range(200):
            c = (
                float(rng.uniform(region_m[0], region_m[1])),
                float(rng.uniform(region_m[2], region_m[3])),
            )
            if all(
                math.hypot(c[0] - s.center[0], c[1] - s.center[1])
                > radius + float(s.radius) + min_gap_m
                for s in specs
            ):
                break
        else:
            raise ValueError(f"could not place {n_objects} objects without overlap in {region_m}")
        specs.append(_Spec(shape, c, radius, half, height, yaw, color))
    return specs


def make_scene(
    seed: int,
    n_objects: int = 3,
    *,
    camera: str | tuple[Sequence[float], Sequence[float]] | RigidTransform = "front",
    noise_mm: float = 0.0,
    hole_fraction: float = 0.0,
    shapes: Sequence[Shape] = ("cylinder",),
    colors: Sequence[str] | None = None,
    intrinsics: CameraIntrinsics | None = None,
    region_m: tuple[float, float, float, float] = (-0.22, 0.22, -0.12, 0.2),
    min_gap_m: float = 0.02,
    min_visible_fraction: float = 0.35,
    max_tries: int = 50,
) -> SyntheticScene:
    """Render a seeded tabletop scene; every object at least `min_visible_fraction` visible.

    camera: a name from CAMERA_POSES, an (eye, target) pair in metres, or T_world_camera.
    noise_mm: depth noise sigma at 1 m (scales with depth).  hole_fraction: share of pixels
    whose depth is zeroed, in blobs.  colors: one name per object (default: distinct, random).
    """
    if n_objects < 0:
        raise ValueError(f"expected n_objects >= 0, got {n_objects}")
    if not 0.0 <= hole_fraction < 1.0:
        raise ValueError(f"expected hole_fraction in [0, 1), got {hole_fraction}")
    if noise_mm < 0:
        raise ValueError(f"expected noise_mm >= 0, got {noise_mm}")
    intr = intrinsics or default_intrinsics()
    if isinstance(camera, RigidTransform):
        T_world_camera, camera_name = camera, "custom"
    elif isinstance(camera, str):
        if camera not in CAMERA_POSES:
            raise ValueError(f"expected a camera in {sorted(CAMERA_POSES)}, got {camera!r}")
        T_world_camera, camera_name = look_at(*CAMERA_POSES[camera]), camera
    else:
        T_world_camera, camera_name = look_at(camera[0], camera[1]), "custom"
    rng = np.random.default_rng(seed)
    T_camera_world = T_world_camera.inverse()
    for _ in range(max_tries):
        specs = _place_objects(
            rng, n_objects, shapes=shapes, colors=colors, region_m=region_m, min_gap_m=min_gap_m
        )
        depth_m, ids, normals, silhouettes = _render(intr, T_world_camera, specs)
        ok = True
        for k, sil in enumerate(silhouettes):
            n_sil = int(sil.sum())
            visible = int((ids == k).sum())
            bbox = _bbox(ids == k)
            touches_edge = (
                bbox[0] == 0 or bbox[1] == 0 or bbox[2] >= intr.width or (bbox[3] >= intr.height)
            )
            if n_sil == 0 or visible < min_visible_fraction * n_sil or touches_edge:
                ok = False
                break
        if ok:
            break
    else:
        raise ValueError(
            f"expected a placement with every object >= {min_visible_fraction:.0%} visible "
            f"after {max_tries} tries, got none (camera {camera_name!r}, {n_objects} objects)"
        )
    rgb = _shade(rng, ids, normals, specs)
    depth_mm = _sensor_depth(rng, depth_m, noise_mm, hole_fraction)
    frame = RGBDFrame(rgb=rgb, depth_mm=depth_mm, intrinsics=intr)
    objects = []
    u_grid, v_grid = np.meshgrid(np.arange(intr.width), np.arange(intr.height))
    for k, spec in enumerate(specs):
        mask = ids == k
        c = spec.center
        h = float(spec.height)
        center_cam = T_camera_world.apply(np.array([c[0], c[1], h / 2.0]))
        center_px = (
            intr.fx * center_cam[0] / center_cam[2] + intr.cx,
            intr.fy * center_cam[1] / center_cam[2] + intr.cy,
        )
        z = depth_m[mask]
        us, vs = u_grid[mask], v_grid[mask]
        pts = np.stack(((us - intr.cx) / intr.fx * z, (vs - intr.cy) / intr.fy * z, z), axis=1)
        objects.append(
            SyntheticObject(
                index=k,
                shape=spec.shape,
                center_xy_m=(float(c[0]), float(c[1])),
                height_m=h,
                radius_m=float(spec.radius),
                half_extents_m=spec.half,
                yaw_rad=float(spec.yaw),
                color_name=str(spec.color),
                rgb=PALETTE[str(spec.color)],
                mask=mask,
                silhouette_px=int(silhouettes[k].sum()),
                bbox_px=_bbox(mask),
                center_camera_m=(float(center_cam[0]), float(center_cam[1]), float(center_cam[2])),
                center_px=(float(center_px[0]), float(center_px[1])),
                visible_centroid_px=(float(us.mean()), float(vs.mean()))
                if us.size
                else (float("nan"), float("nan")),
                visible_distance_m=float(np.linalg.norm(pts.mean(axis=0)))
                if us.size
                else (float("nan")),
            )
        )
    return SyntheticScene(frame, T_world_camera, objects, camera_name, seed, depth_m)


def _bbox(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """Pixel box (x1, y1, x2, y2), x2/y2 exclusive, of a mask; zeros when empty."""
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if not rows.any():
        return (0, 0, 0, 0)
    y = np.nonzero(rows)[0]
    x = np.nonzero(cols)[0]
    return (int(x[0]), int(y[0]), int(x[-1]) + 1, int(y[-1]) + 1)


def _shade(
    rng: np.random.Generator,
    ids: npt.NDArray[np.int32],
    normals: npt.NDArray[np.float64],
    specs: list[_Spec],
) -> npt.NDArray[np.uint8]:
    """Lambert shading of the base colours plus a little sensor noise."""
    base = np.zeros((*ids.shape, 3))
    base[ids == -1] = TABLE_RGB
    base[ids == -2] = FLOOR_RGB
    for k, spec in enumerate(specs):
        base[ids == k] = PALETTE[str(spec.color)]
    light = np.array([0.3, -0.5, 1.0])
    light /= np.linalg.norm(light)
    lambert = np.clip(normals @ light, 0.0, 1.0)
    shade = 0.6 + 0.4 * lambert
    img = base * shade[..., None] + rng.normal(0.0, 2.5, base.shape)
    out: npt.NDArray[np.uint8] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def _sensor_depth(
    rng: np.random.Generator,
    depth_m: npt.NDArray[np.float64],
    noise_mm: float,
    hole_fraction: float,
) -> npt.NDArray[np.uint16]:
    """Noisy, holed uint16 depth in mm (0 = no data) from clean depth in metres."""
    # Like a RealSense: nothing beyond its range (the far floor near the horizon) has data.
    finite = np.isfinite(depth_m) & (depth_m <= MAX_RANGE_M)
    z = np.where(finite, depth_m, 0.0)
    if noise_mm > 0:
        z = z + rng.standard_normal(z.shape) * (noise_mm * 1e-3) * z
    depth_mm = np.clip(np.rint(z * 1000.0), 0, 65535).astype(np.uint16)
    depth_mm[~finite] = 0
    if hole_fraction > 0:
        h, w = depth_mm.shape
        noise_field = _smooth_field(rng, h, w, cell_px=max(4, min(h, w) // 24))
        thr = np.quantile(noise_field, 1.0 - hole_fraction)
        depth_mm[noise_field > thr] = 0
    return depth_mm


# ---------------------------------------------------------------------------------------------
# Tasks with known answers


def match_object(
    scene: SyntheticScene,
    mask: npt.NDArray[np.bool_] | None = None,
    bbox_px: Sequence[float] | None = None,
    min_iou: float = 0.5,
) -> int | None:
    """Index of the ground-truth object best matching a mask (or a pixel box), IoU >= min_iou."""
    best, best_iou = None, 0.0
    for obj in scene.objects:
        if mask is not None:
            inter = float(np.logical_and(mask, obj.mask).sum())
            union = float(np.logical_or(mask, obj.mask).sum())
        elif bbox_px is not None:
            ax1, ay1, ax2, ay2 = (float(v) for v in bbox_px)
            bx1, by1, bx2, by2 = obj.bbox_px
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
        else:
            raise ValueError("expected a mask or a bbox_px, got neither")
        iou = inter / union if union > 0 else 0.0
        if iou > best_iou:
            best, best_iou = obj.index, iou
    return best if best_iou >= min_iou else None


_ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"]
_GRASP_VERBS = ["grasp", "pick up", "grab", "take", "point to", "where is", "lift", "find"]


def _ordering_ok(
    values: Sequence[float], alt: Sequence[float], margin: float, idx: Sequence[int]
) -> list[int] | None:
    """Order `idx` by values; None unless `alt` gives the same order and gaps exceed margin."""
    order = sorted(idx, key=lambda i: values[i])
    if sorted(idx, key=lambda i: alt[i]) != order:
        return None
    gaps = [values[order[i + 1]] - values[order[i]] for i in range(len(order) - 1)]
    if any(g < margin for g in gaps):
        return None
    return order


def task_family(scene: SyntheticScene) -> list[tuple[str, int]]:
    """(task text, target object index) pairs whose answers are unambiguous in this scene."""
    return [(t.text, t.target_index) for t in labelled_task_family(scene)]


def labelled_task_family(
    scene: SyntheticScene,
    margin_px: float = 18.0,
    margin_m: float = 0.04,
    size_ratio: float = 1.35,
    height_margin_m: float = 0.02,
) -> list[SceneTask]:
    """Tasks with the relation each one tests, for per-relation accuracy.

    An ordering is used only when the ground-truth ordering (volumetric centres) and the
    visible-surface ordering agree and neighbours differ by at least the margin, so every
    answer is unambiguous from the image.
    """
    objs = scene.objects
    n = len(objs)
    if n == 0:
        return []
    rng = np.random.default_rng(scene.seed + 7919)
    shapes = {o.shape for o in objs}
    noun = "cup" if shapes == {"cylinder"} else "object"
    tasks: list[SceneTask] = []

    def verb() -> str:
        return _GRASP_VERBS[int(rng.integers(len(_GRASP_VERBS)))]

    def add(phrase: str, target: int, relation: str) -> None:
        tasks.append(SceneTask(f"{verb()} the {phrase}", target, relation))

    all_idx = list(range(n))
    u_center = [o.center_px[0] for o in objs]
    u_visible = [o.visible_centroid_px[0] for o in objs]
    dist = [o.distance_m for o in objs]
    dist_vis = [o.visible_distance_m for o in objs]
    vol = [o.volume_m3 for o in objs]
    height = [o.height_m for o in objs]

    lr = _ordering_ok(u_center, u_visible, margin_px, all_idx)
    if lr is not None and n >= 2:
        add(f"leftmost {noun}", lr[0], "leftmost")
        add(f"rightmost {noun}", lr[-1], "rightmost")
        add(f"{noun} on the left", lr[0], "left")
        add(f"{noun} on the right", lr[-1], "right")
        if n % 2 == 1 and n >= 3:
            add(f"middle {noun}", lr[n // 2], "middle")
        for k in range(1, min(n, len(_ORDINAL_WORDS))):
            if k < n - 1 or n <= 3:
                add(f"{_ORDINAL_WORDS[k]} {noun} from the left", lr[k], "ordinal_left")
                add(f"{_ORDINAL_WORDS[k]} {noun} from the right", lr[n - 1 - k], "ordinal_right")
    near = _ordering_ok(dist, dist_vis, margin_m, all_idx)
    if near is not None and n >= 2:
        add(f"{noun} closest to the camera", near[0], "nearest")
        add(f"nearest {noun}", near[0], "nearest")
        add(f"farthest {noun}", near[-1], "farthest")
    if n >= 2:
        by_vol = sorted(all_idx, key=lambda i: vol[i])
        if vol[by_vol[-1]] >= size_ratio * vol[by_vol[-2]]:
            add(f"biggest {noun}", by_vol[-1], "biggest")
        if vol[by_vol[1]] >= size_ratio * vol[by_vol[0]]:
            add(f"smallest {noun}", by_vol[0], "smallest")
        by_h = sorted(all_idx, key=lambda i: height[i])
        if height[by_h[-1]] - height[by_h[-2]] >= height_margin_m:
            add(f"tallest {noun}", by_h[-1], "tallest")
        if height[by_h[1]] - height[by_h[0]] >= height_margin_m:
            add(f"shortest {noun}", by_h[0], "shortest")
    by_color: dict[str, list[int]] = {}
    for o in objs:
        by_color.setdefault(o.color_name, []).append(o.index)
    for color, members in sorted(by_color.items()):
        if len(members) == 1:
            add(f"{color} {noun}", members[0], "color")
            continue
        order = _ordering_ok(u_center, u_visible, margin_px, members)
        if order is None:
            continue
        add(f"leftmost {color} {noun}", order[0], "color+leftmost")
        add(f"{color} {noun} on the right", order[-1], "color+right")
        if len(order) >= 2:
            add(f"second {color} {noun} from the left", order[1], "color+ordinal")
    return tasks
