"""Contact between the gripper's fingertips and the target object, judged from live depth.

The SpatialBot idea (gripper and object touch when their depths agree where they overlap in
the image) made robust:

1. Each finger pad, placed by FK (or TF) and the camera pose, is projected into the image; the
   depth the pad *should* produce is ray-cast analytically in a window around it.
2. Window pixels whose measured depth matches that expected depth are the gripper itself; the
   share of the pad seen this way says whether the pad is visible, hidden behind something
   (`occluded`) or lost in holes (`no_data`).
3. The remaining valid pixels inside the object's image region (box or mask) are deprojected
   to 3D; the gap is the distance from the pad box to the nearest of them (a low order
   statistic, not the minimum, so single noisy pixels do not fake a touch).  This measures
   gaps in any direction, not only along the camera ray.
4. States: `contact` (gap <= contact_mm), `near` (<= near_mm), `far` (with the gap in mm, or
   None when no object surface is within the search radius), `occluded`, `no_data`.

`ContactMonitor` adds hysteresis across frames and takes the gripper action's `stalled`
result as a second, decisive signal.  `image_only_contact` is the paper's variant from two
boxes and their Depth API statistics (gripper 584 mm vs object 875 mm -> not touching).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.depth_api import DepthStats, box_depth_stats, clip_box_px
from spatialbot_ros.core.errors import NoDepthError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import GripperGeometry
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "ContactMonitor",
    "ContactReading",
    "ContactState",
    "ContactThresholds",
    "FingertipContact",
    "check_contact",
    "finger_boxes_tool0",
    "image_only_contact",
]

ContactState = Literal["far", "near", "contact", "occluded", "no_data"]
Mat = npt.NDArray[np.float64]
_GAP_STATES = ("contact", "near", "far")


@dataclass(frozen=True)
class ContactThresholds:
    """Distances in mm unless named otherwise."""

    contact_mm: float = 5.0
    near_mm: float = 20.0
    search_radius_m: float = 0.06  # how far around a pad to look for the object
    gripper_depth_tol_mm: float = 8.0  # measured within this of the ray-cast pad = the pad
    min_visible_fraction: float = 0.3  # of the pad's pixels with data, seen as the pad
    min_valid_fraction: float = 0.2  # of window pixels with data, else no_data
    min_object_points: int = 6
    order_statistic: int = 6  # the k-th nearest object point gives the gap
    max_window_px: int = 24  # samples per half window side (the stride grows beyond)


@dataclass(frozen=True)
class FingertipContact:
    """What one fingertip's window showed."""

    name: str
    state: ContactState
    gap_mm: float | None
    uv_px: tuple[float, float] | None
    expected_depth_mm: float | None  # pad centre, along the optical axis
    measured_depth_mm: float | None  # median over the pad's pixels
    visible_fraction: float
    object_points: int
    object_depth_mm: float | None = None  # median depth of the object's pixels in the window

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "object_depth_mm": self.object_depth_mm,
            "name": self.name,
            "state": self.state,
            "gap_mm": self.gap_mm,
            "uv_px": None if self.uv_px is None else list(self.uv_px),
            "expected_depth_mm": self.expected_depth_mm,
            "measured_depth_mm": self.measured_depth_mm,
            "visible_fraction": self.visible_fraction,
            "object_points": self.object_points,
        }


@dataclass(frozen=True)
class ContactReading:
    """The frame's verdict: the nearest visible fingertip decides; per-fingertip details kept."""

    state: ContactState
    gap_mm: float | None
    fingertips: tuple[FingertipContact, ...] = ()
    source: Literal["depth", "image_only", "stall"] = "depth"
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "state": self.state,
            "gap_mm": self.gap_mm,
            "source": self.source,
            "detail": self.detail,
            "fingertips": [f.as_dict() for f in self.fingertips],
        }


def finger_boxes_tool0(gripper: GripperGeometry, opening_m: float) -> list[tuple[str, Mat, Mat]]:
    """Gripper boxes in tool0 as (name, centre (3,), half extents (3,)), axis-aligned.

    As in urdf/spatialbot_ur5.urdf.xacro: "left"/"right" fingers with their inner faces at
    ±opening/2 on y, spanning z from the gripper body (tcp - 0.055) to the tip (tcp + 0.010),
    then the "body" box from the flange to body_length_m.
    """
    half = 0.5 * min(max(opening_m, 0.0), gripper.max_opening_m)
    t = gripper.finger_thickness_m
    z_lo = gripper.tcp_offset_m - 0.055
    z_hi = gripper.tcp_offset_m + 0.010
    ext = np.array([0.5 * gripper.pad_width_m, 0.5 * t, 0.5 * (z_hi - z_lo)])
    zc = 0.5 * (z_hi + z_lo)
    body_half = np.array([0.03, 0.5 * gripper.body_width_m, 0.5 * gripper.body_length_m])
    return [
        ("left", np.array([0.0, half + 0.5 * t, zc]), ext),
        ("right", np.array([0.0, -half - 0.5 * t, zc]), ext.copy()),
        ("body", np.array([0.0, 0.0, 0.5 * gripper.body_length_m]), body_half),
    ]


def _state_for_gap(gap_mm: float, th: ContactThresholds) -> ContactState:
    if gap_mm <= th.contact_mm:
        return "contact"
    if gap_mm <= th.near_mm:
        return "near"
    return "far"


def _ray_box_depth(xn: Mat, yn: Mat, center: Mat, axes: Mat, half: Mat) -> Mat:
    """Depth (z, m) where rays (xn, yn, 1) from the camera origin enter a box; inf if missed."""
    # box frame: p_b = axes.T @ (p - center); ray origin 0, direction d = (xn, yn, 1)
    o = -(axes.T @ center)
    dx = axes[0, 0] * xn + axes[1, 0] * yn + axes[2, 0]
    dy = axes[0, 1] * xn + axes[1, 1] * yn + axes[2, 1]
    dz = axes[0, 2] * xn + axes[1, 2] * yn + axes[2, 2]
    t_near = np.full(xn.shape, -np.inf)
    t_far = np.full(xn.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for d, oi, hi in ((dx, o[0], half[0]), (dy, o[1], half[1]), (dz, o[2], half[2])):
            t1 = (-hi - oi) / d
            t2 = (hi - oi) / d
            lo = np.minimum(t1, t2)
            up = np.maximum(t1, t2)
            parallel = d == 0
            inside = np.abs(oi) <= hi
            lo = np.where(parallel, np.where(inside, -np.inf, np.inf), lo)
            up = np.where(parallel, np.where(inside, np.inf, -np.inf), up)
            t_near = np.maximum(t_near, lo)
            t_far = np.minimum(t_far, up)
    hit = (t_near <= t_far) & (t_far > 0)
    return np.where(hit, np.maximum(t_near, 0.0), np.inf)


def _box_distance(points: Mat, center: Mat, axes: Mat, half: Mat) -> Mat:
    """Euclidean distance (m) of points (N, 3) to a box (0 inside)."""
    q = (points - center) @ axes
    return np.asarray(np.linalg.norm(np.maximum(np.abs(q) - half, 0.0), axis=1), dtype=np.float64)


def _region_mask(
    region: tuple[float, float, float, float] | npt.NDArray[np.bool_], shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int] | None, npt.NDArray[np.bool_] | None]:
    if isinstance(region, np.ndarray):
        if region.shape != shape:
            raise SizeMismatchError(f"object mask shape {region.shape} != depth shape {shape}")
        return None, region
    return clip_box_px(region, shape[1], shape[0]), None


def check_contact(
    depth_mm: npt.NDArray[np.generic],
    intrinsics: CameraIntrinsics,
    T_camera_tool0: RigidTransform,
    opening_m: float,
    object_region: tuple[float, float, float, float] | npt.NDArray[np.bool_],
    *,
    gripper: GripperGeometry | None = None,
    thresholds: ContactThresholds | None = None,
) -> ContactReading:
    """Contact state of both fingertips against the object in one aligned depth frame (mm).

    `T_camera_tool0` maps tool0 into the depth image's optical frame (inverse hand-eye @ FK);
    `object_region` is the object's pixel box (x1, y1, x2, y2) or a boolean mask.
    """
    g = gripper or GripperGeometry()
    th = thresholds or ContactThresholds()
    if depth_mm.shape != intrinsics.size:
        raise SizeMismatchError(
            f"depth is {depth_mm.shape[1]}x{depth_mm.shape[0]} but intrinsics are "
            f"{intrinsics.width}x{intrinsics.height}"
        )
    box, mask = _region_mask(object_region, (intrinsics.height, intrinsics.width))
    R = T_camera_tool0.rotation
    t = T_camera_tool0.translation_m
    fingers = [(name, R @ c + t, R, h) for name, c, h in finger_boxes_tool0(g, opening_m)]
    tips = g.fingertip_offsets_tool0_m(opening_m) @ R.T + t
    results = tuple(
        _check_fingertip(depth_mm, intrinsics, fingers, i, tips[i], box=box, mask=mask, th=th)
        for i in range(2)  # the two fingers; the body only shadows
    )
    return _combine(results)


def _combine(results: tuple[FingertipContact, ...]) -> ContactReading:
    measured = [r for r in results if r.state in _GAP_STATES]
    if measured:
        with_gap = [r for r in measured if r.gap_mm is not None]
        if with_gap:
            best = min(with_gap, key=lambda r: float(r.gap_mm or 0.0))
            return ContactReading(best.state, best.gap_mm, results, "depth", f"{best.name} nearest")
        return ContactReading("far", None, results, "depth", "no object surface near the pads")
    if any(r.state == "occluded" for r in results):
        return ContactReading("occluded", None, results, "depth", "pads hidden")
    return ContactReading("no_data", None, results, "depth", "no depth at the pads")


def _check_fingertip(
    depth_mm: npt.NDArray[np.generic],
    intr: CameraIntrinsics,
    fingers: list[tuple[str, Mat, Mat, Mat]],
    index: int,
    tip_cam: Mat,
    *,
    box: tuple[int, int, int, int] | None,
    mask: npt.NDArray[np.bool_] | None,
    th: ContactThresholds,
) -> FingertipContact:
    name, center, axes, half = fingers[index]
    z = float(tip_cam[2])
    if not math.isfinite(z) or z <= 0.05:
        return FingertipContact(name, "no_data", None, None, None, None, 0.0, 0)
    u0 = intr.fx * tip_cam[0] / z + intr.cx
    v0 = intr.fy * tip_cam[1] / z + intr.cy
    h, w = depth_mm.shape
    if not (0.0 <= u0 < w and 0.0 <= v0 < h):
        return FingertipContact(name, "no_data", None, None, z * 1e3, None, 0.0, 0)
    radius = max(math.ceil(intr.fx * th.search_radius_m / z), 3)
    stride = max(1, math.ceil(radius / th.max_window_px))
    ui, vi = int(u0), int(v0)
    us = np.arange(max(ui - radius, 0), min(ui + radius + 1, w), stride)
    vs = np.arange(max(vi - radius, 0), min(vi + radius + 1, h), stride)
    patch = depth_mm[vs[0] : vs[-1] + 1 : stride, us[0] : us[-1] + 1 : stride]
    measured = patch.astype(np.float64) * 1e-3
    valid = measured > 0
    if patch.dtype.kind == "f":
        valid &= np.isfinite(measured)
    uv = (float(u0), float(v0))
    if valid.mean() < th.min_valid_fraction:
        return FingertipContact(name, "no_data", None, uv, z * 1e3, None, 0.0, 0)
    xn = ((us - intr.cx) / intr.fx)[None, :] + np.zeros((vs.size, 1))
    yn = ((vs - intr.cy) / intr.fy)[:, None] + np.zeros((1, us.size))
    tol = th.gripper_depth_tol_mm * 1e-3
    own = _ray_box_depth(xn, yn, center, axes, half)
    expected = own
    for j, (_, c2, a2, h2) in enumerate(fingers):
        if j != index:
            expected = np.minimum(expected, _ray_box_depth(xn, yn, c2, a2, h2))
    # what lies on or behind the modelled gripper is the gripper itself (nothing behind it is
    # visible); what lies clearly in front of it is some other surface, possibly the object
    gripper_px = valid & np.isfinite(expected) & (measured >= expected - tol)
    # the pad: pixels its ray-cast covers; seen when the measured depth matches it
    own_hit = np.isfinite(own) & valid
    n_own = int(own_hit.sum())
    if n_own:
        seen = own_hit & (np.abs(measured - own) <= tol)
        visible = float(seen.sum()) / n_own
        measured_pad = float(np.median(measured[own_hit])) * 1e3
    else:  # pad thinner than the sampling: judge by the pixel under the tip
        d = float(depth_mm[vi, ui]) * 1e-3
        visible = 1.0 if d > 0 and abs(d - z) <= tol + 0.5 * float(half[1]) * 2 else 0.0
        measured_pad = d * 1e3 if d > 0 else math.nan
    if visible < th.min_visible_fraction:
        return FingertipContact(
            name, "occluded", None, uv, z * 1e3, _none_if_nan(measured_pad), visible, 0
        )
    in_region = _in_region(us, vs, box, mask)
    obj = valid & in_region & ~gripper_px
    n_obj = int(obj.sum())
    if n_obj < th.min_object_points:
        return FingertipContact(name, "far", None, uv, z * 1e3, measured_pad, visible, n_obj)
    zs = measured[obj]
    obj_depth_mm = float(np.median(zs)) * 1e3
    pts = np.column_stack((xn[obj] * zs, yn[obj] * zs, zs))
    dist = _box_distance(pts, center, axes, half)
    k = min(th.order_statistic, dist.size) - 1
    gap_mm = float(np.partition(dist, k)[k]) * 1e3
    state = "far" if gap_mm > th.search_radius_m * 1e3 else _state_for_gap(gap_mm, th)
    return FingertipContact(
        name,
        state,
        None if state == "far" and gap_mm > th.search_radius_m * 1e3 else gap_mm,
        uv,
        z * 1e3,
        measured_pad,
        visible,
        n_obj,
        obj_depth_mm,
    )


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def _in_region(
    us: npt.NDArray[np.int64],
    vs: npt.NDArray[np.int64],
    box: tuple[int, int, int, int] | None,
    mask: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.bool_]:
    if mask is not None:
        return np.asarray(mask[np.ix_(vs, us)], dtype=bool)
    assert box is not None
    x1, y1, x2, y2 = box
    return ((vs >= y1) & (vs < y2))[:, None] & ((us >= x1) & (us < x2))[None, :]


def image_only_contact(
    depth_mm: npt.NDArray[np.generic],
    gripper_box_px: tuple[float, float, float, float],
    object_box_px: tuple[float, float, float, float],
    *,
    tolerance_mm: float = 20.0,
    near_mm: float = 50.0,
) -> ContactReading:
    """The paper's check from two boxes: do their depths agree where they overlap in the image?

    Gripper depth is its box's median, object depth the median of the object's box over the
    overlap (its whole box when they do not overlap: then they cannot touch).
    """
    h, w = depth_mm.shape[:2]
    try:
        grip: DepthStats = box_depth_stats(depth_mm, gripper_box_px)
        obj: DepthStats = box_depth_stats(depth_mm, object_box_px)
    except NoDepthError as exc:
        return ContactReading("no_data", None, (), "image_only", str(exc))
    gx1, gy1, gx2, gy2 = clip_box_px(gripper_box_px, w, h)
    ox1, oy1, ox2, oy2 = clip_box_px(object_box_px, w, h)
    ix1, iy1, ix2, iy2 = max(gx1, ox1), max(gy1, oy1), min(gx2, ox2), min(gy2, oy2)
    gap = abs(grip.median - obj.median)
    detail = f"gripper {grip.median:.0f} mm vs object {obj.median:.0f} mm"
    if ix2 <= ix1 or iy2 <= iy1:
        return ContactReading("far", gap, (), "image_only", detail + ", boxes do not overlap")
    if gap <= tolerance_mm:
        return ContactReading("contact", gap, (), "image_only", detail)
    return ContactReading("near" if gap <= near_mm else "far", gap, (), "image_only", detail)


@dataclass
class ContactMonitor:
    """Hysteresis over frames: contact needs `enter_frames` in a row, leaves after `exit_frames`.

    A stalled gripper (GripperCommand result) is contact at once.  Occluded / no_data frames
    keep the last decided state (they are not evidence either way).
    """

    enter_frames: int = 2
    exit_frames: int = 3
    release_margin_mm: float = 3.0  # once in contact, leave only beyond contact_mm + this
    contact_mm: float = 5.0
    state: ContactState = "no_data"
    last: ContactReading | None = None
    _streak: int = field(default=0, repr=False)
    _pending: ContactState | None = field(default=None, repr=False)

    def update(self, reading: ContactReading, stalled: bool = False) -> ContactState:
        """Feed one frame's reading (and the gripper's stall flag); returns the held state."""
        self.last = reading
        if stalled:
            self.state, self._pending, self._streak = "contact", None, 0
            return self.state
        if reading.state in ("occluded", "no_data"):
            if self.state == "no_data":
                self.state = reading.state
            return self.state
        proposed = reading.state
        if (
            self.state == "contact"
            and reading.gap_mm is not None
            and reading.gap_mm <= self.contact_mm + self.release_margin_mm
        ):
            proposed = "contact"
        if proposed == self.state:
            self._pending, self._streak = None, 0
            return self.state
        needed = self.enter_frames if proposed == "contact" else self.exit_frames
        if self.state not in ("contact",) and proposed != "contact":
            needed = 1  # moving between far and near is not a safety decision
        if proposed == self._pending:
            self._streak += 1
        else:
            self._pending, self._streak = proposed, 1
        if self._streak >= needed:
            self.state, self._pending, self._streak = proposed, None, 0
        return self.state

    @property
    def in_contact(self) -> bool:
        """True while the held state is contact."""
        return self.state == "contact"

    def reset(self) -> None:
        """Forget the history (a new approach)."""
        self.state, self.last, self._pending, self._streak = "no_data", None, None, 0
