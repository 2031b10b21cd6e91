"""UR5/UR5e kinematics: FK from the DH parameters, closed-form IK, singularities, gripper frames.

IK runs on ur_analytic_ik (a compiled, well-kept library) where it imports, and otherwise on the
numpy port of the same closed form in `ur_ik` (ur_analytic_ik ships wheels for CPython 3.10/3.11
x86_64 only; ROS 2 Jazzy runs 3.12).  `URKinematics(solver=...)` or the environment variable
`SPATIALBOT_ROS_IK_SOLVER` ("auto" | "ur_analytic_ik" | "numpy") picks one; `solver_name` says
which is in use.

Frames follow ur_description: `base_link` is REP-103 aligned (x forward), the UR controller's
`base` frame (the DH frame 0) is `base_link` rotated by pi about z, and `tool0` is the DH frame 6
(the flange, z out of the flange).  So T_base_link_tool0 = Rz(pi) @ FK_DH(q).  The gripper hangs
from `tool0`: its fingers close along tool0's y axis, the TCP (`tool_tcp`, midway between the
fingertip pads) lies `tcp_offset_m` along tool0's z axis.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import SpatialBotRosError, TransformError
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.core.ur_ik import ur_ik_dh

__all__ = [
    "BASE_FRAME",
    "DH_PARAMETERS",
    "IK_SOLVER_ENV",
    "JOINT_NAMES",
    "TCP_FRAME",
    "TOOL_FRAME",
    "ArmConfiguration",
    "DHParameters",
    "GripperGeometry",
    "IKSolution",
    "IKSolverName",
    "IKStatus",
    "JointLimits",
    "KinematicsError",
    "SingularityThresholds",
    "URKinematics",
    "resolve_ik_solver",
    "ur_analytic_ik_available",
    "wrap_to_pi",
]

_LOG = logging.getLogger(__name__)

BASE_FRAME = "base_link"
TOOL_FRAME = "tool0"
TCP_FRAME = "tool_tcp"
JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan_joint",
    "shoulder_lift_joint",
    "elbow_joint",
    "wrist_1_joint",
    "wrist_2_joint",
    "wrist_3_joint",
)

IKStatus = Literal["ok", "singular", "unreachable", "joint_limits"]
IKSolverName = Literal["auto", "ur_analytic_ik", "numpy"]
# Overrides solver="auto" (the default) process-wide, e.g. to run a whole test suite on numpy.
IK_SOLVER_ENV = "SPATIALBOT_ROS_IK_SOLVER"
_SOLVERS: tuple[str, ...] = ("auto", "ur_analytic_ik", "numpy")

_TWO_PI = 2.0 * math.pi
# base_link -> base (DH frame 0): a rotation of pi about z (ur_description's base_link-base joint).
_T_BASE_LINK_BASE = np.diag([-1.0, -1.0, 1.0, 1.0])


class KinematicsError(SpatialBotRosError, ValueError):
    """Bad kinematics input: wrong joint vector shape, unknown robot type, wrong frames."""


@dataclass(frozen=True)
class DHParameters:
    """Standard DH lengths of a UR arm in metres (alpha = [pi/2, 0, 0, pi/2, -pi/2, 0])."""

    d1: float
    a2: float
    a3: float
    d4: float
    d5: float
    d6: float

    @property
    def max_reach_m(self) -> float:
        """Upper bound of the distance from the shoulder to tool0 (arm stretched out)."""
        return abs(self.a2) + abs(self.a3) + math.hypot(self.d4, self.d5) + self.d6


DH_PARAMETERS: dict[str, DHParameters] = {
    # DESIGN.md §2 / Universal Robots' published DH tables
    "ur5": DHParameters(d1=0.089159, a2=-0.425, a3=-0.39225, d4=0.10915, d5=0.09465, d6=0.0823),
    "ur5e": DHParameters(d1=0.1625, a2=-0.425, a3=-0.3922, d4=0.1333, d5=0.0997, d6=0.0996),
}


@dataclass(frozen=True)
class JointLimits:
    """Position limits in rad for the six joints (defaults: ±2π, elbow ±π as in ur_description)."""

    lower_rad: tuple[float, ...] = (-_TWO_PI, -_TWO_PI, -math.pi, -_TWO_PI, -_TWO_PI, -_TWO_PI)
    upper_rad: tuple[float, ...] = (_TWO_PI, _TWO_PI, math.pi, _TWO_PI, _TWO_PI, _TWO_PI)

    def __post_init__(self) -> None:
        """Check six finite lower < upper pairs."""
        if len(self.lower_rad) != 6 or len(self.upper_rad) != 6:
            raise KinematicsError(
                f"expected 6 lower and 6 upper limits, got {len(self.lower_rad)} and "
                f"{len(self.upper_rad)}"
            )
        for lo, hi in zip(self.lower_rad, self.upper_rad, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise KinematicsError(f"expected finite lower < upper, got [{lo}, {hi}]")

    def contains(self, q_rad: npt.ArrayLike, tol_rad: float = 1e-9) -> bool:
        """True when every joint lies within its limits (with a small tolerance)."""
        q = np.asarray(q_rad, dtype=np.float64)
        lo = np.asarray(self.lower_rad) - tol_rad
        hi = np.asarray(self.upper_rad) + tol_rad
        return bool(np.all(q >= lo) and np.all(q <= hi))


@dataclass(frozen=True)
class SingularityThresholds:
    """How close to a singularity counts as singular (the Jacobian determinant's factors)."""

    wrist_sin: float = 0.05  # |sin q5|: wrist_1 and wrist_3 axes aligned
    elbow_sin: float = 0.05  # |sin q3|: arm stretched out or folded
    shoulder_m: float = 0.02  # wrist centre's offset from the plane of shoulder axes


@dataclass(frozen=True)
class IKSolution:
    """Result of an IK query: the chosen joints (or None) and every valid solution, closest first.

    `status` is "ok", "singular" (`q` is still given, `singularity` names which), "unreachable"
    (no real solution) or "joint_limits" (solutions exist but none inside the limits).
    """

    q: npt.NDArray[np.float64] | None
    status: IKStatus
    solutions: tuple[npt.NDArray[np.float64], ...] = ()
    singularity: str | None = None

    @property
    def ok(self) -> bool:
        """True when a usable, non-singular solution was found."""
        return self.status == "ok"


@dataclass(frozen=True)
class ArmConfiguration:
    """The IK branch a joint state lies on: shoulder side, elbow up/down, wrist flip (±1 each).

    `shoulder` is the sign of the wrist centre's offset from the shoulder axis in the arm plane
    (the factor `shoulder` of `URKinematics.singularity_terms`): the two shoulder_pan solutions
    of one pose differ in it, and the other one reaches back over the shoulder.  `elbow` is +1
    when the elbow lies above the line from the shoulder to wrist_1 (elbow up).  `wrist` is
    the sign of sin(q5).  Moving between branches in joint space passes a singularity and
    sweeps the arm through space the two end poses say nothing about.
    """

    shoulder: int
    elbow: int
    wrist: int

    @property
    def elbow_up(self) -> bool:
        """True for the elbow-up branch."""
        return self.elbow > 0


@dataclass(frozen=True)
class GripperGeometry:
    """Parallel-gripper geometry relative to tool0 (matches urdf/spatialbot_ur5.urdf.xacro).

    Fingers close along tool0's y axis; the pads' centres lie `tcp_offset_m` along tool0 z.
    Opening is the distance between the inner pad faces, 0 (closed) to `max_opening_m`.
    """

    tcp_offset_m: float = 0.150
    max_opening_m: float = 0.085
    pad_length_m: float = 0.040  # along tool0 z
    pad_width_m: float = 0.020  # along tool0 x
    finger_thickness_m: float = 0.010  # along tool0 y
    body_width_m: float = 0.110  # along tool0 y, body ends at body_length_m
    body_length_m: float = 0.100
    # Robotiq 2F-85 through ros2_control: knuckle position 0 (open) ... 0.7929 (closed)
    closed_position: float = 0.7929

    def __post_init__(self) -> None:
        """Positive sizes."""
        for name in ("tcp_offset_m", "max_opening_m", "pad_length_m", "closed_position"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise KinematicsError(f"{name} must be finite and > 0, got {value}")

    @property
    def T_tool0_tcp(self) -> RigidTransform:
        """tool0 <- tool_tcp: a pure offset along tool0 z."""
        m = np.eye(4)
        m[2, 3] = self.tcp_offset_m
        return RigidTransform(m, TOOL_FRAME, TCP_FRAME)

    def opening_to_position(self, opening_m: float) -> float:
        """Gripper opening (m) to a GripperCommand position (0 open … closed_position closed)."""
        frac = min(max(opening_m / self.max_opening_m, 0.0), 1.0)
        return (1.0 - frac) * self.closed_position

    def position_to_opening(self, position: float) -> float:
        """GripperCommand position to the opening between the pads (m), linear approximation."""
        frac = min(max(position / self.closed_position, 0.0), 1.0)
        return (1.0 - frac) * self.max_opening_m

    def fingertip_offsets_tool0_m(self, opening_m: float) -> npt.NDArray[np.float64]:
        """Pad centres (2, 3) in tool0, left (+y) then right (-y), for a given opening."""
        half = 0.5 * min(max(opening_m, 0.0), self.max_opening_m)
        return np.array(
            [[0.0, half, self.tcp_offset_m], [0.0, -half, self.tcp_offset_m]], dtype=np.float64
        )


def wrap_to_pi(angle_rad: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Wrap angles into [-pi, pi)."""
    a = np.asarray(angle_rad, dtype=np.float64)
    return np.asarray((a + math.pi) % _TWO_PI - math.pi, dtype=np.float64)


def _dh_batch(
    theta: npt.NDArray[np.float64], d: float, a: float, sin_alpha: float, cos_alpha: float
) -> npt.NDArray[np.float64]:
    """Standard DH link transforms Rz(theta) Tz(d) Tx(a) Rx(alpha), shape (N, 4, 4)."""
    c, s = np.cos(theta), np.sin(theta)
    t = np.zeros((theta.shape[0], 4, 4))
    t[:, 0, 0] = c
    t[:, 0, 1] = -s * cos_alpha
    t[:, 0, 2] = s * sin_alpha
    t[:, 0, 3] = a * c
    t[:, 1, 0] = s
    t[:, 1, 1] = c * cos_alpha
    t[:, 1, 2] = -c * sin_alpha
    t[:, 1, 3] = a * s
    t[:, 2, 1] = sin_alpha
    t[:, 2, 2] = cos_alpha
    t[:, 2, 3] = d
    t[:, 3, 3] = 1.0
    return t


def _as_q(q_rad: npt.ArrayLike) -> npt.NDArray[np.float64]:
    q = np.asarray(q_rad, dtype=np.float64)
    if q.shape != (6,):
        raise KinematicsError(f"expected 6 joint angles in rad, got shape {q.shape}")
    if not np.all(np.isfinite(q)):
        raise KinematicsError(f"expected finite joint angles, got {q.tolist()}")
    return q


@functools.lru_cache(maxsize=1)
def _ur_analytic_ik_module() -> ModuleType | None:
    """ur_analytic_ik, imported once; None where it is not installed (e.g. CPython 3.12)."""
    try:
        import ur_analytic_ik  # compiled extension; imported lazily so core imports stay light
    except ImportError as exc:
        _LOG.info("ur_analytic_ik not importable (%s): IK uses the numpy closed form", exc)
        return None
    return cast(ModuleType, ur_analytic_ik)


def ur_analytic_ik_available() -> bool:
    """True when ur_analytic_ik imports (tried once per process, then cached)."""
    return _ur_analytic_ik_module() is not None


def resolve_ik_solver(requested: str = "auto") -> Literal["ur_analytic_ik", "numpy"]:
    """The solver for `requested`; "auto" honours IK_SOLVER_ENV, then prefers ur_analytic_ik."""
    if requested not in _SOLVERS:
        raise KinematicsError(f"expected IK solver in {list(_SOLVERS)}, got {requested!r}")
    if requested == "auto":
        from_env = os.environ.get(IK_SOLVER_ENV, "auto").strip() or "auto"
        if from_env not in _SOLVERS:
            raise KinematicsError(f"expected {IK_SOLVER_ENV} in {list(_SOLVERS)}, got {from_env!r}")
        requested = from_env
    if requested == "auto":
        return "ur_analytic_ik" if ur_analytic_ik_available() else "numpy"
    if requested == "ur_analytic_ik" and not ur_analytic_ik_available():
        raise KinematicsError(
            "expected an importable ur_analytic_ik for solver='ur_analytic_ik', got ImportError "
            "(it ships wheels for CPython 3.10/3.11 x86_64 only); use solver='numpy' or 'auto'"
        )
    return cast('Literal["ur_analytic_ik", "numpy"]', requested)


@dataclass(frozen=True)
class URKinematics:
    """Forward and inverse kinematics of a UR arm in base_link (see the module docstring).

    `solver` picks the IK back end: "auto" (ur_analytic_ik where it imports, else numpy; the
    IK_SOLVER_ENV variable overrides it), "ur_analytic_ik" or "numpy".  Resolved once, here.
    """

    ur_type: str = "ur5"
    limits: JointLimits = field(default_factory=JointLimits)
    singularity: SingularityThresholds = field(default_factory=SingularityThresholds)
    solver: IKSolverName = "auto"
    _solver_name: Literal["ur_analytic_ik", "numpy"] = field(
        init=False, repr=False, compare=False, default="numpy"
    )

    def __post_init__(self) -> None:
        """Check that the robot type is known and resolve the IK solver."""
        if self.ur_type not in DH_PARAMETERS:
            raise KinematicsError(
                f"expected ur_type in {sorted(DH_PARAMETERS)}, got {self.ur_type!r}"
            )
        object.__setattr__(self, "_solver_name", resolve_ik_solver(self.solver))

    @property
    def solver_name(self) -> Literal["ur_analytic_ik", "numpy"]:
        """The IK back end in use: "ur_analytic_ik" or "numpy"."""
        return self._solver_name

    @property
    def dh(self) -> DHParameters:
        """The DH parameters of this arm."""
        return DH_PARAMETERS[self.ur_type]

    # -- forward kinematics ------------------------------------------------------------------
    def fk_matrix_batch(self, q_rad: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Joint states (N, 6) to T_base_link_tool0 matrices (N, 4, 4)."""
        q = np.asarray(q_rad, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != 6:
            raise KinematicsError(f"expected joint states of shape (N, 6), got {q.shape}")
        p = self.dh
        d = (p.d1, 0.0, 0.0, p.d4, p.d5, p.d6)
        a = (0.0, p.a2, p.a3, 0.0, 0.0, 0.0)
        sa = (1.0, 0.0, 0.0, 1.0, -1.0, 0.0)  # sin(alpha): alpha = pi/2, 0, 0, pi/2, -pi/2, 0
        ca = (0.0, 1.0, 1.0, 0.0, 0.0, 1.0)
        out = np.broadcast_to(_T_BASE_LINK_BASE, (q.shape[0], 4, 4)).copy()
        for i in range(6):
            out = out @ _dh_batch(q[:, i], d[i], a[i], sa[i], ca[i])
        return np.asarray(out, dtype=np.float64)

    def fk_matrix(self, q_rad: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """One joint state (6,) to the 4x4 T_base_link_tool0 (scalar path, no batch overhead)."""
        q = _as_q(q_rad)
        p = self.dh
        out = _T_BASE_LINK_BASE
        for i, (d, a, sa, ca) in enumerate(
            (
                (p.d1, 0.0, 1.0, 0.0),
                (0.0, p.a2, 0.0, 1.0),
                (0.0, p.a3, 0.0, 1.0),
                (p.d4, 0.0, 1.0, 0.0),
                (p.d5, 0.0, -1.0, 0.0),
                (p.d6, 0.0, 0.0, 1.0),
            )
        ):
            c, s = math.cos(q[i]), math.sin(q[i])
            out = out @ np.array(
                (
                    (c, -s * ca, s * sa, a * c),
                    (s, c * ca, -c * sa, a * s),
                    (0.0, sa, ca, d),
                    (0.0, 0.0, 0.0, 1.0),
                )
            )
        return out

    def fk(self, q_rad: npt.ArrayLike) -> RigidTransform:
        """Forward kinematics: T_base_link_tool0 as a RigidTransform."""
        return RigidTransform(self.fk_matrix(q_rad), BASE_FRAME, TOOL_FRAME)

    def fk_frames_batch(self, q_rad: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Joint states (N, 6) to base_link <- DH frame i for i = 1..6, shape (N, 6, 4, 4).

        Origins: 1 shoulder (on the base axis at d1), 2 elbow, 3 wrist_1 (both in the arm's
        plane; the links sit sideways from it along the joint axes), 4 wrist_2, 5 wrist_3,
        6 tool0.  Frame i's z axis is joint i+1's axis.
        """
        q = np.asarray(q_rad, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != 6:
            raise KinematicsError(f"expected joint states of shape (N, 6), got {q.shape}")
        p = self.dh
        d = (p.d1, 0.0, 0.0, p.d4, p.d5, p.d6)
        a = (0.0, p.a2, p.a3, 0.0, 0.0, 0.0)
        sa = (1.0, 0.0, 0.0, 1.0, -1.0, 0.0)
        ca = (0.0, 1.0, 1.0, 0.0, 0.0, 1.0)
        frames = np.empty((q.shape[0], 6, 4, 4))
        out = np.broadcast_to(_T_BASE_LINK_BASE, (q.shape[0], 4, 4))
        for i in range(6):
            out = out @ _dh_batch(q[:, i], d[i], a[i], sa[i], ca[i])
            frames[:, i] = out
        return frames

    def configuration(self, q_rad: npt.ArrayLike) -> ArmConfiguration:
        """The IK branch of a joint state (see ArmConfiguration)."""
        q = _as_q(q_rad)
        p = self.dh
        c2, c23 = math.cos(q[1]), math.cos(q[1] + q[2])
        to_wrist_1 = p.a2 * c2 + p.a3 * c23  # wrist_1's offset along DH x1 (in the arm plane)
        to_wrist = to_wrist_1 + p.d5 * math.sin(q[1] + q[2] + q[3])
        # elbow above the shoulder->wrist_1 line <=> sin(q3) and that offset differ in sign
        # (the cross product of the two arm vectors is -a2*a3*sin q3)
        elbow = -1 if math.sin(q[2]) * to_wrist_1 > 0 else 1
        return ArmConfiguration(
            shoulder=1 if to_wrist >= 0 else -1,
            elbow=elbow,
            wrist=1 if math.sin(q[4]) >= 0 else -1,
        )

    # -- singularities -----------------------------------------------------------------------
    def singularity_terms(self, q_rad: npt.ArrayLike) -> dict[str, float]:
        """The factors of det(J) = a2·a3·sin q3·sin q5·(a2 c2 + a3 c23 + d5 s234), per name."""
        q = _as_q(q_rad)
        p = self.dh
        shoulder = (
            p.a2 * math.cos(q[1])
            + p.a3 * math.cos(q[1] + q[2])
            + p.d5 * math.sin(q[1] + q[2] + q[3])
        )
        return {"wrist": math.sin(q[4]), "elbow": math.sin(q[2]), "shoulder": shoulder}

    def singularity_of(self, q_rad: npt.ArrayLike) -> str | None:
        """Name of the singularity `q` is close to ("wrist", "elbow", "shoulder"), or None."""
        terms = self.singularity_terms(q_rad)
        th = self.singularity
        if abs(terms["wrist"]) < th.wrist_sin:
            return "wrist"
        if abs(terms["elbow"]) < th.elbow_sin:
            return "elbow"
        if abs(terms["shoulder"]) < th.shoulder_m:
            return "shoulder"
        return None

    # -- inverse kinematics ------------------------------------------------------------------
    def ik_all(self, T_base_link_tool0: RigidTransform) -> list[npt.NDArray[np.float64]]:
        """Every closed-form solution (up to 8, each in [-pi, pi]) for a tool0 pose."""
        return self.ik_all_matrix(_tool0_matrix(T_base_link_tool0))

    def ik_all_matrix(
        self, T_base_link_tool0: npt.NDArray[np.float64], q6_seed_rad: float = 0.0
    ) -> list[npt.NDArray[np.float64]]:
        """Like `ik_all` for a bare 4x4 matrix (base_link <- tool0), skipping re-validation.

        `q6_seed_rad` is wrist_3 where the wrist is singular (numpy solver; ur_analytic_ik
        puts 0 or -pi there).
        """
        T_base_tool0 = _T_BASE_LINK_BASE @ T_base_link_tool0  # Rz(pi) is its own inverse
        if self._solver_name == "numpy":
            return list(ur_ik_dh(T_base_tool0, self.dh, q6_seed_rad))
        lib = _ur_analytic_ik_module()
        assert lib is not None  # resolve_ik_solver checked it
        solver = getattr(lib, self.ur_type)
        raw = solver.inverse_kinematics(np.ascontiguousarray(T_base_tool0, dtype=np.float64))
        return [np.asarray(s, dtype=np.float64).reshape(6) for s in raw]

    def _closest_in_limits(
        self, solutions: npt.NDArray[np.float64], seed: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Per solution row, the 2π shift of each joint nearest the seed, stepped back inside
        the limits; also which rows then lie within the limits."""
        lo = np.asarray(self.limits.lower_rad)
        hi = np.asarray(self.limits.upper_rad)
        cand = solutions + np.round((seed - solutions) / _TWO_PI) * _TWO_PI
        for _ in range(2):
            cand = np.where(cand > hi + 1e-12, cand - _TWO_PI, cand)
            cand = np.where(cand < lo - 1e-12, cand + _TWO_PI, cand)
        ok = np.all((cand >= lo - 1e-12) & (cand <= hi + 1e-12), axis=1)
        return np.asarray(cand, dtype=np.float64), ok

    def ik(
        self,
        T_base_link_tool0: RigidTransform,
        q_seed_rad: npt.ArrayLike | None = None,
        weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    ) -> IKSolution:
        """Closed-form IK: the in-limits solution closest (wrap-aware) to `q_seed_rad`.

        Distance is the weighted squared joint difference after choosing, per joint, the 2π
        multiple nearest the seed.  Singular solutions are reported with status "singular".
        """
        return self.ik_matrix(_tool0_matrix(T_base_link_tool0), q_seed_rad, weights)

    def ik_matrix(
        self,
        T_base_link_tool0: npt.NDArray[np.float64],
        q_seed_rad: npt.ArrayLike | None = None,
        weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    ) -> IKSolution:
        """Like `ik` for a bare, already validated 4x4 matrix (base_link <- tool0)."""
        seed = np.zeros(6) if q_seed_rad is None else _as_q(q_seed_rad)
        raw = self.ik_all_matrix(T_base_link_tool0, float(seed[5]))
        if not raw:
            return IKSolution(None, "unreachable")
        w = np.asarray(weights, dtype=np.float64)
        cand, in_limits = self._closest_in_limits(np.stack(raw), seed)
        if not np.any(in_limits):
            return IKSolution(None, "joint_limits")
        cand = cand[in_limits]
        cost = np.sum(w * (cand - seed) ** 2, axis=1)
        ordered = tuple(cand[i] for i in np.argsort(cost, kind="stable"))
        best = ordered[0]
        which = self.singularity_of(best)
        if which is not None:
            return IKSolution(best, "singular", ordered, which)
        return IKSolution(best, "ok", ordered)


def _tool0_matrix(T_base_link_tool0: RigidTransform) -> npt.NDArray[np.float64]:
    if (T_base_link_tool0.parent_frame, T_base_link_tool0.child_frame) != (BASE_FRAME, TOOL_FRAME):
        raise TransformError(
            f"expected a {BASE_FRAME}<-{TOOL_FRAME} pose, got "
            f"{T_base_link_tool0.parent_frame}<-{T_base_link_tool0.child_frame}"
        )
    return T_base_link_tool0.matrix
