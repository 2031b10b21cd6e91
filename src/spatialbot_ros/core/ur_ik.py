"""Closed-form UR inverse kinematics in numpy: the fallback where ur_analytic_ik does not import.

The standard analytic solution for the UR family (Hawkins, "Analytic inverse kinematics for the
Universal Robots UR-5/UR-10 arms", 2013): shoulder_pan from the wrist centre's offset, wrist_2
and wrist_3 from the tool orientation, then a planar two-link problem for the shoulder and
elbow.  Up to 8 solutions: shoulder left/right × wrist flip × elbow up/down, in the same order,
wrapping and validity rules as ur_analytic_ik (rows of NaN-free, FK-checked, de-duplicated
solutions, each joint in [-pi, pi)).  Everything here works in the UR controller's `base`
frame (DH frame 0) and `tool0` (DH frame 6); turning base_link poses into it is the caller's job.

Degenerate cases are handled, never leaked as NaN:
  * wrist singularity (sin q5 ≈ 0, wrist_1 ∥ wrist_3): only q4 + q6 is defined, so q6 is set
    to the caller's seed and q4 absorbs the rest; the two wrist flips then coincide.
  * shoulder singularity (the wrist centre at exactly the d4 offset from the base axis, i.e. on
    the plane of the shoulder axes): the two shoulder_pan solutions coincide.
  * elbow singularity (arm stretched out or folded): the two elbow solutions coincide.
  * unreachable poses (or non-finite input): no solution, an empty (0, 6) array.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "FK_TOLERANCE",
    "DHLike",
    "ur_fk_dh_batch",
    "ur_ik_dh",
    "ur_ik_dh_batch",
]

# Every returned solution reproduces the pose to this (max element of the 4x4); the same check
# ur_analytic_ik applies as its last line of defence.
FK_TOLERANCE = 1e-9
# Below this, sqrt arguments that should be >= 0 are rounding noise of a degenerate pose.
_SNAP = 1e-12
_TWO_PI = 2.0 * math.pi


class DHLike(Protocol):
    """The six DH lengths of a UR arm in metres (alpha = [pi/2, 0, 0, pi/2, -pi/2, 0])."""

    @property
    def d1(self) -> float:
        """Base to shoulder height."""

    @property
    def a2(self) -> float:
        """Upper arm length (negative in UR's convention)."""

    @property
    def a3(self) -> float:
        """Forearm length (negative in UR's convention)."""

    @property
    def d4(self) -> float:
        """Shoulder-to-wrist sideways offset."""

    @property
    def d5(self) -> float:
        """wrist_1 to wrist_2 offset."""

    @property
    def d6(self) -> float:
        """wrist_2 to flange offset."""


def ur_fk_dh_batch(q_rad: npt.NDArray[np.float64], dh: DHLike) -> npt.NDArray[np.float64]:
    """Joint states (..., 6) to T_base_tool0 (..., 4, 4) in the DH base frame, closed form."""
    q = np.asarray(q_rad, dtype=np.float64)
    c1, s1 = np.cos(q[..., 0]), np.sin(q[..., 0])
    c5, s5 = np.cos(q[..., 4]), np.sin(q[..., 4])
    c6, s6 = np.cos(q[..., 5]), np.sin(q[..., 5])
    q23 = q[..., 1] + q[..., 2]
    q234 = q23 + q[..., 3]
    c2, c23 = np.cos(q[..., 1]), np.cos(q23)
    s2, s23 = np.sin(q[..., 1]), np.sin(q23)
    c234, s234 = np.cos(q234), np.sin(q234)
    # frame 1 <- tool0 expressed with x1 (in the arm plane), y1 (vertical), z1 (sideways)
    x_x = c234 * c5 * c6 - s234 * s6
    x_y = s234 * c5 * c6 + c234 * s6
    x_z = s5 * c6
    y_x = -c234 * c5 * s6 - s234 * c6
    y_y = -s234 * c5 * s6 + c234 * c6
    y_z = -s5 * s6
    z_x = -c234 * s5
    z_y = -s234 * s5
    z_z = c5
    p_x = dh.a2 * c2 + dh.a3 * c23 + dh.d5 * s234 - dh.d6 * c234 * s5
    p_y = dh.a2 * s2 + dh.a3 * s23 - dh.d5 * c234 - dh.d6 * s234 * s5
    p_z = dh.d4 + dh.d6 * c5
    out = np.zeros((*q.shape[:-1], 4, 4))
    # base <- frame 1: x1 = (c1, s1, 0), y1 = (0, 0, 1), z1 = (s1, -c1, 0), origin (0, 0, d1)
    for col, (vx, vy, vz) in enumerate(((x_x, x_y, x_z), (y_x, y_y, y_z), (z_x, z_y, z_z))):
        out[..., 0, col] = c1 * vx + s1 * vz
        out[..., 1, col] = s1 * vx - c1 * vz
        out[..., 2, col] = vy
    out[..., 0, 3] = c1 * p_x + s1 * p_z
    out[..., 1, 3] = s1 * p_x - c1 * p_z
    out[..., 2, 3] = dh.d1 + p_y
    out[..., 3, 3] = 1.0
    return out


def _wrap(angle_rad: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray((angle_rad + math.pi) % _TWO_PI - math.pi, dtype=np.float64)


def ur_ik_dh_batch(
    T_base_tool0: npt.NDArray[np.float64],
    dh: DHLike,
    q6_seed_rad: float | npt.NDArray[np.float64] = 0.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """All 8 candidate solutions per pose: poses (N, 4, 4) -> q (N, 8, 6) and valid (N, 8).

    Rows are ordered shoulder (2) × wrist flip (2) × elbow (2), like ur_analytic_ik.  Invalid
    rows (no real solution, or failing the FK check) hold zeros and `valid` False; duplicates
    at singularities are not removed here (see `ur_ik_dh`).  `q6_seed_rad` (scalar or (N,))
    is the wrist_3 angle used where the wrist is singular.
    """
    T = np.asarray(T_base_tool0, dtype=np.float64)
    n = T.shape[0]
    finite = np.all(np.isfinite(T.reshape(n, 16)), axis=1)
    T = np.where(finite[:, None, None], T, 0.0)  # keep NaN out of every intermediate
    r11, r12, r13 = T[:, 0, 0], T[:, 0, 1], T[:, 0, 2]
    r21, r22, r23 = T[:, 1, 0], T[:, 1, 1], T[:, 1, 2]
    r31 = T[:, 2, 0]
    px, py, pz = T[:, 0, 3], T[:, 1, 3], T[:, 2, 3]

    # shoulder_pan: the wrist centre (tool0 pulled back by d6) sits d4 sideways of the arm plane
    a1 = px - dh.d6 * r13
    b1 = dh.d6 * r23 - py
    h1 = a1 * a1 + b1 * b1 - dh.d4 * dh.d4
    ok1 = h1 >= -_SNAP
    half = np.arctan2(np.sqrt(np.maximum(h1, 0.0)), dh.d4)
    base = np.arctan2(a1, b1)
    q1 = np.stack((base + half, base - half), axis=1)  # (N, 2)
    c1, s1 = np.cos(q1), np.sin(q1)

    # wrist_2 from the tool z axis' component along the shoulder axis, both signs
    c5 = s1 * r13[:, None] - c1 * r23[:, None]
    h6x = s1 * r11[:, None] - c1 * r21[:, None]
    h6y = c1 * r22[:, None] - s1 * r12[:, None]
    s5 = np.sqrt(h6x * h6x + h6y * h6y)
    q5a = np.arctan2(s5, c5)
    q5 = np.stack((q5a, np.arctan2(-s5, c5)), axis=2)  # (N, 2, 2)
    sign5 = np.array([1.0, -1.0])
    q6 = np.arctan2(sign5 * h6y[..., None], sign5 * h6x[..., None])
    seed6 = np.broadcast_to(np.asarray(q6_seed_rad, dtype=np.float64), (n,))
    wrist_singular = s5 < _SNAP
    q6 = np.where(wrist_singular[..., None], seed6[:, None, None], q6)

    # wrist_1 + elbow + shoulder_lift from the tool x axis, then the planar two-link problem
    c1e, s1e = c1[..., None], s1[..., None]
    c5e, s5e = np.cos(q5), np.sin(q5)
    c6, s6 = np.cos(q6), np.sin(q6)
    a234 = c1e * r11[:, None, None] + s1e * r21[:, None, None]
    r31e = r31[:, None, None]
    q234 = np.arctan2(c5e * c6 * r31e - s6 * a234, c5e * c6 * a234 + s6 * r31e)
    c234, s234 = np.cos(q234), np.sin(q234)
    kc = c1e * px[:, None, None] + s1e * py[:, None, None] - s234 * dh.d5 + c234 * s5e * dh.d6
    ks = pz[:, None, None] - dh.d1 + c234 * dh.d5 + s234 * s5e * dh.d6
    c3 = (ks * ks + kc * kc - dh.a2 * dh.a2 - dh.a3 * dh.a3) / (2.0 * dh.a2 * dh.a3)
    h3 = 1.0 - c3 * c3
    ok3 = h3 >= -_SNAP
    q3a = np.arctan2(np.sqrt(np.maximum(h3, 0.0)), c3)
    q3 = np.stack((q3a, -q3a), axis=3)  # (N, 2, 2, 2)
    q2 = np.arctan2(ks, kc)[..., None] - np.arctan2(dh.a3 * np.sin(q3), dh.a3 * np.cos(q3) + dh.a2)
    q4 = q234[..., None] - q2 - q3

    shape = (n, 2, 2, 2)
    q = np.stack(
        (
            np.broadcast_to(q1[:, :, None, None], shape),
            q2,
            q3,
            q4,
            np.broadcast_to(q5[..., None], shape),
            np.broadcast_to(q6[..., None], shape),
        ),
        axis=-1,
    ).reshape(n, 8, 6)
    q = _wrap(q)
    valid = (
        finite[:, None, None, None]
        & ok1[:, None, None, None]
        & np.broadcast_to(ok3[..., None], shape)
    ).reshape(n, 8)
    err = np.abs(ur_fk_dh_batch(q, dh) - T[:, None]).reshape(n, 8, 16).max(axis=2)
    valid &= err <= FK_TOLERANCE
    return np.where(valid[..., None], q, 0.0), valid


def _fk_dh_rows(q: Sequence[float], dh: DHLike) -> tuple[float, ...]:
    """The top 3 rows of T_base_tool0 (row-major, 12 values) for one joint state, in floats."""
    c1, s1 = math.cos(q[0]), math.sin(q[0])
    c5, s5 = math.cos(q[4]), math.sin(q[4])
    c6, s6 = math.cos(q[5]), math.sin(q[5])
    q23 = q[1] + q[2]
    q234 = q23 + q[3]
    c234, s234 = math.cos(q234), math.sin(q234)
    # tool0's axes and origin in frame 1 (x1 in the arm plane, y1 up, z1 sideways)
    xx, xy, xz = c234 * c5 * c6 - s234 * s6, s234 * c5 * c6 + c234 * s6, s5 * c6
    yx, yy, yz = -c234 * c5 * s6 - s234 * c6, -s234 * c5 * s6 + c234 * c6, -s5 * s6
    zx, zy, zz = -c234 * s5, -s234 * s5, c5
    px = dh.a2 * math.cos(q[1]) + dh.a3 * math.cos(q23) + dh.d5 * s234 - dh.d6 * c234 * s5
    py = dh.a2 * math.sin(q[1]) + dh.a3 * math.sin(q23) - dh.d5 * c234 - dh.d6 * s234 * s5
    pz = dh.d4 + dh.d6 * c5
    return (
        c1 * xx + s1 * xz,
        c1 * yx + s1 * yz,
        c1 * zx + s1 * zz,
        c1 * px + s1 * pz,
        s1 * xx - c1 * xz,
        s1 * yx - c1 * yz,
        s1 * zx - c1 * zz,
        s1 * px - c1 * pz,
        xy,
        yy,
        zy,
        dh.d1 + py,
    )


def _wrap_scalar(angle_rad: float) -> float:
    return (angle_rad + math.pi) % _TWO_PI - math.pi


def ur_ik_dh(
    T_base_tool0: npt.NDArray[np.float64], dh: DHLike, q6_seed_rad: float = 0.0
) -> npt.NDArray[np.float64]:
    """Every distinct closed-form solution (k, 6), k <= 8, for one pose; (0, 6) if unreachable.

    The same maths as `ur_ik_dh_batch` on Python floats: for a single pose that is ~10x
    faster than numpy's per-call overhead on 8-element arrays.
    """
    m = np.asarray(T_base_tool0, dtype=np.float64).reshape(16).tolist()
    none = np.zeros((0, 6))
    if not all(math.isfinite(v) for v in m) or m[12:] != [0.0, 0.0, 0.0, 1.0]:
        return none
    r11, r12, r13, px, r21, r22, r23, py, r31, _, _, pz = m[:12]
    a1 = px - dh.d6 * r13
    b1 = dh.d6 * r23 - py
    h1 = a1 * a1 + b1 * b1 - dh.d4 * dh.d4
    if h1 < -_SNAP:  # the wrist centre is closer to the base axis than the d4 offset allows
        return none
    half = math.atan2(math.sqrt(max(h1, 0.0)), dh.d4)
    base = math.atan2(a1, b1)
    found: list[list[float]] = []
    for q1 in (base + half, base - half):
        c1, s1 = math.cos(q1), math.sin(q1)
        c5 = s1 * r13 - c1 * r23
        h6x = s1 * r11 - c1 * r21
        h6y = c1 * r22 - s1 * r12
        s5 = math.sqrt(h6x * h6x + h6y * h6y)
        a234 = c1 * r11 + s1 * r21
        for sign in (1.0, -1.0):
            q5 = math.atan2(sign * s5, c5)
            q6 = q6_seed_rad if s5 < _SNAP else math.atan2(sign * h6y, sign * h6x)
            c5q, s5q = math.cos(q5), math.sin(q5)
            c6, s6 = math.cos(q6), math.sin(q6)
            q234 = math.atan2(c5q * c6 * r31 - s6 * a234, c5q * c6 * a234 + s6 * r31)
            c234, s234 = math.cos(q234), math.sin(q234)
            kc = c1 * px + s1 * py - s234 * dh.d5 + c234 * s5q * dh.d6
            ks = pz - dh.d1 + c234 * dh.d5 + s234 * s5q * dh.d6
            c3 = (ks * ks + kc * kc - dh.a2 * dh.a2 - dh.a3 * dh.a3) / (2.0 * dh.a2 * dh.a3)
            h3 = 1.0 - c3 * c3
            if h3 < -_SNAP:  # wrist_1 out of the upper arm + forearm's reach
                continue
            q3a = math.atan2(math.sqrt(max(h3, 0.0)), c3)
            for q3 in (q3a, -q3a):
                q2 = math.atan2(ks, kc) - math.atan2(
                    dh.a3 * math.sin(q3), dh.a3 * math.cos(q3) + dh.a2
                )
                q = [_wrap_scalar(v) for v in (q1, q2, q3, q234 - q2 - q3, q5, q6)]
                fk_err = map(operator.sub, _fk_dh_rows(q, dh), m)  # zip stops after 12
                if max(map(abs, fk_err)) > FK_TOLERANCE:
                    continue
                # same rule as ur_analytic_ik: drop a row within 1e-12 (norm) of an earlier one
                if any(
                    math.sqrt(sum((a - b) ** 2 for a, b in zip(q, o, strict=True))) < _SNAP
                    for o in found
                ):
                    continue
                found.append(q)
    return np.asarray(found, dtype=np.float64).reshape(-1, 6)
