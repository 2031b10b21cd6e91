"""Grasp synthesis: target points in base_link -> pre-grasp, grasp and lift poses of tool0.

Strategy (cup-like objects, a parallel gripper closing along tool0 y):

* **top_down** (preferred): tool0 z points down, the fingers straddle the whole object and the
  pads close on its body `grasp_depth_m` below the top (never lower than the table allows).
  The fingers pass everything above the pads on the way down, so the opening must clear the
  object's width over that whole height; the closing axis is the object's narrowest
  horizontal direction, other yaws are tried when that one is unreachable.
* **side**: tool0 z horizontal, pointing from the robot at the object; the pads close on the
  body at `side_height_fraction` of its height.  Used when no top-down grasp is reachable or
  safe, or when the object is wider than the opening at the top but narrow enough at the grasp
  height (tapered cups), since a side approach only has to clear the width at the pads.
* **top_down_rim**: for cups wider than the opening everywhere, one pad goes inside the cup,
  the other outside, pinching the wall at the rim point nearest the robot.

Every pose is checked by core.safety before IK.  The pre-grasp's IK branch keeps the current
state's shoulder side and prefers elbow up (the joint-nearest branch may flip the shoulder,
sweeping the arm across the table); grasp and lift are seeded from it so they stay on that
branch, and the straight joint path from the current state through all three must pass
core.safety's swept check, not only at its ends.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.camera_model import deproject_pixels
from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.depth_api import clip_box_px, valid_depth_mask
from spatialbot_ros.core.errors import SpatialBotRosError, TransformError
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.kinematics import (
    BASE_FRAME,
    JOINT_NAMES,
    TOOL_FRAME,
    GripperGeometry,
    URKinematics,
)
from spatialbot_ros.core.safety import (
    SafetyLimits,
    check_joint_path,
    check_joint_sweep,
    check_pose,
)
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "D435_CAMERA_LINK_TO_COLOR_OPTICAL",
    "GraspConfig",
    "GraspError",
    "GraspPlan",
    "GraspRefusal",
    "GraspType",
    "HandEye",
    "ObjectGeometry",
    "estimate_object",
    "object_points_base",
    "plan_grasp",
]

GraspType = Literal["top_down", "side", "top_down_rim"]
_UP = np.array([0.0, 0.0, 1.0])
Mat = npt.NDArray[np.float64]


class GraspError(SpatialBotRosError, ValueError):
    """Bad grasp configuration or hand-eye input (not a refusal: those are GraspRefusal values)."""


# realsense2_description's nominal camera_link -> camera_color_optical_frame
D435_CAMERA_LINK_TO_COLOR_OPTICAL = RigidTransform.from_xyz_rpy(
    (0.0, 0.015, 0.0),
    (-math.pi / 2, 0.0, -math.pi / 2),
    "camera_link",
    "camera_color_optical_frame",
)


@dataclass(frozen=True)
class HandEye:
    """Hand-eye calibration: where the camera is, as T_mount_camera.

    eye_to_hand: the camera stands still, `T_mount_camera` is base_link <- camera frame.
    eye_in_hand: the camera rides on the wrist, `T_mount_camera` is tool0 <- camera frame and
    the current FK (or a TF lookup of base_link <- tool0) completes the chain.
    `camera_to_optical` continues from the calibrated frame to the optical frame the depth
    points are in (identity when the calibration already ends there).
    """

    mode: Literal["eye_to_hand", "eye_in_hand"]
    T_mount_camera: RigidTransform
    camera_to_optical: RigidTransform | None = D435_CAMERA_LINK_TO_COLOR_OPTICAL

    def __post_init__(self) -> None:
        """Check that the frames chain the way the mode says."""
        mount = BASE_FRAME if self.mode == "eye_to_hand" else TOOL_FRAME
        if self.mode not in ("eye_to_hand", "eye_in_hand"):
            raise GraspError(f"expected mode eye_to_hand or eye_in_hand, got {self.mode!r}")
        if self.T_mount_camera.parent_frame != mount:
            raise TransformError(
                f"{self.mode} calibration must be {mount}<-camera, got "
                f"{self.T_mount_camera.parent_frame}<-{self.T_mount_camera.child_frame}"
            )
        if (
            self.camera_to_optical is not None
            and self.camera_to_optical.parent_frame != self.T_mount_camera.child_frame
        ):
            raise TransformError(
                f"camera_to_optical starts at {self.camera_to_optical.parent_frame}, expected "
                f"{self.T_mount_camera.child_frame}"
            )

    @classmethod
    def from_xyz_rpy(
        cls,
        mode: Literal["eye_to_hand", "eye_in_hand"],
        xyz_m: Sequence[float],
        rpy_rad: Sequence[float],
        camera_frame: str = "camera_link",
    ) -> HandEye:
        """From the same numbers the URDF's camera_xyz / camera_rpy arguments take."""
        mount = BASE_FRAME if mode == "eye_to_hand" else TOOL_FRAME
        T = RigidTransform.from_xyz_rpy(xyz_m, rpy_rad, mount, camera_frame)
        optical = D435_CAMERA_LINK_TO_COLOR_OPTICAL if camera_frame == "camera_link" else None
        return cls(mode, T, optical)

    def T_base_camera(self, T_base_tool0: RigidTransform | None = None) -> RigidTransform:
        """base_link <- optical frame; eye-in-hand needs the current base_link <- tool0."""
        if self.mode == "eye_in_hand":
            if T_base_tool0 is None:
                raise GraspError("eye_in_hand needs the current base_link<-tool0 pose, got None")
            T = T_base_tool0 @ self.T_mount_camera
        else:
            T = self.T_mount_camera
        return T if self.camera_to_optical is None else T @ self.camera_to_optical


def object_points_base(
    depth_mm: npt.NDArray[np.generic],
    intrinsics: CameraIntrinsics,
    box_px: tuple[float, float, float, float],
    T_base_camera: RigidTransform,
    *,
    mask: npt.NDArray[np.bool_] | None = None,
    table_height_m: float = 0.0,
    above_table_m: float = 0.008,
    depth_band_m: float = 0.15,
    max_points: int = 4000,
) -> npt.NDArray[np.float64]:
    """The target's points (N, 3) in base_link from the depth inside its box (and mask).

    Table points (within `above_table_m` of the table) and background (farther than
    `depth_band_m` behind the box's nearest-quartile depth) are dropped; at most `max_points`
    are kept by a regular stride, which keeps the result deterministic.
    """
    h, w = depth_mm.shape[:2]
    x1, y1, x2, y2 = clip_box_px(box_px, w, h)
    patch = depth_mm[y1:y2, x1:x2]
    valid = valid_depth_mask(patch)
    if mask is not None:
        valid &= mask[y1:y2, x1:x2]
    v, u = np.nonzero(valid)
    if v.size == 0:
        return np.zeros((0, 3))
    z_m = patch[v, u].astype(np.float64) * 1e-3
    near = float(np.percentile(z_m, 25.0))
    keep = z_m <= near + depth_band_m
    v, u, z_m = v[keep], u[keep], z_m[keep]
    if v.size > max_points:
        step = math.ceil(v.size / max_points)
        v, u, z_m = v[::step], u[::step], z_m[::step]
    xyz_cam = deproject_pixels(intrinsics, np.column_stack((u + x1, v + y1)), z_m)
    pts = T_base_camera.apply(xyz_cam)
    return np.asarray(pts[pts[:, 2] > table_height_m + above_table_m], dtype=np.float64)


@dataclass(frozen=True)
class GraspConfig:
    """Grasp synthesis settings (metres, degrees where named)."""

    gripper: GripperGeometry = field(default_factory=GripperGeometry)
    strategy: Literal["auto", "top_down", "side"] = "auto"
    approach_distance_m: float = 0.10
    lift_height_m: float = 0.10
    opening_margin_m: float = 0.02  # wanted opening beyond the object's width (both sides)
    min_clearance_m: float = 0.006  # an object this much narrower than max opening still fits
    grasp_depth_m: float = 0.03  # pad centres this far below the object's top (top_down)
    side_height_fraction: float = 0.5
    rim_depth_m: float = 0.015
    rim_opening_m: float = 0.035
    allow_rim: bool = True
    table_clearance_m: float = 0.01  # pads and gripper body stay this far above the table
    yaw_offsets_deg: tuple[float, ...] = (0.0, 30.0, -30.0, 60.0, -60.0, 90.0)
    side_yaw_offsets_deg: tuple[float, ...] = (0.0, 20.0, -20.0, 40.0, -40.0)
    min_points: int = 10
    extent_percentile: float = 2.0
    max_points: int = 800  # enough for robust extents; keeps planning well under 10 ms

    def __post_init__(self) -> None:
        """Positive distances, sane fractions."""
        for name in ("approach_distance_m", "lift_height_m", "rim_opening_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise GraspError(f"{name} must be finite and > 0, got {value}")
        if not 0.0 < self.side_height_fraction < 1.0:
            raise GraspError(
                f"side_height_fraction must be in (0, 1), got {self.side_height_fraction}"
            )
        if self.strategy not in ("auto", "top_down", "side"):
            raise GraspError(f"strategy must be auto, top_down or side, got {self.strategy!r}")

    @property
    def tcp_offset_m(self) -> float:
        """tool0 -> pad centre distance along tool0 z."""
        return self.gripper.tcp_offset_m

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> GraspConfig:
        """From YAML: GraspConfig keys, plus `tcp_offset_m` / `max_opening_m` for the gripper."""
        cfg = dict(config)
        gripper_keys = {f.name for f in fields(GripperGeometry)}
        gripper_cfg = {k: cfg.pop(k) for k in list(cfg) if k in gripper_keys}
        if "gripper" in cfg:
            raise GraspError("unknown grasp keys ['gripper']; give its fields at the top level")
        gripper = dataclass_from_mapping(GripperGeometry, gripper_cfg, "gripper", GraspError)
        return dataclass_from_mapping(cls, {**cfg, "gripper": gripper}, "grasp", GraspError)


@dataclass(frozen=True)
class ObjectGeometry:
    """Robust extents of the target in base_link: centre, narrow/wide horizontal axes, heights."""

    center_m: npt.NDArray[np.float64]  # (3,), z = mid height
    narrow_axis: npt.NDArray[np.float64]  # (3,) unit, horizontal
    wide_axis: npt.NDArray[np.float64]
    width_narrow_m: float
    width_wide_m: float
    top_z_m: float
    bottom_z_m: float
    n_points: int

    @property
    def height_m(self) -> float:
        """Top minus bottom."""
        return self.top_z_m - self.bottom_z_m

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "center_m": [float(v) for v in self.center_m],
            "size_m": [self.width_narrow_m, self.width_wide_m, self.height_m],
            "narrow_axis": [float(v) for v in self.narrow_axis],
            "top_z_m": self.top_z_m,
            "bottom_z_m": self.bottom_z_m,
            "n_points": self.n_points,
        }


def estimate_object(
    points_base_m: npt.NDArray[np.float64], table_height_m: float, percentile: float = 2.0
) -> ObjectGeometry:
    """Centre, principal horizontal axes and extents from points, robust to a few outliers.

    The bottom is the table when the lowest points are near it (the foot is usually hidden).
    """
    xy = points_base_m[:, :2]
    mean_xy = xy.mean(axis=0)
    cov = np.cov((xy - mean_xy).T) if xy.shape[0] > 2 else np.eye(2)
    _, evecs = np.linalg.eigh(cov)
    narrow2, wide2 = evecs[:, 0], evecs[:, 1]  # eigh sorts ascending
    lo, hi = percentile, 100.0 - percentile
    pn = xy @ narrow2
    pw = xy @ wide2
    n_lo, n_hi = np.percentile(pn, [lo, hi])
    w_lo, w_hi = np.percentile(pw, [lo, hi])
    z_lo, z_hi = np.percentile(points_base_m[:, 2], [lo, hi])
    center_xy = narrow2 * 0.5 * (n_lo + n_hi) + wide2 * 0.5 * (w_lo + w_hi)
    bottom = table_height_m if abs(z_lo - table_height_m) < 0.03 else float(z_lo)
    top = float(max(z_hi, bottom + 0.005))
    return ObjectGeometry(
        center_m=np.array([center_xy[0], center_xy[1], 0.5 * (top + bottom)]),
        narrow_axis=np.array([narrow2[0], narrow2[1], 0.0]),
        wide_axis=np.array([wide2[0], wide2[1], 0.0]),
        width_narrow_m=float(n_hi - n_lo),
        width_wide_m=float(w_hi - w_lo),
        top_z_m=top,
        bottom_z_m=float(bottom),
        n_points=int(points_base_m.shape[0]),
    )


def _pose_dict(T: RigidTransform) -> dict[str, Any]:
    xyz, quat = T.to_xyz_quat()
    return {"xyz": [float(v) for v in xyz], "quat_xyzw": [float(v) for v in quat]}


@dataclass(frozen=True)
class GraspPlan:
    """A feasible grasp: tool0 poses (base_link <- tool0) with their IK solutions."""

    grasp_type: GraspType
    pre_grasp: RigidTransform
    grasp: RigidTransform
    lift: RigidTransform
    q_pre: npt.NDArray[np.float64]
    q_grasp: npt.NDArray[np.float64]
    q_lift: npt.NDArray[np.float64]
    opening_m: float
    gripper_position: float  # GripperCommand position for `opening_m` (0 open … 0.7929 closed)
    tcp_offset_m: float
    grasp_point_m: npt.NDArray[np.float64]  # TCP (pad centre) at grasp, base_link
    object: ObjectGeometry
    notes: tuple[str, ...] = ()

    def waypoints(self) -> list[tuple[str, RigidTransform, npt.NDArray[np.float64]]]:
        """(name, pose, joints) for pre_grasp, grasp and lift in execution order."""
        return [
            ("pre_grasp", self.pre_grasp, self.q_pre),
            ("grasp", self.grasp, self.q_grasp),
            ("lift", self.lift, self.q_lift),
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the result schema's "grasp" field)."""
        return {
            "refused": False,
            "grasp_type": self.grasp_type,
            "frame_id": BASE_FRAME,
            "tool_frame": TOOL_FRAME,
            "pre_grasp": _pose_dict(self.pre_grasp),
            "grasp": _pose_dict(self.grasp),
            "lift": _pose_dict(self.lift),
            "joint_names": list(JOINT_NAMES),
            "q_pre": [float(v) for v in self.q_pre],
            "q_grasp": [float(v) for v in self.q_grasp],
            "q_lift": [float(v) for v in self.q_lift],
            "opening_m": self.opening_m,
            "gripper_position": self.gripper_position,
            "tcp_offset_m": self.tcp_offset_m,
            "grasp_point_m": [float(v) for v in self.grasp_point_m],
            "object": self.object.as_dict(),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class GraspRefusal:
    """No safe, reachable grasp: the reason, and what each candidate ran into."""

    reason: str
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the result schema's refused grasp)."""
        return {"refused": True, "reason": self.reason, "details": list(self.details)}


@dataclass(frozen=True)
class _Candidate:
    grasp_type: GraspType
    R_base_tool0: npt.NDArray[np.float64]  # 3x3 columns x, y, z of tool0 in base_link
    tcp_m: npt.NDArray[np.float64]
    opening_m: float
    label: str


def _cross(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # np.cross costs ~10 µs of axis bookkeeping per call; these are always 3-vectors
    return np.array(
        (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
    )


def _top_down_rotation(closing_axis: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    z = np.array([0.0, 0.0, -1.0])
    y = closing_axis / np.linalg.norm(closing_axis)
    return np.column_stack((_cross(y, z), y, z))


def _side_rotation(approach: npt.NDArray[np.float64], flip: bool) -> npt.NDArray[np.float64]:
    z = approach / np.linalg.norm(approach)
    y = _cross(_UP, z)
    if flip:
        y = -y
    return np.column_stack((_cross(y, z), y, z))


def _rot_z(v: npt.NDArray[np.float64], deg: float) -> npt.NDArray[np.float64]:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1], 0.0])


def _robust_range(values: npt.NDArray[np.float64], percentile: float) -> float:
    """Spread between the percentile and 100 - percentile order statistics (no interpolation).

    np.partition instead of np.percentile: this runs for every candidate yaw.
    """
    n = values.shape[0]
    k = min(max(round(n * percentile / 100.0), 0), (n - 1) // 2)
    lo_hi = np.partition(values, (k, n - 1 - k))
    return float(lo_hi[n - 1 - k] - lo_hi[k])


def _width_along(
    points: npt.NDArray[np.float64],
    axis: npt.NDArray[np.float64],
    z_min: float,
    z_max: float,
    percentile: float,
) -> float:
    z = points[:, 2]
    sel = points[(z >= z_min) & (z <= z_max)]
    if sel.shape[0] < 3:
        return 0.0
    return _robust_range(sel[:, 0] * axis[0] + sel[:, 1] * axis[1], percentile)


@dataclass
class _Search:
    """Inputs shared by the candidate generators, and what they found."""

    points: npt.NDArray[np.float64]
    obj: ObjectGeometry
    config: GraspConfig
    limits: SafetyLimits
    rejected: list[str]
    top_down_fits: bool = False

    @property
    def table_min(self) -> float:
        return self.limits.table_height_m + self.config.table_clearance_m


def _top_down_runs(st: _Search) -> Iterator[list[_Candidate]]:
    """Top-down on the body, narrow axis first; each run holds the two mirror images."""
    g, obj, config = st.config.gripper, st.obj, st.config
    pad_z = max(obj.top_z_m - config.grasp_depth_m, st.table_min + 0.5 * g.pad_length_m)
    pad_z = min(pad_z, obj.top_z_m)
    for deg in config.yaw_offsets_deg:
        axis = _rot_z(obj.narrow_axis, deg)
        width = _width_along(
            st.points, axis, pad_z - 0.5 * g.pad_length_m, np.inf, config.extent_percentile
        )
        if width + config.min_clearance_m > g.max_opening_m:
            st.rejected.append(
                f"top_down yaw {deg:+.0f}°: object {width * 1000:.0f} mm wide above the pads, "
                f"usable opening {(g.max_opening_m - config.min_clearance_m) * 1000:.0f} mm"
            )
            continue
        st.top_down_fits = True
        opening = min(width + config.opening_margin_m, g.max_opening_m)
        tcp = np.array([obj.center_m[0], obj.center_m[1], pad_z])
        label = f"top_down {deg:+.0f}°"
        # one of the two mirror images; _mirror_to_seed picks the wrist_3 turn afterwards
        yield [_Candidate("top_down", _top_down_rotation(axis), tcp, opening, label)]


def _side_runs(st: _Search) -> Iterator[list[_Candidate]]:
    """Horizontal approach from the robot's side, pads at side_height_fraction of the height."""
    g, obj, config = st.config.gripper, st.obj, st.config
    radial = np.array([obj.center_m[0], obj.center_m[1], 0.0])
    norm = float(np.linalg.norm(radial))
    if norm < 1e-6:
        return
    side_z = obj.bottom_z_m + config.side_height_fraction * obj.height_m
    side_z = max(side_z, st.table_min + 0.5 * g.pad_width_m + 0.03)  # gripper body clearance
    side_z = min(side_z, obj.top_z_m)
    half_pad = 0.5 * g.pad_width_m
    for deg in config.side_yaw_offsets_deg:
        approach = _rot_z(radial / norm, deg)
        closing = _cross(_UP, approach)
        width = _width_along(
            st.points, closing, side_z - half_pad, side_z + half_pad, config.extent_percentile
        )
        width = width if width > 0 else obj.width_narrow_m
        if width + config.min_clearance_m > g.max_opening_m:
            st.rejected.append(
                f"side yaw {deg:+.0f}°: object {width * 1000:.0f} mm wide at the pads"
            )
            continue
        opening = min(width + config.opening_margin_m, g.max_opening_m)
        tcp = np.array([obj.center_m[0], obj.center_m[1], side_z])
        label = f"side {deg:+.0f}°"
        yield [_Candidate("side", _side_rotation(approach, False), tcp, opening, label)]


def _rim_runs(st: _Search) -> Iterator[list[_Candidate]]:
    """Pinch the rim nearest the robot, only for cups too wide for any top-down body grasp."""
    g, obj, config = st.config.gripper, st.obj, st.config
    if not config.allow_rim or st.top_down_fits:
        return
    radial = np.array([obj.center_m[0], obj.center_m[1], 0.0])
    toward_robot = -radial / max(float(np.linalg.norm(radial)), 1e-9)
    radius = 0.5 * _width_along(
        st.points, toward_robot, obj.top_z_m - 0.03, np.inf, config.extent_percentile
    )
    radius = radius if radius > 0 else 0.5 * obj.width_narrow_m
    rim_xy = obj.center_m[:2] + toward_robot[:2] * max(radius - 0.004, 0.0)
    rim_z = max(obj.top_z_m - config.rim_depth_m, st.table_min + 0.5 * g.pad_length_m)
    yield [
        _Candidate(
            "top_down_rim",
            _top_down_rotation(toward_robot),
            np.array([rim_xy[0], rim_xy[1], rim_z]),
            min(config.rim_opening_m, g.max_opening_m),
            "top_down_rim",
        )
    ]


def _candidate_runs(st: _Search) -> Iterator[list[_Candidate]]:
    """Runs of alternatives in preference order, generated lazily (most plans stop early)."""
    strategy = st.config.strategy
    if strategy == "top_down":
        return itertools.chain(_top_down_runs(st), _rim_runs(st))
    if strategy == "side":
        return _side_runs(st)
    return itertools.chain(_top_down_runs(st), _side_runs(st), _rim_runs(st))


def _matrix(R: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    m = np.eye(4)
    m[:3, :3] = R
    m[:3, 3] = p
    return m


def _ranked_branches(
    solutions: Sequence[Mat], q_current: Mat, kinematics: URKinematics
) -> list[Mat]:
    """IK solutions worth trying, best first: the current shoulder side, elbow up, nearest.

    The nearest solution in joint space can sit on the other shoulder side (from a parked
    pose it does): the straight joint move there flips the shoulder and sweeps the arm low
    across the table.  Keeping the branch keeps the arm's shape while it moves.  Elbow-down
    branches (the elbow below the shoulder->wrist line, next to the table) are dropped unless
    the arm is elbow-down already; that also halves the work when every branch fails.
    """
    here = kinematics.configuration(q_current)
    ranked: list[tuple[tuple[bool, bool, float], Mat]] = []
    for q in solutions:
        c = kinematics.configuration(q)
        if c.elbow_up or not here.elbow_up:
            key = (c.shoulder != here.shoulder, not c.elbow_up, float(np.sum((q - q_current) ** 2)))
            ranked.append((key, q))
    ranked.sort(key=lambda item: item[0])
    return [q for _, q in ranked]


def _try_candidate(
    cand: _Candidate,
    config: GraspConfig,
    kinematics: URKinematics,
    limits: SafetyLimits,
    q_current: npt.NDArray[np.float64],
) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]], float] | str:
    """Poses and IK for one candidate, or the reason it fails.

    Every IK branch of the pre-grasp is tried in `_ranked_branches` order; grasp and lift
    follow from it (seeded, so they stay on it), and the whole joint path from `q_current`
    must pass the swept check, not just its waypoints.
    """
    z = cand.R_base_tool0[:, 2]
    p_grasp = cand.tcp_m - config.tcp_offset_m * z
    poses = [
        _matrix(cand.R_base_tool0, p_grasp - config.approach_distance_m * z),
        _matrix(cand.R_base_tool0, p_grasp),
        _matrix(cand.R_base_tool0, p_grasp + config.lift_height_m * _UP),
    ]
    names = ("pre_grasp", "grasp", "lift")
    # the pads are open on the way in and closed around the object on the way up
    openings = (config.gripper.max_opening_m, cand.opening_m, max(cand.opening_m - 0.02, 0.0))
    for name, m, opening in zip(names, poses, openings, strict=True):
        verdict = check_pose(m, limits, config.gripper, opening)
        if not verdict.ok:
            return f"{cand.label}: {name} unsafe: {verdict.message()}"
    first = kinematics.ik_matrix(poses[0], q_current)
    if first.q is None:
        return f"{cand.label}: pre_grasp IK {first.status}"
    failures: list[str] = []
    for q_pre in _ranked_branches(first.solutions, q_current, kinematics):
        outcome = _try_branch(
            q_pre, poses, config=config, kinematics=kinematics, limits=limits, q_current=q_current
        )
        if isinstance(outcome, str):
            failures.append(outcome)
            continue
        poses_out, qs = outcome
        return poses_out, qs, float(np.sum((qs[0] - q_current) ** 2))
    return f"{cand.label}: " + (failures[0] if len(failures) == 1 else _branch_summary(failures))


def _branch_summary(failures: list[str]) -> str:
    return f"every IK branch fails ({len(failures)}; first: {failures[0]})"


def _try_branch(
    q_pre: Mat,
    poses: list[Mat],
    *,
    config: GraspConfig,
    kinematics: URKinematics,
    limits: SafetyLimits,
    q_current: Mat,
) -> tuple[list[Mat], list[Mat]] | str:
    """Grasp and lift IK seeded from one pre-grasp branch, then the path checks."""
    which = kinematics.singularity_of(q_pre)
    if which is not None:
        return f"pre_grasp IK singular ({which})"
    qs = [q_pre]
    for name, m in zip(("grasp", "lift"), poses[1:], strict=True):
        sol = kinematics.ik_matrix(m, qs[-1])
        if sol.q is None or not sol.ok:
            extra = f" ({sol.singularity})" if sol.singularity else ""
            return f"{name} IK {sol.status}{extra}"
        qs.append(sol.q)
    path = check_joint_path(np.array(qs), limits, kinematics.limits)
    if not path.ok:
        return f"joint path: {path.message()}"
    poses, qs = _mirror_to_seed(poses, qs, q_current, kinematics)
    sweep = check_joint_sweep(
        np.array(qs), limits, kinematics, config.gripper, q_start_rad=q_current
    )
    if not sweep.ok:
        return f"swept path: {sweep.message()}"
    return poses, qs


def _mirror_to_seed(
    poses: list[Mat], qs: list[Mat], q_current: Mat, kinematics: URKinematics
) -> tuple[list[Mat], list[Mat]]:
    """Pick the gripper's mirror image (wrist_3 turned by ±π) that turns wrist_3 least.

    The parallel gripper is symmetric about tool0 z, and wrist_3 turns about that axis, so
    FK(q6 ± π) = FK(q) @ Rz(π): the same grasp, reached with the other wrist_3 angle.  Safety
    and joint steps are unchanged by the swap, so no second IK chain is needed.
    """
    lo, hi = kinematics.limits.lower_rad[5], kinematics.limits.upper_rad[5]
    best_shift, best = 0.0, abs(qs[0][5] - q_current[5])
    for shift in (math.pi, -math.pi):
        if all(lo <= q[5] + shift <= hi for q in qs):
            cost = abs(qs[0][5] + shift - q_current[5])
            if cost < best - 1e-9:
                best_shift, best = shift, cost
    if best_shift == 0.0:
        return poses, qs
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])  # Rz(pi) on the right: x and y axes reversed
    new_qs = []
    for q in qs:
        q2 = q.copy()
        q2[5] += best_shift
        new_qs.append(q2)
    return [m @ flip for m in poses], new_qs


def _make_plan(
    cand: _Candidate,
    poses: list[Mat],
    qs: list[Mat],
    obj: ObjectGeometry,
    config: GraspConfig,
) -> GraspPlan:
    T = [RigidTransform(m, BASE_FRAME, TOOL_FRAME) for m in poses]
    return GraspPlan(
        grasp_type=cand.grasp_type,
        pre_grasp=T[0],
        grasp=T[1],
        lift=T[2],
        q_pre=qs[0],
        q_grasp=qs[1],
        q_lift=qs[2],
        opening_m=float(cand.opening_m),
        gripper_position=config.gripper.opening_to_position(cand.opening_m),
        tcp_offset_m=config.tcp_offset_m,
        grasp_point_m=cand.tcp_m.copy(),
        object=obj,
        notes=(f"chose {cand.label}",),
    )


def plan_grasp(
    points_base_m: npt.ArrayLike,
    config: GraspConfig,
    kinematics: URKinematics,
    safety: SafetyLimits,
    q_current: npt.ArrayLike,
    *,
    on_candidate: Callable[[str], None] | None = None,
) -> GraspPlan | GraspRefusal:
    """Plan pre-grasp, grasp and lift for the target's points (N, 3) in base_link, metres.

    Returns a GraspRefusal (never raises for an unreachable or unsafe target) when the points
    are unusable, the object lies outside the limits, or no candidate is safe and reachable.
    """
    pts = np.asarray(points_base_m, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        return GraspRefusal(f"expected target points of shape (N, 3), got {pts.shape}")
    q0 = np.asarray(q_current, dtype=np.float64)
    if q0.shape != (6,) or not np.all(np.isfinite(q0)):
        return GraspRefusal(f"expected 6 finite current joint angles, got {q0.tolist()}")
    finite = np.all(np.isfinite(pts), axis=1)
    if pts.shape[0] and finite.sum() < 0.5 * pts.shape[0]:
        return GraspRefusal(
            f"target points are mostly NaN/inf ({int((~finite).sum())} of {len(pts)})"
        )
    pts = pts[finite]
    if pts.shape[0] < config.min_points:
        return GraspRefusal(
            f"expected at least {config.min_points} valid target points, got {pts.shape[0]}"
        )
    if pts.shape[0] > config.max_points:
        pts = pts[:: math.ceil(pts.shape[0] / config.max_points)]
    obj = estimate_object(pts, safety.table_height_m, config.extent_percentile)
    if obj.top_z_m < safety.min_z_m:
        return GraspRefusal(
            f"target top z={obj.top_z_m:.3f} m is below the table limit z={safety.min_z_m:.3f} m"
        )
    lo, hi = np.asarray(safety.workspace_min_m), np.asarray(safety.workspace_max_m)
    if np.any(obj.center_m < lo) or np.any(obj.center_m > hi):
        return GraspRefusal(
            f"target centre {np.round(obj.center_m, 3).tolist()} m is outside the workspace box "
            f"{list(safety.workspace_min_m)}..{list(safety.workspace_max_m)} m"
        )
    reach = float(np.linalg.norm(obj.center_m - np.asarray(safety.reach_origin_m)))
    if reach > safety.max_reach_m:
        return GraspRefusal(
            f"target is {reach:.3f} m from the shoulder, beyond the max reach "
            f"{safety.max_reach_m} m"
        )
    rejected: list[str] = []
    search = _Search(pts, obj, config, safety, rejected)
    # alternatives in one run (mirror images) compete on joint motion; the first run with a
    # feasible alternative wins, since runs come in preference order
    for run in _candidate_runs(search):
        best: tuple[_Candidate, list[Mat], list[Mat]] | None = None
        best_cost = math.inf
        for cand in run:
            outcome = _try_candidate(cand, config, kinematics, safety, q0)
            if isinstance(outcome, str):
                rejected.append(outcome)
                if on_candidate is not None:
                    on_candidate(outcome)
                continue
            poses, qs, cost = outcome
            if cost < best_cost:
                best, best_cost = (cand, poses, qs), cost
        if best is not None:
            return _make_plan(*best, obj, config)
    reason = "no safe, reachable grasp"
    if rejected:
        # the last rejection is usually the most specific (the fallback strategies come last)
        reason += f" ({len(rejected)} candidates rejected; last: {rejected[-1]})"
    return GraspRefusal(reason, tuple(rejected[:20]))
