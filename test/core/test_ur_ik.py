"""numpy closed-form UR IK: FK round trips, agreement with ur_analytic_ik, degenerate poses."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spatialbot_ros
from spatialbot_ros.core.kinematics import (
    DH_PARAMETERS,
    IK_SOLVER_ENV,
    URKinematics,
    wrap_to_pi,
)
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.core.ur_ik import FK_TOLERANCE, ur_fk_dh_batch, ur_ik_dh, ur_ik_dh_batch

UR_TYPES = ("ur5", "ur5e")
# base_link <- base (DH frame 0): Rz(pi), its own inverse
T_BASE_LINK_BASE = np.diag([-1.0, -1.0, 1.0, 1.0])
N_STATES = 4000


def _wrapped_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(wrap_to_pi(a - b)).max())


def _fk_error(kin: URKinematics, q: np.ndarray, T: np.ndarray) -> float:
    return float(np.abs(kin.fk_matrix(q) - T).max())


@pytest.mark.parametrize("ur_type", UR_TYPES)
def test_closed_form_fk_matches_the_dh_product(ur_type: str) -> None:
    kin = URKinematics(ur_type, solver="numpy")
    q = np.random.default_rng(11).uniform(-2 * np.pi, 2 * np.pi, (500, 6))
    fk = T_BASE_LINK_BASE @ ur_fk_dh_batch(q, kin.dh)
    np.testing.assert_allclose(fk, kin.fk_matrix_batch(q), atol=1e-14)


@pytest.mark.parametrize("ur_type", UR_TYPES)
def test_every_solution_reproduces_the_pose_and_contains_the_generator(ur_type: str) -> None:
    kin = URKinematics(ur_type, solver="numpy")
    q_all = np.random.default_rng(2026).uniform(-np.pi, np.pi, (N_STATES, 6))
    regular = 0
    counts = np.zeros(9, dtype=int)
    for q in q_all:
        T = kin.fk_matrix(q)
        solutions = kin.ik_all_matrix(T)
        counts[len(solutions)] += 1
        for sol in solutions:
            assert sol.shape == (6,)
            assert np.all(np.abs(sol) <= math.pi)
            assert _fk_error(kin, sol, T) < 1e-9, f"q={q.tolist()} sol={sol.tolist()}"
        # the eight branches are distinct configurations
        for i, a in enumerate(solutions):
            for b in solutions[i + 1 :]:
                assert _wrapped_gap(a, b) > 1e-9
        if kin.singularity_of(q) is None:
            regular += 1
            gaps = [_wrapped_gap(sol, q) for sol in solutions]
            assert min(gaps) < 1e-7, f"generating q {q.tolist()} not among the solutions"
    assert regular > 0.8 * N_STATES
    # every pose has its generator; most have all 8 (the other shoulder branch can be too far)
    assert counts[0] == 0
    assert counts[8] > N_STATES // 2


@pytest.mark.parametrize("ur_type", UR_TYPES)
def test_solution_set_equals_ur_analytic_ik(ur_type: str) -> None:
    ur_analytic_ik = pytest.importorskip(
        "ur_analytic_ik", reason="optional accelerator library absent (e.g. CPython 3.12)"
    )
    lib = getattr(ur_analytic_ik, ur_type)
    numpy_kin = URKinematics(ur_type, solver="numpy")
    lib_kin = URKinematics(ur_type, solver="ur_analytic_ik")
    rng = np.random.default_rng(77)
    # generic states, plus states near (not at) each singularity where the branches crowd
    q_all = rng.uniform(-np.pi, np.pi, (N_STATES, 6))
    near = rng.uniform(-np.pi, np.pi, (600, 6))
    near[:200, 4] = rng.choice([-1.0, 1.0], 200) * rng.uniform(1e-6, 1e-3, 200)  # wrist
    near[200:400, 2] = rng.choice([-1.0, 1.0], 200) * rng.uniform(1e-6, 1e-3, 200)  # elbow
    near[400:, 4] = math.pi - rng.uniform(1e-6, 1e-3, 200)  # wrist, flipped
    for q in np.vstack((q_all, near)):
        T = numpy_kin.fk_matrix(q)
        ours = numpy_kin.ik_all_matrix(T)
        theirs = lib_kin.ik_all_matrix(T)
        # the library straight, not through our dispatch, must agree too
        direct = lib.inverse_kinematics(np.ascontiguousarray(T_BASE_LINK_BASE @ T))
        assert len(direct) == len(theirs)
        assert len(ours) == len(theirs), f"q={q.tolist()}: {len(ours)} vs {len(theirs)}"
        # same branches, one to one, in the library's order (shoulder, wrist, elbow)
        for a, b in zip(ours, theirs, strict=True):
            assert _wrapped_gap(a, b) < 1e-7, f"q={q.tolist()}: {a.tolist()} vs {b.tolist()}"


def test_batch_and_single_pose_paths_agree() -> None:
    dh = DH_PARAMETERS["ur5e"]
    q_all = np.random.default_rng(8).uniform(-np.pi, np.pi, (300, 6))
    T_all = ur_fk_dh_batch(q_all, dh)
    T_all[::7, 0, 3] += 2.0  # every 7th pose out of reach
    q_batch, valid = ur_ik_dh_batch(T_all, dh)
    assert q_batch.shape == (300, 8, 6)
    assert np.all(np.isfinite(q_batch))
    for i, T in enumerate(T_all):
        single = ur_ik_dh(T, dh)
        if i % 7 == 0:
            assert single.shape == (0, 6)
            assert not valid[i].any()
            continue
        np.testing.assert_allclose(q_batch[i][valid[i]], single, atol=1e-12)
        fk = ur_fk_dh_batch(single, dh)
        assert np.abs(fk - T).max() < FK_TOLERANCE


@pytest.mark.parametrize("q5", [0.0, math.pi, -math.pi])
@pytest.mark.parametrize("q6_seed", [0.5, 2.0, -3.0])
def test_wrist_singularity_takes_wrist_3_from_the_seed(q5: float, q6_seed: float) -> None:
    kin = URKinematics(solver="numpy")
    q = np.array([0.2, -1.2, 1.4, -1.0, q5, 0.5])
    T = kin.fk_matrix(q)
    solutions = kin.ik_all_matrix(T, q6_seed)
    for sol in solutions:
        assert np.all(np.isfinite(sol))
        assert _fk_error(kin, sol, T) < 1e-9
    singular = [sol for sol in solutions if abs(math.sin(sol[4])) < 1e-9]
    # on the generating shoulder wrist_1 ∥ wrist_3: the two wrist flips are one configuration
    # (2 elbows, not 4) and wrist_3 is the seed's; the other shoulder is regular (4 branches)
    assert len(singular) == 2
    assert len(solutions) == 6
    for sol in singular:
        assert float(wrap_to_pi(sol[5] - q6_seed)) == pytest.approx(0.0, abs=1e-12)
        assert float(wrap_to_pi(sol[0] - q[0])) == pytest.approx(0.0, abs=1e-12)
    # seeded with the generating state, IK hands that very state back and flags it
    result = kin.ik(kin.fk(q), q)
    assert result.status == "singular"
    assert result.singularity == "wrist"
    assert result.q is not None
    assert _wrapped_gap(result.q, q) < 1e-9


def test_shoulder_singularity_keeps_a_solution() -> None:
    kin = URKinematics(solver="numpy")
    p = kin.dh
    q2, q3 = -1.2, -0.8  # solve q4 so that the wrist centre lies in the shoulder-axes plane
    q4 = math.asin(-(p.a2 * math.cos(q2) + p.a3 * math.cos(q2 + q3)) / p.d5) - q2 - q3
    q = np.array([0.3, q2, q3, q4, 1.3, 0.4])
    assert abs(kin.singularity_terms(q)["shoulder"]) < 1e-12
    T = kin.fk_matrix(q)
    solutions = kin.ik_all_matrix(T)
    # the two shoulder_pan solutions coincide (to rounding): 4 distinct branches, maybe 8 rows
    assert len(solutions) in (4, 8)
    for sol in solutions:
        assert np.all(np.isfinite(sol))
        assert _fk_error(kin, sol, T) < 1e-9
    assert min(_wrapped_gap(sol, q) for sol in solutions) < 1e-6
    result = kin.ik(kin.fk(q), q)
    assert result.status == "singular"
    assert result.singularity == "shoulder"


def test_elbow_singularity_merges_the_elbow_branches() -> None:
    kin = URKinematics(solver="numpy")
    q = np.array([0.2, -1.2, 0.0, -1.0, 1.2, 0.5])  # arm stretched out
    T = kin.fk_matrix(q)
    solutions = kin.ik_all_matrix(T)
    assert solutions
    for sol in solutions:
        assert _fk_error(kin, sol, T) < 1e-9
    assert min(_wrapped_gap(sol, q) for sol in solutions) < 1e-6
    assert kin.ik(kin.fk(q), q).singularity == "elbow"


def test_unreachable_and_degenerate_poses_give_no_solution_and_no_nan() -> None:
    kin = URKinematics(solver="numpy")
    dh = kin.dh
    far = RigidTransform.from_xyz_rpy((1.5, 0.0, 0.3), (math.pi, 0, 0), "base_link", "tool0")
    assert kin.ik_all(far) == []
    result = kin.ik(far)
    assert (result.status, result.q, result.solutions) == ("unreachable", None, ())
    # wrist centre on the base axis: closer than the d4 shoulder offset allows
    on_axis = np.eye(4)
    on_axis[:3, 3] = (0.0, 0.0, 0.5 + dh.d6)
    assert ur_ik_dh(on_axis, dh).shape == (0, 6)
    # right above the shoulder but out of the arm's reach
    too_high = np.eye(4)
    too_high[:3, 3] = (dh.d4, 0.0, dh.d1 + 2.0)
    assert ur_ik_dh(too_high, dh).shape == (0, 6)
    bad = np.eye(4)
    bad[0, 3] = float("nan")
    assert ur_ik_dh(bad, dh).shape == (0, 6)
    bad[0, 3] = float("inf")
    assert ur_ik_dh(bad, dh).shape == (0, 6)
    not_rigid = kin.fk_matrix(np.array([0.2, -1.2, 1.4, -1.0, 1.0, 0.5]))
    not_rigid[3, 0] = 0.5  # not a homogeneous transform: ur_analytic_ik's FK check rejects it
    assert kin.ik_all_matrix(not_rigid) == []
    batch = np.stack((on_axis, too_high, bad, np.eye(4)))
    q_batch, valid = ur_ik_dh_batch(batch, dh)
    assert np.all(np.isfinite(q_batch))
    assert not valid.any()


@pytest.mark.slow
def test_grasp_suite_passes_on_the_numpy_solver() -> None:
    # test_grasp builds its URKinematics() at import time, so it runs in a fresh process
    # (test_kinematics forces each solver itself, through its autouse fixture)
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env[IK_SOLVER_ENV] = "numpy"
    src = str(Path(spatialbot_ros.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (src, env.get("PYTHONPATH"))))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test/core/test_grasp.py"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
