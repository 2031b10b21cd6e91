"""Benchmark the depth contact check per 848x480 frame on one CPU core.

Run:  PYTHONPATH=src python bench/bench_contact.py [--cases N] [--repeats R]

Frames come from the generated contact cases of the tests (test/core/contact_cases.py: a cup,
the gripper 0-50 mm away, sigma 2 mm noise, 10 % holes, some partly/fully occluded).  Timed:
`check_contact` (two fingertip windows, analytic ray-cast of the gripper, gap to the object's
points) against a straightforward baseline that deprojects the whole object mask and all
gripper pixels of the full frame to 3D, renders the gripper's expected depth over the full
frame, and takes the distance of every object point to the pads.  Prints medians (wall and
CPU), their ratio, the accuracy of both at 5 mm tolerance, and the target: <= 2 ms per frame.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "core"))

from contact_cases import GRIPPER, INTRINSICS, ContactCase, expected_states, make_case

from spatialbot_ros.core.contact import (
    ContactThresholds,
    _box_distance,
    _ray_box_depth,
    _state_for_gap,
    check_contact,
    finger_boxes_tool0,
)

TARGET_MS = 2.0


def baseline_state(case: ContactCase, th: ContactThresholds) -> str:
    """Full-frame version: no windows, every object pixel deprojected and measured."""
    intr = INTRINSICS
    us = np.arange(intr.width)
    vs = np.arange(intr.height)
    xn = ((us - intr.cx) / intr.fx)[None, :] + np.zeros((intr.height, 1))
    yn = ((vs - intr.cy) / intr.fy)[:, None] + np.zeros((1, intr.width))
    R, t = case.T_camera_tool0.rotation, case.T_camera_tool0.translation_m
    boxes = [(R @ c + t, R, h) for _, c, h in finger_boxes_tool0(GRIPPER, case.opening_m)]
    expected = np.full(xn.shape, np.inf)
    for c, a, h in boxes:
        expected = np.minimum(expected, _ray_box_depth(xn, yn, c, a, h))
    z = case.depth_mm.astype(np.float64) * 1e-3
    valid = z > 0
    tol = th.gripper_depth_tol_mm * 1e-3
    gripper = valid & np.isfinite(expected) & (z >= expected - tol)
    obj = valid & case.mask & ~gripper
    pts = np.column_stack((xn[obj] * z[obj], yn[obj] * z[obj], z[obj]))
    if pts.shape[0] < th.min_object_points:
        return "far"
    best = np.inf
    for c, a, h in boxes[:2]:
        d = _box_distance(pts, c, a, h)
        k = min(th.order_statistic, d.size) - 1
        best = min(best, float(np.partition(d, k)[k]))
    own = [np.isfinite(_ray_box_depth(xn, yn, c, a, h)) & valid for c, a, h in boxes[:2]]
    seen = [float((o & (np.abs(z - expected) <= tol)).sum()) / max(int(o.sum()), 1) for o in own]
    if max(seen) < th.min_visible_fraction:
        return "occluded"
    return _state_for_gap(best * 1e3, th)


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    th = ContactThresholds()
    rng = np.random.default_rng(99)
    cases = [
        make_case(rng, "full" if i % 10 == 0 else ("partial" if i % 5 == 1 else "none"))
        for i in range(args.cases)
    ]
    wall, cpu, base_wall, base_cpu = [], [], [], []
    correct = base_correct = 0
    for case in cases:
        ok_states = expected_states(case, th)
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.thread_time()
            reading = check_contact(
                case.depth_mm, INTRINSICS, case.T_camera_tool0, case.opening_m, case.mask,
                gripper=GRIPPER, thresholds=th,
            )  # fmt: skip
            cpu.append((time.thread_time() - c0) * 1e3)
            wall.append((time.perf_counter() - t0) * 1e3)
        correct += reading.state in ok_states
        t0, c0 = time.perf_counter(), time.thread_time()
        state = baseline_state(case, th)
        base_cpu.append((time.thread_time() - c0) * 1e3)
        base_wall.append((time.perf_counter() - t0) * 1e3)
        base_correct += state in ok_states
    fast_w, fast_c = statistics.median(wall), statistics.median(cpu)
    base_w, base_c = statistics.median(base_wall), statistics.median(base_cpu)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n = len(cases)
    print(f"contact check per {INTRINSICS.width}x{INTRINSICS.height} frame, {n} cases, one core,")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs; wall ms / CPU ms:")
    print(
        f"  check_contact (windows)   : {fast_w:7.3f} / {fast_c:7.3f}   accuracy {correct / n:.3f}"
    )
    base_acc = base_correct / n
    print(f"  full-frame baseline       : {base_w:7.3f} / {base_c:7.3f}   accuracy {base_acc:.3f}")
    print(f"  speed-up (CPU)            : {base_c / fast_c:7.1f} x")
    verdict = "OK" if fast_w <= TARGET_MS else "MISSED (wall; see CPU time when loaded)"
    print(f"target <= {TARGET_MS:.0f} ms per frame: {verdict}")


if __name__ == "__main__":
    main()
