"""`spatialbot demo`: three teacups, recorded to a bag, grounded through replay, grasped in sim."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.sim.scene import SceneSpec, three_teacups_scene

__all__ = ["expected_object", "match_target", "plot_contact_signal", "run_demo"]

DEMO_TASK = "grasp the middle teacup"


def match_target(scene: SceneSpec, xyz_base_m: Any) -> tuple[str, float]:
    """The scene object whose centre is nearest to a grounded point, and the distance (m).

    The grounded point lies on the visible surface, so it is compared with the object's axis
    at the same height (cups and boxes) rather than with the volume centre.
    """
    p = np.asarray(xyz_base_m, dtype=np.float64)
    best, best_d = "", float("inf")
    for obj in scene.objects:
        d = float(np.hypot(p[0] - obj.x_m, p[1] - obj.y_m))
        if d < best_d:
            best, best_d = obj.name, d
    return best, best_d


def target_error_m(scene: SceneSpec, name: str, xyz_base_m: Any) -> float:
    """3D error of a grounded point against the object's centre (m)."""
    obj = scene.object(name)
    return float(np.linalg.norm(np.asarray(xyz_base_m, dtype=np.float64) - obj.center_base_m))


def plot_contact_signal(samples: list[dict[str, Any]], path: Path, tolerance_mm: float) -> None:
    """Plot the depth gap between finger pads and object over the approach (PNG, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    xs = [s["progress"] for s in samples if s["signal_mm"] is not None]
    ys = [s["signal_mm"] for s in samples if s["signal_mm"] is not None]
    ax.plot(xs, ys, "o-", label="fingertip-object gap on rendered depth")
    truth_x = [s["progress"] for s in samples if s["truth"]]
    if truth_x:
        ax.axvspan(
            min(truth_x),
            max(truth_x) + 1e-3,
            color="tab:green",
            alpha=0.15,
            label="physics contact",
        )
    ax.axhline(
        tolerance_mm, color="tab:red", ls="--", label=f"contact tolerance {tolerance_mm:g} mm"
    )
    ax.set_xlabel("approach progress (0 = pre-grasp, 1 = grasp, then closed)")
    ax.set_ylabel("depth gap (mm)")
    ax.set_title("Contact signal on rendered depth")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def expected_object(scene: SceneSpec, task: str) -> str | None:
    """The object `task` refers to when it is one of the evaluation's tasks, else None."""
    from spatialbot_ros.sim.evaluation import task_family

    def words(text: str) -> str:
        # teacup and mug name the same objects as cup in these scenes
        return " ".join(
            "cup" if w in ("teacup", "mug") else w for w in text.lower().strip(" .!").split()
        )

    wanted = words(task)
    return next((t.expected for t in task_family(scene) if words(t.text) == wanted), None)


def run_demo(
    out_dir: str | Path,
    *,
    seed: int = 0,
    task: str = DEMO_TASK,
    engine: str = "geometric",
    engine_config: dict[str, Any] | None = None,
    storage: str = "mcap",
    frames: int = 5,
    noise: bool = True,
) -> dict[str, Any]:
    """Run the whole chain and write DIR/report.json; returns the report."""
    from spatialbot_ros.cli import build_pipeline
    from spatialbot_ros.core.kinematics import URKinematics
    from spatialbot_ros.pipeline.grasp_planning import HOME_Q
    from spatialbot_ros.replay import ReplayOptions, run_replay
    from spatialbot_ros.sim.camera import VirtualRealSense
    from spatialbot_ros.sim.contact_probe import DepthContactProbe
    from spatialbot_ros.sim.executor import GraspExecutor, GraspTargets
    from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q, record_scene_bag
    from spatialbot_ros.sim.world import build_world

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    report: dict[str, Any] = {"task": task, "engine": engine, "seed": seed, "success": False}
    t_all = time.perf_counter()

    t = time.perf_counter()
    scene = three_teacups_scene(seed)
    world = build_world(scene)
    world.set_arm_q(HIDDEN_ARM_Q)
    timings["build_scene"] = time.perf_counter() - t

    t = time.perf_counter()
    bag = out / "scene_bag"
    if bag.exists():
        shutil.rmtree(bag)
    rec = record_scene_bag(
        bag,
        seed=seed,
        frames=frames,
        storage=storage,
        task=task,
        scene=scene,
        world=world,
        noise=noise,
    )
    report["bag"] = {
        "path": str(bag),
        "storage": storage,
        "messages": rec["messages"],
        "noise": noise,
    }
    timings["record_bag"] = time.perf_counter() - t

    t = time.perf_counter()
    # The arm parks out of view for the picture and grasps from the ready pose: plan from there.
    pipeline = build_pipeline(engine, engine_config, q_current=HOME_Q)
    timings["load_engine"] = time.perf_counter() - t

    t = time.perf_counter()
    replay_dir = out / "replay"
    options = ReplayOptions(tasks=(), max_frames=1, progress=False)
    summary = run_replay(bag, replay_dir, pipeline, options)
    timings["replay"] = time.perf_counter() - t
    lines = (replay_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    if not lines:
        report["error"] = "replay produced no result"
        return _finish(out, report, timings, t_all)
    result = json.loads(lines[0])
    report["result"] = result
    report["replay"] = summary.as_dict()
    if summary.images:
        shutil.copyfile(replay_dir / summary.images[0], out / "annotated.png")
        report["annotated_image"] = str(out / "annotated.png")

    target = result.get("target")
    if result.get("status") == "ok" and result.get("kind") != "grasp":
        report["error"] = (
            f"the demo executes grasp tasks; {task!r} is a {result.get('kind')} task "
            f"(answer: {result.get('answer')!r})"
        )
        return _finish(out, report, timings, t_all)
    if result.get("status") != "ok" or not target or target.get("xyz_base_m") is None:
        report["error"] = f"grounding failed: {result.get('error')}"
        return _finish(out, report, timings, t_all)
    name, _ = match_target(scene, target["xyz_base_m"])
    expected = expected_object(scene, task)
    with VirtualRealSense(world) as camera:
        surface = camera.visible_centroids_base_m()  # ground truth, as in `spatialbot eval`
    xyz = np.asarray(target["xyz_base_m"], dtype=np.float64)
    report["grounding"] = {
        "chosen_object": name,
        "expected_object": expected,
        # None: the task is outside the evaluation's task family, so the truth is unknown
        "correct": None if expected is None else name == expected,
        # vs the true centroid of the object's visible surface (what depth grounding reports)
        "target_error_mm": (
            1000.0 * float(np.linalg.norm(xyz - surface[name])) if name in surface else None
        ),
        "center_error_mm": 1000.0 * target_error_m(scene, name, xyz),
    }
    grasp = result.get("grasp")
    if not grasp or grasp.get("refused"):
        report["error"] = f"no grasp plan: {grasp.get('reason') if grasp else 'none'}"
        return _finish(out, report, timings, t_all)

    t = time.perf_counter()
    kinematics = URKinematics("ur5")
    with VirtualRealSense(world) as camera:
        probe = DepthContactProbe(camera, target["bbox_px"], kinematics)
        executor = GraspExecutor(world, kinematics, contact_check=probe, contact_checks=10)
        execution = executor.execute(GraspTargets.from_plan(grasp), name, q_ready=HOME_Q)
        import cv2

        cv2.imwrite(str(out / "after_lift.png"), camera.render_rgb()[:, :, ::-1])
    timings["execute_grasp"] = time.perf_counter() - t
    report["execution"] = execution.as_dict()
    samples = report["execution"]["contact_samples"]
    if samples:
        plot_contact_signal(samples, out / "contact_signal.png", probe.tolerance_mm)
        report["contact_plot"] = str(out / "contact_signal.png")
        decided = [s for s in samples if s["detected"] is not None]
        report["contact_accuracy"] = (
            float(np.mean([s["detected"] == s["truth"] for s in decided])) if decided else None
        )
        report["contact_coverage"] = len(decided) / len(samples)
        report["contact_readings"] = probe.readings
    report["success"] = bool(execution.success and report["grounding"]["correct"] is not False)
    return _finish(out, report, timings, t_all)


def _finish(
    out: Path, report: dict[str, Any], timings: dict[str, float], t_all: float
) -> dict[str, Any]:
    timings["total"] = time.perf_counter() - t_all
    report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    from spatialbot_ros.pipeline.results import dumps_result

    (out / "report.json").write_text(
        json.dumps(json.loads(dumps_result(report)), indent=2), encoding="utf-8"
    )
    return report
