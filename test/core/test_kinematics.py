"""UR kinematics: DH FK, closed-form IK round trips, seed choice, limits, singularities.

Every test runs twice, once per IK solver (ur_analytic_ik, skipped where it does not import,
and the numpy fallback), forced through the SPATIALBOT_ROS_IK_SOLVER variable that
`URKinematics(solver="auto")` honours.
"""

from __future__ import annotations

import math
from dataclasses import astuple

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatialbot_ros.core import kinematics as kinematics_module
from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.kinematics import (
    DH_PARAMETERS,
    IK_SOLVER_ENV,
    GripperGeometry,
    JointLimits,
    KinematicsError,
    URKinematics,
    resolve_ik_solver,
    ur_analytic_ik_available,
    wrap_to_pi,
)
from spatialbot_ros.core.transforms import RigidTransform


@pytest.fixture(autouse=True, params=["ur_analytic_ik", "numpy"])
def ik_solver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force the IK solver every URKinematics() in the test resolves to."""
    name = str(request.param)
    if name == "ur_analytic_ik" and not ur_analytic_ik_available():
        pytest.skip("ur_analytic_ik does not import here (e.g. CPython 3.12); numpy IK covers it")
    monkeypatch.setenv(IK_SOLVER_ENV, name)
    return name


def _random_q(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.uniform(-np.pi, np.pi, size=(n, 6))
    return q


def test_zero_pose_matches_ur5_geometry() -> None:
    # all zeros: arm stretched along base_link +x, tool0 pointing along base_link -y... (REP-103)
    T = URKinematics("ur5").fk_matrix(np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [0.81725, 0.19145, -0.005491], atol=1e-12)


@pytest.mark.parametrize("ur_type", ["ur5", "ur5e"])
def test_fk_matches_ur_analytic_ik_fk_turned_to_base_link(ur_type: str) -> None:
    ur_analytic_ik = pytest.importorskip(
        "ur_analytic_ik", reason="optional accelerator library absent; nothing to compare with"
    )

    kin = URKinematics(ur_type)
    rng = np.random.default_rng(3)
    q_all = _random_q(rng, 300)
    batch = kin.fk_matrix_batch(q_all)
    lib = getattr(ur_analytic_ik, ur_type)
    for q, T in zip(q_all, batch, strict=True):
        T_base = np.asarray(lib.forward_kinematics(*q))
        np.testing.assert_allclose(np.diag([-1.0, -1.0, 1.0, 1.0]) @ T_base, T, atol=1e-12)
        np.testing.assert_allclose(kin.fk_matrix(q), T, atol=1e-12)


@pytest.mark.parametrize("ur_type", ["ur5", "ur5e"])
def test_ik_fk_round_trip_thousands_of_poses(ur_type: str) -> None:
    kin = URKinematics(ur_type)
    rng = np.random.default_rng(2024)
    q_all = _random_q(rng, 3000)
    worst_pose = 0.0
    recovered = 0
    regular = 0
    for q in q_all:
        T = kin.fk(q)
        sol = kin.ik(T, q)
        assert sol.q is not None, f"reachable pose reported {sol.status}"
        worst_pose = max(worst_pose, float(np.abs(kin.fk_matrix(sol.q) - T.matrix).max()))
        for other in sol.solutions:
            assert np.abs(kin.fk_matrix(other) - T.matrix).max() < 1e-9
        if kin.singularity_of(q) is None:
            regular += 1
            # seeded with the generating state, the solver must give that very branch back
            recovered += bool(np.abs(wrap_to_pi(sol.q - q)).max() < 1e-7)
    assert worst_pose < 1e-9
    assert regular > 2500
    assert recovered == regular


def test_seed_choice_is_wrap_aware_and_within_limits() -> None:
    kin = URKinematics()
    q = np.array([6.0, -1.3, 1.2, -1.5, -1.6, -6.1])  # beyond ±π on the pan and wrist_3
    sol = kin.ik(kin.fk(q), q + 0.01)
    assert sol.ok
    assert sol.q is not None
    np.testing.assert_allclose(sol.q, q, atol=1e-7)
    # the same pose seeded around zero comes back wrapped into [-π, π]
    near_zero = kin.ik(kin.fk(q), wrap_to_pi(q)).q
    assert near_zero is not None
    np.testing.assert_allclose(near_zero, np.asarray(wrap_to_pi(q)), atol=1e-7)
    assert kin.limits.contains(sol.q)


def test_closest_solution_changes_with_the_seed() -> None:
    kin = URKinematics()
    q = np.array([0.4, -1.1, 1.5, -1.9, -1.57, 0.3])
    T = kin.fk(q)
    all_solutions = kin.ik(T, q).solutions
    assert len(all_solutions) == 8
    for target in all_solutions:
        chosen = kin.ik(T, target + 0.05).q
        assert chosen is not None
        np.testing.assert_allclose(chosen, target, atol=1e-7)


def test_unreachable_and_joint_limits_statuses() -> None:
    kin = URKinematics()
    far = RigidTransform.from_xyz_rpy((1.5, 0.0, 0.3), (math.pi, 0, 0), "base_link", "tool0")
    assert kin.ik(far).status == "unreachable"
    assert kin.ik(far).q is None
    # an elbow limited to [0.1, 0.2] rad cannot reach a pose that needs elbow ±1.2
    tight = URKinematics(
        limits=JointLimits(
            lower_rad=(-6.3, -6.3, 0.1, -6.3, -6.3, -6.3), upper_rad=(6.3, 6.3, 0.2, 6.3, 6.3, 6.3)
        )
    )
    q = np.array([0.0, -1.0, 1.2, -1.5, -1.5, 0.0])
    result = tight.ik(tight.fk(q), q)
    assert result.status == "joint_limits"
    assert result.q is None


def _numeric_jacobian(kin: URKinematics, q: np.ndarray) -> np.ndarray:
    eps = 1e-6
    T0 = kin.fk_matrix(q)
    J = np.zeros((6, 6))
    for i in range(6):
        dq = np.zeros(6)
        dq[i] = eps
        T1 = kin.fk_matrix(q + dq)
        J[:3, i] = (T1[:3, 3] - T0[:3, 3]) / eps
        J[3:, i] = Rotation.from_matrix(T1[:3, :3] @ T0[:3, :3].T).as_rotvec() / eps
    return J


def test_singularity_terms_factor_the_jacobian_determinant() -> None:
    kin = URKinematics()
    p = DH_PARAMETERS["ur5"]
    rng = np.random.default_rng(5)
    for q in _random_q(rng, 50):
        terms = kin.singularity_terms(q)
        expected = p.a2 * p.a3 * terms["wrist"] * terms["elbow"] * terms["shoulder"]
        det = np.linalg.det(_numeric_jacobian(kin, q))
        assert abs(abs(det) - abs(expected)) < 1e-5


@pytest.mark.parametrize(
    ("q", "which"),
    [
        ([0.2, -1.2, 1.4, -1.0, 0.0, 0.5], "wrist"),  # wrist_2 at 0: wrist_1 ∥ wrist_3
        ([0.2, -1.2, 0.01, -1.0, 1.2, 0.5], "elbow"),  # arm stretched out
    ],
)
def test_singular_poses_are_reported(q: list[float], which: str) -> None:
    kin = URKinematics()
    sol = kin.ik(kin.fk(q), q)
    assert sol.status == "singular"
    assert sol.singularity == which
    assert sol.q is not None
    assert not sol.ok


def test_shoulder_singularity_is_reported() -> None:
    kin = URKinematics()
    p = kin.dh
    # pick q2, q3 and solve q4 so that a2 c2 + a3 c23 + d5 s234 = 0 (wrist centre on the z0 axis)
    q2, q3 = -1.2, -0.8
    s234 = -(p.a2 * math.cos(q2) + p.a3 * math.cos(q2 + q3)) / p.d5
    if abs(s234) > 1:
        pytest.fail("test pose chosen badly")
    q4 = math.asin(s234) - q2 - q3
    q = np.array([0.3, q2, q3, q4, 1.3, 0.0])
    assert abs(kin.singularity_terms(q)["shoulder"]) < 1e-12
    assert kin.singularity_of(q) == "shoulder"


def test_bad_inputs_raise() -> None:
    kin = URKinematics()
    with pytest.raises(KinematicsError, match="6 joint angles"):
        kin.fk(np.zeros(5))
    with pytest.raises(KinematicsError, match="finite"):
        kin.fk([0, 0, float("nan"), 0, 0, 0])
    with pytest.raises(KinematicsError, match="ur_type"):
        URKinematics("ur99")
    with pytest.raises(TransformError, match="base_link<-tool0"):
        kin.ik(RigidTransform.identity("tool0"))
    with pytest.raises(KinematicsError, match="lower < upper"):
        JointLimits(lower_rad=(0,) * 6, upper_rad=(0,) * 6)


def test_gripper_geometry_position_mapping() -> None:
    geo = GripperGeometry()
    assert geo.opening_to_position(geo.max_opening_m) == 0.0
    assert geo.opening_to_position(0.0) == pytest.approx(0.7929)
    for opening in (0.0, 0.02, 0.05, 0.085):
        assert geo.position_to_opening(geo.opening_to_position(opening)) == pytest.approx(opening)
    tips = geo.fingertip_offsets_tool0_m(0.04)
    np.testing.assert_allclose(tips[0] - tips[1], [0, 0.04, 0])


def test_fk_frames_run_from_the_shoulder_to_tool0() -> None:
    kin = URKinematics("ur5")
    q = _random_q(np.random.default_rng(5), 50)
    frames = kin.fk_frames_batch(q)
    assert frames.shape == (50, 6, 4, 4)
    np.testing.assert_allclose(frames[:, 5], kin.fk_matrix_batch(q), atol=1e-12)
    # the shoulder sits on the base axis at d1 whatever the joints
    np.testing.assert_allclose(frames[:, 0, :3, 3], np.tile([0, 0, 0.089159], (50, 1)), atol=1e-12)
    # consecutive origins are the DH link lengths apart
    upper = np.linalg.norm(frames[:, 1, :3, 3] - frames[:, 0, :3, 3], axis=1)
    np.testing.assert_allclose(upper, 0.425, atol=1e-12)
    with pytest.raises(KinematicsError, match=r"\(N, 6\)"):
        kin.fk_frames_batch(np.zeros(6))


def test_configuration_names_the_ik_branch_by_the_arm_geometry() -> None:
    kin = URKinematics("ur5")
    home = kin.configuration([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    assert home.elbow_up
    # the eight IK solutions of one pose are eight distinct branches
    T = kin.fk_matrix([0.3, -1.4, 1.6, -1.8, -1.5, 0.2])
    branches = {astuple(kin.configuration(q)) for q in kin.ik_all_matrix(T)}
    assert len(branches) == 8
    # elbow up <=> the elbow lies above the shoulder -> wrist_1 line, checked geometrically
    q = _random_q(np.random.default_rng(6), 1500)
    frames = kin.fk_frames_batch(q)
    checked = 0
    for qi, f in zip(q, frames, strict=True):
        x1 = f[0, :3, 0]  # horizontal, in the arm plane
        u = f[2, :3, 3] - f[0, :3, 3]
        v = f[1, :3, 3] - f[0, :3, 3]
        if abs(u @ x1) < 1e-3:
            continue
        above = v[2] > u[2] * (v @ x1) / (u @ x1)
        assert kin.configuration(qi).elbow_up == above
        checked += 1
    assert checked > 1400


def test_the_forced_solver_is_the_one_used(ik_solver: str) -> None:
    assert URKinematics().solver_name == ik_solver
    assert URKinematics("ur5e").solver_name == ik_solver


def test_explicit_solver_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IK_SOLVER_ENV, "ur_analytic_ik" if ur_analytic_ik_available() else "numpy")
    assert URKinematics(solver="numpy").solver_name == "numpy"
    monkeypatch.delenv(IK_SOLVER_ENV)
    # auto prefers the library where it imports
    expected = "ur_analytic_ik" if ur_analytic_ik_available() else "numpy"
    assert resolve_ik_solver("auto") == expected
    assert URKinematics().solver_name == expected


def test_bad_solver_names_and_a_missing_library_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KinematicsError, match="expected IK solver in"):
        URKinematics(solver="scipy")  # type: ignore[arg-type]
    monkeypatch.setenv(IK_SOLVER_ENV, "ikfast")
    with pytest.raises(KinematicsError, match=f"expected {IK_SOLVER_ENV} in"):
        URKinematics()
    # as on CPython 3.12: the library does not import
    monkeypatch.setattr(kinematics_module, "_ur_analytic_ik_module", lambda: None)
    monkeypatch.setenv(IK_SOLVER_ENV, "auto")
    assert URKinematics().solver_name == "numpy"
    with pytest.raises(KinematicsError, match="importable ur_analytic_ik"):
        URKinematics(solver="ur_analytic_ik")
    kin = URKinematics()
    q = np.array([0.4, -1.1, 1.5, -1.9, -1.57, 0.3])
    sol = kin.ik(kin.fk(q), q)
    assert sol.ok
    assert sol.q is not None
    np.testing.assert_allclose(sol.q, q, atol=1e-9)
