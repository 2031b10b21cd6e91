"""`spatialbot eval`: seeded simulated scenes x a task family -> accuracy, error, grasp success."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.camera_model import project_points
from spatialbot_ros.sim.scene import SceneObject, SceneSpec, generate_scene

__all__ = ["EvalTask", "run_evaluation", "task_family"]

# Margins that keep a task well posed: a human would agree on the answer.
MIN_U_GAP_PX = 25.0
MIN_DEPTH_GAP_M = 0.04
MIN_VOLUME_RATIO = 1.3


@dataclass(frozen=True)
class EvalTask:
    """One task with its expected object and its family (for per-family accuracy)."""

    text: str
    family: str
    expected: str


def _image_u(scene: SceneSpec, obj: SceneObject) -> float:
    from spatialbot_ros.sim.camera import intrinsics_of

    T_cam_base = scene.camera.T_base_camera.inverse()
    p = T_cam_base.apply(obj.center_base_m[None, :])
    return float(project_points(intrinsics_of(scene.camera), p)[0, 0])


def _depth_m(scene: SceneSpec, obj: SceneObject) -> float:
    T_cam_base = scene.camera.T_base_camera.inverse()
    return float(T_cam_base.apply(obj.center_base_m[None, :])[0, 2])


def _volume(obj: SceneObject) -> float:
    return float(np.pi * obj.radius_m**2 * obj.height_m)


def task_family(scene: SceneSpec) -> list[EvalTask]:
    """Well-posed tasks about the scene's cups: middle, left/right, ordinals, near/far,
    big/small and colour, each with the object it refers to."""
    cups = list(scene.cups)
    tasks: list[EvalTask] = []
    if not cups:
        return tasks
    by_u = sorted(cups, key=lambda o: _image_u(scene, o))
    us = [_image_u(scene, o) for o in by_u]
    gaps = np.diff(us) if len(us) > 1 else np.array([np.inf])
    if len(cups) >= 2 and gaps[0] >= MIN_U_GAP_PX:
        tasks.append(EvalTask("grasp the leftmost cup", "left/right", by_u[0].name))
    if len(cups) >= 2 and gaps[-1] >= MIN_U_GAP_PX:
        tasks.append(EvalTask("grasp the rightmost cup", "left/right", by_u[-1].name))
    if len(cups) % 2 == 1 and len(cups) >= 3:
        mid = len(cups) // 2
        if min(gaps[mid - 1], gaps[mid]) >= MIN_U_GAP_PX:
            tasks.append(EvalTask("grasp the middle cup", "middle", by_u[mid].name))
    if len(cups) >= 3 and min(gaps[0], gaps[1]) >= MIN_U_GAP_PX:
        tasks.append(EvalTask("grasp the second cup from the left", "ordinal", by_u[1].name))
    if len(cups) >= 4 and min(gaps[-1], gaps[-2]) >= MIN_U_GAP_PX:
        tasks.append(EvalTask("grasp the second cup from the right", "ordinal", by_u[-2].name))
    by_z = sorted(cups, key=lambda o: _depth_m(scene, o))
    zs = [_depth_m(scene, o) for o in by_z]
    if len(cups) >= 2 and zs[1] - zs[0] >= MIN_DEPTH_GAP_M:
        tasks.append(EvalTask("grasp the nearest cup", "nearest/farthest", by_z[0].name))
    if len(cups) >= 2 and zs[-1] - zs[-2] >= MIN_DEPTH_GAP_M:
        tasks.append(EvalTask("grasp the farthest cup", "nearest/farthest", by_z[-1].name))
    by_v = sorted(cups, key=_volume)
    if len(cups) >= 2 and _volume(by_v[-1]) >= MIN_VOLUME_RATIO * _volume(by_v[-2]):
        tasks.append(EvalTask("grasp the biggest cup", "biggest/smallest", by_v[-1].name))
    if len(cups) >= 2 and _volume(by_v[1]) >= MIN_VOLUME_RATIO * _volume(by_v[0]):
        tasks.append(EvalTask("grasp the smallest cup", "biggest/smallest", by_v[0].name))
    for obj in cups:
        if sum(o.color == obj.color for o in scene.objects) == 1:
            tasks.append(EvalTask(f"grasp the {obj.color} cup", "colour", obj.name))
            break
    return tasks


def _match(scene: SceneSpec, xyz_base_m: Any, max_dist_m: float = 0.06) -> str | None:
    p = np.asarray(xyz_base_m, dtype=np.float64)
    best, best_d = None, max_dist_m
    for obj in scene.objects:
        d = float(np.hypot(p[0] - obj.x_m, p[1] - obj.y_m)) - obj.radius_m
        if d < best_d:
            best, best_d = obj.name, d
    return best


def _values(records: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in records if r["correct"] and r.get(key) is not None]


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_evaluation(
    out_dir: str | Path,
    *,
    scenes: int = 50,
    seed: int = 0,
    engine: str = "geometric",
    engine_config: dict[str, Any] | None = None,
    grasp: bool = True,
    noise: bool = True,
    distractors: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate grounding on every task of each scene and execute one grasp per scene."""
    from spatialbot_ros.cli import build_pipeline
    from spatialbot_ros.core.kinematics import URKinematics
    from spatialbot_ros.pipeline.grasp_planning import HOME_Q
    from spatialbot_ros.sim.camera import DepthNoise, VirtualRealSense
    from spatialbot_ros.sim.contact_probe import DepthContactProbe
    from spatialbot_ros.sim.executor import GraspExecutor, GraspTargets
    from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
    from spatialbot_ros.sim.world import build_world

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    # The arm parks out of view for the picture and grasps from the ready pose: plan from there.
    pipeline = build_pipeline(engine, engine_config, plan_grasps=grasp, q_current=HOME_Q)
    kinematics = URKinematics("ur5")
    records: list[dict[str, Any]] = []
    executions: list[dict[str, Any]] = []
    contact_pairs: list[tuple[bool | None, bool]] = []
    latency: dict[str, list[float]] = {}
    iterator: Any = range(scenes)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="eval", unit="scene", leave=False)
    lines = (out / "tasks.jsonl").open("w", encoding="utf-8")
    try:
        for i in iterator:
            scene_seed = seed * 100_003 + i
            scene = generate_scene(scene_seed, n_other=None if distractors else 0)
            tasks = task_family(scene)
            t = time.perf_counter()
            world = build_world(scene)
            world.set_arm_q(HIDDEN_ARM_Q)
            latency.setdefault("build_world", []).append((time.perf_counter() - t) * 1e3)
            with VirtualRealSense(
                world, DepthNoise() if noise else None, seed=scene_seed
            ) as camera:
                t = time.perf_counter()
                frame = camera.capture(stamp_ns=i)
                latency.setdefault("render", []).append((time.perf_counter() - t) * 1e3)
                surface_truth = camera.visible_centroids_base_m()
                T_base_camera = scene.camera.T_base_camera
                scene_results = []
                for task in tasks:
                    t = time.perf_counter()
                    result = pipeline.run(frame, task.text, T_base_camera)
                    latency.setdefault("pipeline_total", []).append((time.perf_counter() - t) * 1e3)
                    for stage, ms in result["timings_ms"].items():
                        latency.setdefault(stage, []).append(float(ms))
                    target = result.get("target")
                    chosen = None
                    err_mm = center_err_mm = grasp_err_mm = None
                    if result["status"] == "ok" and target and target.get("xyz_base_m"):
                        chosen = _match(scene, target["xyz_base_m"])
                        exp = scene.object(task.expected)
                        xyz = np.asarray(target["xyz_base_m"], dtype=np.float64)
                        if task.expected in surface_truth:
                            err_mm = 1000.0 * float(
                                np.linalg.norm(xyz - surface_truth[task.expected])
                            )
                        center_err_mm = 1000.0 * float(np.linalg.norm(xyz - exp.center_base_m))
                        plan = result.get("grasp") or {}
                        if plan.get("grasp_point_m") is not None:
                            gp = np.asarray(plan["grasp_point_m"], dtype=np.float64)
                            grasp_err_mm = 1000.0 * float(
                                np.hypot(gp[0] - exp.x_m, gp[1] - exp.y_m)
                            )
                    rec = {
                        "scene": i,
                        "seed": scene_seed,
                        "task": task.text,
                        "family": task.family,
                        "expected": task.expected,
                        "chosen": chosen,
                        "correct": chosen == task.expected,
                        "target_error_mm": err_mm,
                        "center_error_mm": center_err_mm,
                        "grasp_point_xy_error_mm": grasp_err_mm,
                        "status": result["status"],
                        "error": result.get("error"),
                        "grasp_planned": bool(result.get("grasp"))
                        and not result["grasp"].get("refused", False),
                    }
                    records.append(rec)
                    lines.write(json.dumps(rec) + "\n")
                    scene_results.append((task, result, rec))
                if grasp and scene_results:
                    task, result, rec = scene_results[i % len(scene_results)]
                    ex_rec: dict[str, Any] = {
                        "scene": i,
                        "task": task.text,
                        "grounded_correctly": rec["correct"],
                    }
                    plan = result.get("grasp")
                    if not plan or plan.get("refused"):
                        ex_rec.update(
                            success=False, reason=f"no plan: {plan and plan.get('reason')}"
                        )
                    else:
                        probe = DepthContactProbe(camera, result["target"]["bbox_px"], kinematics)
                        executor = GraspExecutor(world, kinematics, contact_check=probe)
                        t = time.perf_counter()
                        outcome = executor.execute(
                            GraspTargets.from_plan(plan), task.expected, q_ready=HOME_Q
                        )
                        latency.setdefault("execute_grasp", []).append(
                            (time.perf_counter() - t) * 1e3
                        )
                        ex_rec.update(
                            success=outcome.success,
                            reason=outcome.reason,
                            lifted_m=outcome.lifted_m,
                        )
                        contact_pairs.extend((s.detected, s.truth) for s in outcome.contact_samples)
                    executions.append(ex_rec)
                    lines.write(json.dumps({"execution": ex_rec}) + "\n")
            lines.flush()
    finally:
        lines.close()
    elapsed = time.perf_counter() - t_start
    summary = _summarise(
        records,
        executions,
        contact_pairs,
        latency,
        scenes,
        engine=engine,
        elapsed_s=elapsed,
        noise=noise,
        distractors=distractors,
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _plot(records, executions, out / "eval.png")
    (out / "summary.md").write_text(summary["table"] + "\n", encoding="utf-8")
    return summary


def _summarise(
    records: list[dict[str, Any]],
    executions: list[dict[str, Any]],
    contact_pairs: list[tuple[bool | None, bool]],
    latency: dict[str, list[float]],
    scenes: int,
    *,
    engine: str,
    elapsed_s: float,
    **settings: Any,
) -> dict[str, Any]:
    errors = _values(records, "target_error_mm")
    families: dict[str, list[bool]] = {}
    for r in records:
        families.setdefault(r["family"], []).append(bool(r["correct"]))
    grasp_ok = [bool(e["success"]) for e in executions]
    grasp_ok_given = [bool(e["success"]) for e in executions if e["grounded_correctly"]]
    decided = [(bool(d), t) for d, t in contact_pairs if d is not None]
    summary: dict[str, Any] = {
        "scenes": scenes,
        "engine": engine,
        "tasks": len(records),
        "grounding_accuracy": float(np.mean([r["correct"] for r in records])) if records else None,
        "grounding_accuracy_by_family": {k: float(np.mean(v)) for k, v in sorted(families.items())},
        # Grounded 3D point vs the true centroid of the object's visible surface (what a
        # depth-based grounding estimates), over correctly grounded tasks.
        "median_target_error_mm": _percentile(errors, 50),
        "p90_target_error_mm": _percentile(errors, 90),
        # For reference: vs the object's volume centre (includes the visible-surface offset),
        # and the grasp planner's centre estimate vs the object's axis (horizontal).
        "median_center_error_mm": _percentile(_values(records, "center_error_mm"), 50),
        "median_grasp_point_xy_error_mm": _percentile(
            _values(records, "grasp_point_xy_error_mm"), 50
        ),
        "grasps": len(executions),
        "grasp_success_rate": float(np.mean(grasp_ok)) if grasp_ok else None,
        "grasp_success_rate_given_correct_grounding": (
            float(np.mean(grasp_ok_given)) if grasp_ok_given else None
        ),
        "contact_samples": len(contact_pairs),
        # Occluded / no-depth readings are no evidence either way: scored separately.
        "contact_accuracy": (float(np.mean([d == t for d, t in decided])) if decided else None),
        "contact_coverage": len(decided) / len(contact_pairs) if contact_pairs else None,
        "contact_recall": (
            float(np.mean([d for d, t in decided if t])) if any(t for _, t in decided) else None
        ),
        "latency_ms_median": {k: float(np.median(v)) for k, v in sorted(latency.items()) if v},
        "elapsed_s": elapsed_s,
        "settings": settings,
    }
    summary["table"] = _table(summary)
    return summary


def _fmt(value: Any, pct: bool = False, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f} %" if pct else f"{value:.1f}{unit}"


def _table(s: dict[str, Any]) -> str:
    rows = [
        ("scenes", str(s["scenes"])),
        ("tasks", str(s["tasks"])),
        ("grounding accuracy", _fmt(s["grounding_accuracy"], pct=True)),
        *[(f"  {k}", _fmt(v, pct=True)) for k, v in s["grounding_accuracy_by_family"].items()],
        ("median 3D target error (visible surface)", _fmt(s["median_target_error_mm"], unit=" mm")),
        ("median error vs volume centre", _fmt(s["median_center_error_mm"], unit=" mm")),
        ("median grasp point xy error", _fmt(s["median_grasp_point_xy_error_mm"], unit=" mm")),
        ("grasp success rate", _fmt(s["grasp_success_rate"], pct=True)),
        (
            "  given correct grounding",
            _fmt(s["grasp_success_rate_given_correct_grounding"], pct=True),
        ),
        ("contact-detection accuracy", _fmt(s["contact_accuracy"], pct=True)),
        ("  coverage (pads visible)", _fmt(s["contact_coverage"], pct=True)),
        ("  recall of physical contact", _fmt(s["contact_recall"], pct=True)),
        *[(f"latency {k}", _fmt(v, unit=" ms")) for k, v in s["latency_ms_median"].items()],
        ("wall time", _fmt(s["elapsed_s"], unit=" s")),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _plot(records: list[dict[str, Any]], executions: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams: dict[str, list[bool]] = {}
    for r in records:
        fams.setdefault(r["family"], []).append(bool(r["correct"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    names = sorted(fams)
    ax1.bar(names, [100 * float(np.mean(fams[n])) for n in names], color="tab:blue")
    if executions:
        ax1.bar(
            ["grasp success"],
            [100 * float(np.mean([e["success"] for e in executions]))],
            color="tab:green",
        )
    ax1.set_ylim(0, 105)
    ax1.set_ylabel("%")
    ax1.set_title("Grounding accuracy by task family; grasp success")
    plt.setp(ax1.get_xticklabels(), rotation=30, ha="right")
    errs = [r["target_error_mm"] for r in records if r["correct"] and r["target_error_mm"]]
    ax2.hist(errs, bins=30, color="tab:orange")
    ax2.set_xlabel("3D target error vs the true visible-surface centroid (mm)")
    ax2.set_ylabel("tasks")
    ax2.set_title("3D target error of correctly grounded tasks")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
