"""Benchmark the simulation on one CPU core: RGB-D capture, physics, one closed-loop grasp.

Run:  PYTHONPATH=src python bench/bench_sim.py [--repeats N]

Prints medians of:
  capture    VirtualRealSense.capture() at 640x480 (RGB + depth in mm), renderers reused,
             shadow maps off
  baseline   the straightforward capture: a new mujoco.Renderer per frame with the model's
             default shadow maps, depth converted with a Python-level float pipeline
  physics    simulated seconds per wall-clock second while the arm moves
  grasp      one full grasp (move, approach with 8 depth contact checks, close, lift, hold)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import spatialbot_ros.sim  # noqa: F401 - selects the headless GL backend before mujoco loads
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.sim.camera import VirtualRealSense
from spatialbot_ros.sim.executor import GraspExecutor, GraspTargets
from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
from spatialbot_ros.sim.scene import three_teacups_scene
from spatialbot_ros.sim.world import build_world


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the table."""
    import mujoco

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    scene = three_teacups_scene(0)
    world = build_world(scene)
    world.set_arm_q(HIDDEN_ARM_Q)
    camera = VirtualRealSense(world)
    camera.capture()  # first frame compiles shaders

    def baseline() -> None:
        world.model.vis.quality.shadowsize = 4096  # MuJoCo's default
        r = mujoco.Renderer(world.model, 480, 640)
        r.update_scene(world.data, camera=world.camera_id)
        r.render()
        r.enable_depth_rendering()
        r.update_scene(world.data, camera=world.camera_id)
        depth_m = r.render()
        [[min(round(float(z) * 1000.0), 65535) for z in row] for row in depth_m[::8]]
        r.close()
        world.model.vis.quality.shadowsize = 0

    t_capture = _median_ms(camera.capture, args.repeats)
    t_base = _median_ms(baseline, max(3, args.repeats // 3))
    print(
        f"capture 640x480 RGB-D: {t_capture:7.1f} ms  (baseline {t_base:7.1f} ms, "
        f"{t_base / t_capture:.1f}x)"
    )

    executor = GraspExecutor(world, URKinematics("ur5"))
    q_goal = np.array([0.0, -1.75, 1.75, -1.57, -1.57, 0.0])
    t0 = time.perf_counter()
    sim0 = executor.sim_time_s
    executor.move_joints(q_goal)
    executor.move_joints(HIDDEN_ARM_Q)
    wall = time.perf_counter() - t0
    print(
        f"physics while moving:  {(executor.sim_time_s - sim0) / wall:7.1f} x real time "
        f"({world.model.opt.timestep * 1e3:.0f} ms steps)"
    )

    from spatialbot_ros.pipeline.grasp_planning import make_grasp_planner

    cup = scene.object("cup_1")
    theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    pts = np.stack(
        [
            cup.x_m + cup.radius_m * np.cos(theta),
            cup.y_m + cup.radius_m * np.sin(theta),
            np.full_like(theta, cup.height_m * 0.8),
        ],
        axis=1,
    )
    plan = make_grasp_planner(q_current=HIDDEN_ARM_Q)(pts)
    times = []
    for _ in range(3):
        w = build_world(scene)
        w.set_arm_q(HIDDEN_ARM_Q)
        with VirtualRealSense(w) as cam:
            from spatialbot_ros.sim.contact_probe import DepthContactProbe

            probe = DepthContactProbe(cam, (300.0, 150.0, 360.0, 230.0), URKinematics("ur5"))
            ex = GraspExecutor(w, URKinematics("ur5"), contact_check=probe)
            t0 = time.perf_counter()
            result = ex.execute(GraspTargets.from_plan(plan), "cup_1")
            times.append(time.perf_counter() - t0)
    print(
        f"one grasp, 8 checks:   {statistics.median(times) * 1e3:7.0f} ms wall for "
        f"{ex.sim_time_s:.1f} s simulated (success: {result.success})"
    )
    camera.close()


if __name__ == "__main__":
    main()
