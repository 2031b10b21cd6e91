"""Workspace safety: every pose and joint path is checked here before any motion backend sees it.

All positions are in `base_link` (metres): z = 0 is the plane the robot stands on, so with the
robot on the table the table top is z = `table_height_m` (0 by default).  A pose is the tool0
pose (T_base_link_tool0); the TCP and the finger pads hanging below it are checked too.

Checking the ends of a joint-space move is not enough: between two safe poses on different IK
branches the arm swings through space neither end says anything about (a shoulder flip sweeps
the elbow through the table).  `check_joint_sweep` samples the straight joint interpolation
densely and checks the gripper points and the arm's link capsules (core.robot_body) along it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.kinematics import (
    BASE_FRAME,
    TOOL_FRAME,
    GripperGeometry,
    JointLimits,
    URKinematics,
)
from spatialbot_ros.core.robot_body import ArmBody, arm_capsules
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "SafetyError",
    "SafetyLimits",
    "SafetyVerdict",
    "check_joint_path",
    "check_joint_sweep",
    "check_pose",
    "check_scaling",
    "gripper_points_base_m",
]


_EYE3 = np.eye(3)
Mat = npt.NDArray[np.float64]


class SafetyError(SpatialBotRosError, ValueError):
    """A pose, path or setting violates the safety limits (the message lists every reason)."""


@dataclass(frozen=True)
class SafetyLimits:
    """Limits in base_link, metres and radians; defaults suit a UR5 on a table."""

    workspace_min_m: tuple[float, float, float] = (-0.85, -0.85, -0.02)
    workspace_max_m: tuple[float, float, float] = (0.85, 0.85, 0.90)
    table_height_m: float = 0.0
    min_height_above_table_m: float = 0.005  # lowest allowed point of the finger pads
    reach_origin_m: tuple[float, float, float] = (0.0, 0.0, 0.089159)  # UR5 shoulder pivot
    max_reach_m: float = 0.85  # tool0 distance from reach_origin (UR5 spec reach 850 mm)
    min_radius_m: float = 0.15  # keep the tool out of the column around the base axis
    max_joint_step_rad: float = 0.6  # largest per-joint change between consecutive waypoints
    # swept-path sampling: no joint moves more than this between checked samples (0.02 rad is
    # at most ~18 mm at the tool of a stretched UR5)
    sweep_step_rad: float = 0.02
    max_velocity_scaling: float = 0.5
    max_acceleration_scaling: float = 0.5

    def __post_init__(self) -> None:
        """Reject non-finite or inconsistent limits."""
        for name in ("workspace_min_m", "workspace_max_m", "reach_origin_m"):
            value = getattr(self, name)
            if len(value) != 3 or not all(math.isfinite(v) for v in value):
                raise SafetyError(f"{name} must be 3 finite values, got {value}")
        if any(lo >= hi for lo, hi in zip(self.workspace_min_m, self.workspace_max_m, strict=True)):
            raise SafetyError(
                f"workspace_min_m must be < workspace_max_m, got {self.workspace_min_m} and "
                f"{self.workspace_max_m}"
            )
        for name in ("max_reach_m", "max_joint_step_rad", "sweep_step_rad"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise SafetyError(f"{name} must be finite and > 0, got {getattr(self, name)}")
        for name in ("max_velocity_scaling", "max_acceleration_scaling"):
            value = getattr(self, name)
            if not (0.0 < value <= 1.0):
                raise SafetyError(f"{name} must be in (0, 1], got {value}")
        if not (math.isfinite(self.table_height_m) and math.isfinite(self.min_radius_m)):
            raise SafetyError("table_height_m and min_radius_m must be finite")

    @property
    def min_z_m(self) -> float:
        """Lowest z any gripper point may reach."""
        return self.table_height_m + self.min_height_above_table_m

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SafetyLimits:
        """Build from a YAML-style mapping; unknown keys are an error, lists become tuples."""
        return dataclass_from_mapping(cls, config, "safety", SafetyError)


@dataclass(frozen=True)
class SafetyVerdict:
    """Outcome of a safety check: ok, or every reason it is not."""

    ok: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_reasons(cls, reasons: list[str]) -> SafetyVerdict:
        """ok exactly when there is no reason."""
        return cls(not reasons, tuple(reasons))

    def __add__(self, other: SafetyVerdict) -> SafetyVerdict:
        """Combine two verdicts (both must pass)."""
        return SafetyVerdict(self.ok and other.ok, self.reasons + other.reasons)

    def message(self) -> str:
        """One line for logs and refusals."""
        return "ok" if self.ok else "; ".join(self.reasons)

    def raise_if_unsafe(self) -> None:
        """Raise SafetyError with every reason when not ok."""
        if not self.ok:
            raise SafetyError(self.message())


def gripper_points_base_m(
    T_base_tool0: npt.NDArray[np.float64],
    gripper: GripperGeometry,
    opening_m: float | None = None,
) -> npt.NDArray[np.float64]:
    """Tool points checked against the limits (4, 3): TCP, pad tips (left, right), tool0."""
    opening = gripper.max_opening_m if opening_m is None else opening_m
    tips = gripper.fingertip_offsets_tool0_m(opening)
    tips[:, 2] += 0.5 * gripper.pad_length_m  # the far end of each pad, the lowest point
    local = np.vstack(([0.0, 0.0, gripper.tcp_offset_m], tips, [0.0, 0.0, 0.0]))
    return np.asarray(local @ T_base_tool0[:3, :3].T + T_base_tool0[:3, 3], dtype=np.float64)


def _pose_matrix(pose: RigidTransform | npt.ArrayLike, reasons: list[str]) -> Any:
    if isinstance(pose, RigidTransform):
        if (pose.parent_frame, pose.child_frame) != (BASE_FRAME, TOOL_FRAME):
            reasons.append(
                f"expected a {BASE_FRAME}<-{TOOL_FRAME} pose, got "
                f"{pose.parent_frame}<-{pose.child_frame}"
            )
            return None
        return pose.matrix
    m = np.asarray(pose, dtype=np.float64)
    if m.shape != (4, 4):
        reasons.append(f"expected a 4x4 pose matrix, got shape {m.shape}")
        return None
    if not np.all(np.isfinite(m)):
        reasons.append("pose has NaN/inf values")
        return None
    r = m[:3, :3]
    # cheaper than np.allclose/np.linalg.det, which dominate when planning many candidates
    if float(np.abs(r @ r.T - _EYE3).max()) > 1e-6 or _det3(r) < 0:
        reasons.append("pose rotation is not a proper rotation")
        return None
    return m


def check_pose(
    pose: RigidTransform | npt.ArrayLike,
    limits: SafetyLimits,
    gripper: GripperGeometry | None = None,
    opening_m: float | None = None,
) -> SafetyVerdict:
    """Check a tool0 pose in base_link: finite, in the box, above the table, within reach.

    With a gripper, the TCP and both pad tips (at `opening_m`, default fully open) must also be
    in the box and above the table.
    """
    reasons: list[str] = []
    m = _pose_matrix(pose, reasons)
    if m is None:
        return SafetyVerdict.from_reasons(reasons)
    tool0 = m[:3, 3]
    named = [("tool0", tool0)]
    if gripper is not None:
        pts = gripper_points_base_m(m, gripper, opening_m)
        named += [("tcp", pts[0]), ("left pad", pts[1]), ("right pad", pts[2])]
    lo = np.asarray(limits.workspace_min_m)
    hi = np.asarray(limits.workspace_max_m)
    for name, p in named:
        if np.any(p < lo) or np.any(p > hi):
            reasons.append(
                f"{name} at {_fmt(p)} m is outside the workspace box {_fmt(lo)}..{_fmt(hi)} m"
            )
        if p[2] < limits.min_z_m:
            reasons.append(
                f"{name} at z={p[2]:.3f} m is below the table limit z={limits.min_z_m:.3f} m"
            )
    reach = float(np.linalg.norm(tool0 - np.asarray(limits.reach_origin_m)))
    if reach > limits.max_reach_m:
        reasons.append(
            f"tool0 is {reach:.3f} m from the shoulder, max reach {limits.max_reach_m} m"
        )
    radius = float(math.hypot(tool0[0], tool0[1]))
    if radius < limits.min_radius_m:
        reasons.append(
            f"tool0 is {radius:.3f} m from the base axis, min radius {limits.min_radius_m} m"
        )
    return SafetyVerdict.from_reasons(reasons)


def check_joint_path(
    q_path_rad: npt.ArrayLike,
    limits: SafetyLimits,
    joint_limits: JointLimits | None = None,
    q_start_rad: npt.ArrayLike | None = None,
) -> SafetyVerdict:
    """Check joint waypoints (N, 6): finite, inside joint limits, no jump above the max step.

    `q_start_rad`, when given, is prepended so the first waypoint's jump is checked too.
    """
    q = np.asarray(q_path_rad, dtype=np.float64)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != 6 or q.shape[0] == 0:
        return SafetyVerdict(False, (f"expected joint waypoints of shape (N, 6), got {q.shape}",))
    if q_start_rad is not None:
        q = np.vstack((np.asarray(q_start_rad, dtype=np.float64).reshape(1, 6), q))
    if not np.all(np.isfinite(q)):
        return SafetyVerdict(False, ("joint path has NaN/inf values",))
    reasons: list[str] = []
    jl = joint_limits or JointLimits()
    for i, row in enumerate(q):
        if not jl.contains(row):
            reasons.append(f"waypoint {i} {_fmt(row)} rad is outside the joint limits")
    if q.shape[0] > 1:
        steps = np.abs(np.diff(q, axis=0))
        worst = np.unravel_index(int(np.argmax(steps)), steps.shape)
        if steps[worst] > limits.max_joint_step_rad:
            reasons.append(
                f"joint {worst[1]} jumps {steps[worst]:.3f} rad between waypoints {worst[0]} and "
                f"{worst[0] + 1}, max {limits.max_joint_step_rad} rad"
            )
    return SafetyVerdict.from_reasons(reasons)


def _sample_path(q: Mat, step_rad: float) -> Mat:
    """Straight joint interpolation through waypoints (N, 6), no joint moving > step_rad."""
    out = [q[:1]]
    for a, b in itertools.pairwise(q):
        n = max(1, math.ceil(float(np.abs(b - a).max()) / step_rad))
        t = np.arange(1, n + 1, dtype=np.float64)[:, None] / n
        out.append(a + t * (b - a))
    return np.vstack(out)


def _leaving_start(bad: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Drop the violations of a run that starts at sample 0 and ends before the last sample.

    A robot already in violation (parked low, say) may move out of it, never into one; a path
    that never leaves it still fails.
    """
    if not bad[0] or bad.all():
        return bad
    out = np.array(bad, dtype=np.bool_)
    out[: int(np.argmin(bad))] = False
    return out


def check_joint_sweep(
    q_path_rad: npt.ArrayLike,
    limits: SafetyLimits,
    kinematics: URKinematics,
    gripper: GripperGeometry | None = None,
    *,
    q_start_rad: npt.ArrayLike | None = None,
    opening_m: float | None = None,
    body: ArmBody | None = None,
) -> SafetyVerdict:
    """Check the straight joint-space moves through waypoints (N, 6), not just their ends.

    The interpolation is sampled so that no joint moves more than `limits.sweep_step_rad`
    between samples.  At every sample: the gripper points (tool0, TCP and pad tips, with a
    gripper) stay inside the workspace box and above the table limit, tool0 and the TCP stay
    out of the `min_radius_m` column, and no arm link capsule (core.robot_body) reaches below
    the table top.  `q_start_rad` (the current state) is prepended; violations it starts in
    may be left, never entered.
    """
    q = np.asarray(q_path_rad, dtype=np.float64)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != 6 or q.shape[0] == 0:
        return SafetyVerdict(False, (f"expected joint waypoints of shape (N, 6), got {q.shape}",))
    if q_start_rad is not None:
        q = np.vstack((np.asarray(q_start_rad, dtype=np.float64).reshape(1, 6), q))
    if not np.all(np.isfinite(q)):
        return SafetyVerdict(False, ("joint path has NaN/inf values",))
    samples = _sample_path(q, limits.sweep_step_rad)
    frames = kinematics.fk_frames_batch(samples)
    T = frames[:, 5]
    if gripper is not None:
        opening = gripper.max_opening_m if opening_m is None else opening_m
        tips = gripper.fingertip_offsets_tool0_m(opening)
        tips[:, 2] += 0.5 * gripper.pad_length_m
        local = np.vstack(([0.0, 0.0, 0.0], [0.0, 0.0, gripper.tcp_offset_m], tips))
    else:
        local = np.zeros((1, 3))
    # (S, P, 3): tool0, then TCP and the two pad tips
    pts = np.einsum("sij,pj->spi", T[:, :3, :3], local) + T[:, None, :3, 3]
    lo = np.asarray(limits.workspace_min_m)
    hi = np.asarray(limits.workspace_max_m)
    radius = np.hypot(pts[:, :2, 0], pts[:, :2, 1])  # tool0 and TCP
    caps = arm_capsules(kinematics, frames, body)
    low_z = caps.lowest_moving_z_m()
    low_link = low_z < limits.table_height_m  # (S, K)
    checks = (
        ("outside the workspace box", np.any((pts < lo) | (pts > hi), axis=(1, 2))),
        (
            f"below the table limit z={limits.min_z_m:.3f} m",
            np.any(pts[..., 2] < limits.min_z_m, 1),
        ),
        (
            f"within {limits.min_radius_m} m of the base axis",
            np.any(radius < limits.min_radius_m, 1),
        ),
        ("an arm link below the table top", np.any(low_link, axis=1)),
    )
    reasons: list[str] = []
    n = samples.shape[0] - 1
    for what, bad_samples in checks:
        bad = _leaving_start(bad_samples) if q_start_rad is not None else bad_samples
        if not bad.any():
            continue
        i = int(np.argmax(bad))
        detail = ""
        if what.startswith("an arm link"):
            k = int(np.argmax(low_link[i]))
            detail = f" ({caps.names[k]} reaches z={low_z[i, k]:.3f} m)"
        reasons.append(
            f"joint path {what} at {100.0 * i / max(n, 1):.0f}% of the way, "
            f"joints {_fmt(samples[i])} rad{detail}"
        )
    return SafetyVerdict.from_reasons(reasons)


def check_scaling(
    velocity_scaling: float, acceleration_scaling: float, limits: SafetyLimits
) -> SafetyVerdict:
    """Velocity and acceleration scaling factors must be in (0, the configured cap]."""
    reasons: list[str] = []
    for name, value, cap in (
        ("velocity scaling", velocity_scaling, limits.max_velocity_scaling),
        ("acceleration scaling", acceleration_scaling, limits.max_acceleration_scaling),
    ):
        if not (math.isfinite(value) and 0.0 < value <= cap):
            reasons.append(f"{name} must be in (0, {cap}], got {value}")
    return SafetyVerdict.from_reasons(reasons)


def _det3(r: npt.NDArray[np.float64]) -> float:
    return float(
        r[0, 0] * (r[1, 1] * r[2, 2] - r[1, 2] * r[2, 1])
        - r[0, 1] * (r[1, 0] * r[2, 2] - r[1, 2] * r[2, 0])
        + r[0, 2] * (r[1, 0] * r[2, 1] - r[1, 1] * r[2, 0])
    )


def _fmt(v: npt.ArrayLike) -> str:
    return "[" + ", ".join(f"{x:.3f}" for x in np.asarray(v, dtype=np.float64).ravel()) + "]"
