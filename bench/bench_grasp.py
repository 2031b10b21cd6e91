"""Benchmark grasp synthesis + IK + safety for one target on one CPU core.

Run:  PYTHONPATH=src python bench/bench_grasp.py [--targets N] [--repeats R]

For N seeded cup targets (point clouds of 1500 points on the table in front of a UR5) it times
`plan_grasp` (object extents, candidate poses, safety checks, closed-form IK chain, IK branch
choice and the swept joint-path check from the current state) with each closed-form IK solver
(ur_analytic_ik, the compiled library, where it imports; the numpy fallback in core/ur_ik.py,
used on CPython 3.12) and the same pipeline with a straightforward numerical IK
(scipy.optimize least_squares on the FK pose error from the seed, restarted from perturbed
seeds), and prints the medians and their ratio.  It also times one IK call (all solutions, and
the seeded choice) with each closed-form solver over 2000 seeded random poses.
It also times planning from a parked pose (arm folded to the side), where the nearest IK
branch flips the shoulder and the planner must pick another and sweep a long path.  It also
checks IK<->FK agreement over 5000 random joint states and the issue's target: one target
<= 10 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from spatialbot_ros.core.grasp import GraspConfig, GraspPlan, plan_grasp
from spatialbot_ros.core.kinematics import (
    IKSolution,
    IKSolverName,
    IKStatus,
    URKinematics,
    ur_analytic_ik_available,
)
from spatialbot_ros.core.safety import SafetyLimits

HOME = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
PARKED = np.array([1.9, -1.9, 1.9, -1.57, -1.57, 0.0])
TARGET_MS = 10.0


class NumericalIKKinematics(URKinematics):
    """The baseline: IK by nonlinear least squares on the pose error, same FK and statuses."""

    def ik_matrix(
        self,
        T_base_link_tool0: npt.NDArray[np.float64],
        q_seed_rad: npt.ArrayLike | None = None,
        weights: Sequence[float] = (1.0,) * 6,
    ) -> IKSolution:
        """Solve from the seed, then from up to 4 perturbed seeds; 1e-9 m / rad acceptance."""
        seed = np.zeros(6) if q_seed_rad is None else np.asarray(q_seed_rad, dtype=np.float64)
        target_R = T_base_link_tool0[:3, :3]
        target_p = T_base_link_tool0[:3, 3]

        def residual(q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            T = self.fk_matrix(q)
            rot = Rotation.from_matrix(target_R.T @ T[:3, :3]).as_rotvec()
            return np.concatenate((T[:3, 3] - target_p, rot))

        rng = np.random.default_rng(0)
        lo = np.asarray(self.limits.lower_rad)
        hi = np.asarray(self.limits.upper_rad)
        for attempt in range(5):
            start = seed if attempt == 0 else seed + rng.normal(0, 0.5, 6)
            sol = least_squares(residual, np.clip(start, lo, hi), bounds=(lo, hi), xtol=1e-12)
            if np.abs(sol.fun).max() < 1e-9:
                which = self.singularity_of(sol.x)
                status: IKStatus = "ok" if which is None else "singular"
                return IKSolution(sol.x, status, (sol.x,), which)
        return IKSolution(None, "unreachable")


def targets(n: int) -> list[npt.NDArray[np.float64]]:
    """Seeded cups 60-80 mm wide on the table, 0.35-0.7 m in front of the robot."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        r = rng.uniform(0.03, 0.04)
        h = rng.uniform(0.08, 0.11)
        dist = rng.uniform(0.35, 0.7)
        az = rng.uniform(-0.8, 0.8)
        cx, cy = dist * np.cos(az), dist * np.sin(az)
        th = rng.uniform(0, 2 * np.pi, 1500)
        z = rng.uniform(0, h, 1500)
        pts = np.column_stack((cx + r * np.cos(th), cy + r * np.sin(th), z))
        out.append(pts + rng.normal(0, 0.001, pts.shape))
    return out


def time_planning(
    kin: URKinematics,
    pts_list: list[npt.NDArray[np.float64]],
    repeats: int,
    q_start: npt.NDArray[np.float64] = HOME,
) -> tuple[float, float, int]:
    """Median wall and CPU (thread) ms per plan over all targets and repeats, and plans found."""
    cfg, safety = GraspConfig(), SafetyLimits()
    wall, cpu, planned = [], [], 0
    for pts in pts_list:
        for i in range(repeats):
            t0, c0 = time.perf_counter(), time.thread_time()
            result = plan_grasp(pts, cfg, kin, safety, q_start)
            cpu.append((time.thread_time() - c0) * 1e3)
            wall.append((time.perf_counter() - t0) * 1e3)
            if i == 0:
                planned += isinstance(result, GraspPlan)
    return statistics.median(wall), statistics.median(cpu), planned


def time_ik_calls(kin: URKinematics, n: int = 2000) -> tuple[float, float]:
    """Median µs per `ik_all_matrix` call and per seeded `ik_matrix` call over n random poses."""
    rng = np.random.default_rng(4)
    q_all = rng.uniform(-np.pi, np.pi, (n, 6))
    poses = kin.fk_matrix_batch(q_all)
    all_us, seeded_us = [], []
    for q, T in zip(q_all, poses, strict=True):
        t0 = time.perf_counter()
        kin.ik_all_matrix(T)
        t1 = time.perf_counter()
        kin.ik_matrix(T, q)
        t2 = time.perf_counter()
        all_us.append((t1 - t0) * 1e6)
        seeded_us.append((t2 - t1) * 1e6)
    return statistics.median(all_us), statistics.median(seeded_us)


def ik_fk_agreement(kin: URKinematics, n: int = 5000) -> float:
    """Largest |FK(IK(FK(q))) - FK(q)| element over n seeded random joint states."""
    rng = np.random.default_rng(1)
    worst = 0.0
    for q in rng.uniform(-np.pi, np.pi, (n, 6)):
        T = kin.fk_matrix(q)
        sol = kin.ik_matrix(T, q)
        if sol.q is None:
            return float("inf")
        worst = max(worst, float(np.abs(kin.fk_matrix(sol.q) - T).max()))
    return worst


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    solvers: list[IKSolverName] = ["numpy"]
    if ur_analytic_ik_available():
        solvers.insert(0, "ur_analytic_ik")
    pts_list = targets(args.targets)
    rows: dict[str, dict[str, float]] = {}
    worst_ms = 0.0
    for name in solvers:
        kin = URKinematics("ur5", solver=name)
        plan_grasp(pts_list[0], GraspConfig(), kin, SafetyLimits(), HOME)  # warm imports
        all_us, seeded_us = time_ik_calls(kin)
        home_ms, home_cpu, home_ok = time_planning(kin, pts_list, args.repeats)
        parked_ms, parked_cpu, parked_ok = time_planning(kin, pts_list, args.repeats, PARKED)
        rows[name] = {
            "all_us": all_us,
            "seeded_us": seeded_us,
            "home_ms": home_ms,
            "home_cpu": home_cpu,
            "home_ok": home_ok,
            "parked_ms": parked_ms,
            "parked_cpu": parked_cpu,
            "parked_ok": parked_ok,
            "worst": ik_fk_agreement(kin),
        }
        worst_ms = max(worst_ms, home_ms, parked_ms)
    base_ms, base_cpu, base_ok = time_planning(
        NumericalIKKinematics("ur5"), pts_list, max(1, args.repeats // 5)
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"one core, load average {load:.1f} on {os.cpu_count()} CPUs")
    if "ur_analytic_ik" not in rows:
        print("ur_analytic_ik does not import here: numpy solver only")
    print("one IK call, median µs over 2000 random UR5 poses (all solutions / seeded choice):")
    for label, r in rows.items():
        print(f"  {label:<15}: {r['all_us']:8.1f} / {r['seeded_us']:8.1f}")
    if len(rows) == 2:
        ratio = rows["numpy"]["all_us"] / rows["ur_analytic_ik"]["all_us"]
        print(f"  numpy / ur_analytic_ik (all solutions): {ratio:.1f} x")
    print(f"grasp synthesis + IK + safety, one target (median of {args.targets} targets);")
    print("wall ms / CPU ms:")
    for label, r in rows.items():
        print(
            f"  closed-form IK ({label:<14}) from home   : {r['home_ms']:8.3f} / "
            f"{r['home_cpu']:8.3f}  ({r['home_ok']:.0f} planned)"
        )
        print(
            f"  closed-form IK ({label:<14}) from parked : {r['parked_ms']:8.3f} / "
            f"{r['parked_cpu']:8.3f}  ({r['parked_ok']:.0f} planned)"
        )
    print(
        f"  numerical IK (scipy baseline)  from home   : {base_ms:8.3f} / {base_cpu:8.3f}"
        f"  ({base_ok} planned)"
    )
    for label, r in rows.items():
        print(f"  speed-up vs baseline (CPU), {label:<14}: {base_cpu / r['home_cpu']:8.1f} x")
    for label, r in rows.items():
        print(f"IK<->FK max element error over 5000 random states ({label}): {r['worst']:.2e}")
    verdict = "OK" if worst_ms <= TARGET_MS else "MISSED (wall; see CPU time when loaded)"
    print(f"target <= {TARGET_MS:.0f} ms per target with every solver: {verdict}")


if __name__ == "__main__":
    main()
