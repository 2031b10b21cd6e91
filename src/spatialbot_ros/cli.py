"""The `spatialbot` command: demo, replay, eval, record-sim, bench-eval, engines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "build_pipeline", "main"]

EXIT_OK = 0
EXIT_FAILED = 1  # ran, but the outcome is a failure (demo grasp failed, targets missed)
EXIT_ERROR = 2  # could not run: bad bag, bad arguments


def _engine_config(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    engine = args.engine or ("spatialbot" if getattr(args, "model_path", None) else "geometric")
    config: dict[str, Any] = {}
    if getattr(args, "model_path", None):
        config["model_path"] = str(args.model_path)
    if getattr(args, "device", None):
        config["device"] = args.device
    return engine, config


def build_pipeline(
    engine: str = "geometric",
    engine_config: dict[str, Any] | None = None,
    *,
    plan_grasps: bool = True,
    q_current: Sequence[float] | None = None,
) -> Any:
    """A TaskPipeline with the named engine and, when wanted, the UR5 grasp planner."""
    from spatialbot_ros.pipeline.grounding import TaskPipeline
    from spatialbot_ros.vlm.base import make_engine

    planner = None
    if plan_grasps:
        from spatialbot_ros.pipeline.grasp_planning import make_grasp_planner

        planner = make_grasp_planner(q_current=q_current)
    return TaskPipeline(make_engine(engine, engine_config or {}), grasp_planner=planner)


def _parse_pose(text: str | None, parent: str, child: str) -> Any:
    if not text:
        return None
    from spatialbot_ros.core.transforms import RigidTransform

    values = [float(v) for v in text.replace(",", " ").split()]
    if len(values) != 7:
        raise argparse.ArgumentTypeError(
            f"expected --camera-pose 'x y z qx qy qz qw' (7 numbers), got {len(values)}"
        )
    return RigidTransform.from_xyz_quat(values[:3], values[3:], parent, child)


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        default=None,
        help="grounding engine (default: geometric, or "
        "spatialbot when --model-path is given); see `spatialbot engines list`",
    )
    p.add_argument(
        "--model-path",
        type=Path,
        default=None,
        help="local SpatialBot model directory (uses the spatialbot engine)",
    )
    p.add_argument("--device", default=None, help="torch device for the spatialbot engine")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `spatialbot`."""
    parser = argparse.ArgumentParser(
        prog="spatialbot", description="SpatialBot grounding and UR5 grasping, offline tools."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="run tasks over a ROS 2 bag (sqlite3 or mcap)")
    p.add_argument("bag", type=Path, help="rosbag2 directory (or .mcap / .db3 file)")
    p.add_argument(
        "--task",
        action="append",
        default=[],
        help="task to run (repeatable); otherwise tasks come from --task-topic",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    _add_engine_args(p)
    p.add_argument("--color-topic", default="/camera/camera/color/image_raw")
    p.add_argument("--depth-topic", default="/camera/camera/aligned_depth_to_color/image_raw")
    p.add_argument("--info-topic", default="/camera/camera/color/camera_info")
    p.add_argument(
        "--depth-info-topic", default="/camera/camera/aligned_depth_to_color/camera_info"
    )
    p.add_argument("--task-topic", default="/spatialbot/task")
    p.add_argument(
        "--slop",
        type=float,
        default=0.02,
        help="RGB/depth pairing tolerance in seconds (default 0.02)",
    )
    p.add_argument(
        "--distro",
        default=None,
        choices=("humble", "iron", "jazzy", "kilted"),
        help="message definitions for bags that lack them (default: from metadata)",
    )
    p.add_argument("--stride", type=int, default=1, help="run --task on every Nth frame")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument(
        "--camera-pose",
        default=None,
        help="T_base_camera as 'x y z qx qy qz qw' (else the bag's /tf_static)",
    )
    p.add_argument("--base-frame", default="base_link")
    p.add_argument("--no-grasp", action="store_true", help="do not plan grasps")
    p.add_argument("--no-images", action="store_true", help="do not write annotated PNGs")
    p.add_argument("--no-bag", action="store_true", help="do not write the results bag")
    p.add_argument("--out-storage", default="mcap", choices=("mcap", "sqlite3"))
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("demo", help="three teacups: record, replay, grasp in simulation")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task", default="grasp the middle teacup")
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"))
    p.add_argument("--no-noise", action="store_true", help="clean depth (no D435-like noise)")
    _add_engine_args(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("eval", help="seeded simulated scenes x task family: accuracy, success")
    p.add_argument("--scenes", type=int, default=50)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-grasp", action="store_true", help="grounding only (no grasping)")
    p.add_argument("--no-noise", action="store_true", help="clean depth (no D435-like noise)")
    p.add_argument(
        "--distractors", action="store_true", help="add 0-2 boxes and balls to each scene"
    )
    p.add_argument("--no-progress", action="store_true")
    _add_engine_args(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("record-sim", help="record a simulated tabletop to a ROS 2 bag")
    p.add_argument("--out", type=Path, required=True, help="bag directory to create")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--cups", type=int, default=None, help="number of cups (default: random 2-6)")
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"))
    p.add_argument("--noise", action="store_true", help="D435-like depth noise and holes")
    p.add_argument("--task", default=None, help="also record this task on /spatialbot/task")
    p.add_argument(
        "--camera-eye",
        type=float,
        nargs=3,
        default=None,
        metavar=("X", "Y", "Z"),
        help="camera position in base_link, m (default 0.98 0 0.72)",
    )
    p.add_argument(
        "--camera-target",
        type=float,
        nargs=3,
        default=None,
        metavar=("X", "Y", "Z"),
        help="point the camera looks at (default 0.58 0 0)",
    )
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fovy", type=float, default=42.5, help="vertical field of view, degrees")
    p.set_defaults(func=_cmd_record_sim)

    p = sub.add_parser("bench-eval", help="score an engine on SpatialBench-format data")
    p.add_argument("dataset_dir", type=Path, help="SpatialBench folder")
    p.add_argument("--categories", nargs="+", default=None, help="only these task families")
    p.add_argument("--limit", type=int, default=None, help="at most N samples per category")
    p.add_argument(
        "--output",
        "--out",
        dest="output",
        type=Path,
        default=None,
        help="write the JSON report here",
    )
    p.add_argument("--engine-config", default=None, help="engine settings (YAML or JSON file)")
    _add_engine_args(p)
    p.set_defaults(func=_cmd_bench_eval)

    p = sub.add_parser("engines", help="grounding engines")
    p.add_argument("action", choices=("list",))
    p.set_defaults(func=_cmd_engines)
    return parser


def _cmd_replay(args: argparse.Namespace) -> int:
    from spatialbot_ros.replay import CameraTopics, ReplayError, ReplayOptions, run_replay

    engine, config = _engine_config(args)
    topics = CameraTopics(
        color=args.color_topic,
        depth=args.depth_topic,
        color_info=args.info_topic,
        depth_info=args.depth_info_topic,
        task=args.task_topic or None,
    )
    options = ReplayOptions(
        tasks=tuple(args.task),
        topics=topics,
        slop_s=args.slop,
        distro=args.distro,
        stride=args.stride,
        max_frames=args.max_frames,
        T_base_camera=_parse_pose(args.camera_pose, args.base_frame, "camera_color_optical_frame"),
        base_frame=args.base_frame,
        write_images=not args.no_images,
        write_bag=not args.no_bag,
        out_storage=args.out_storage,
        progress=not args.no_progress,
    )
    pipeline = build_pipeline(engine, config, plan_grasps=not args.no_grasp)
    try:
        summary = run_replay(args.bag, args.out, pipeline, options)
    except ReplayError as exc:
        print(f"spatialbot replay: error: {exc}", file=sys.stderr)
        results = Path(args.out) / "results.jsonl"
        if results.is_file() and results.stat().st_size > 0:
            print(f"results so far kept in {results}", file=sys.stderr)
        else:
            print("no results were written", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"{summary.frames} frames, {summary.results} results ({summary.errors} with errors) "
        f"in {summary.elapsed_s:.1f} s -> {summary.results_path}"
    )
    if summary.camera_pose_source == "none" and options.T_base_camera is None:
        print(
            "note: no camera pose (no /tf_static in the bag, no --camera-pose): results have "
            "no base-frame position and no grasp plan",
            file=sys.stderr,
        )
    if summary.error:
        print(f"warning: {summary.error}", file=sys.stderr)
    # a task that errored on every frame is a failed run, even though the bag read fine
    return EXIT_FAILED if summary.errors else EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.demo import run_demo

    engine, config = _engine_config(args)
    report = run_demo(
        args.out,
        seed=args.seed,
        task=args.task,
        engine=engine,
        engine_config=config,
        storage=args.storage,
        noise=not args.no_noise,
    )
    print(json.dumps({k: report[k] for k in ("success", "timings_s") if k in report}, indent=2))
    print(f"report: {Path(args.out) / 'report.json'}")
    return EXIT_OK if report.get("success") else EXIT_FAILED


def _cmd_eval(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.evaluation import run_evaluation

    engine, config = _engine_config(args)
    summary = run_evaluation(
        args.out,
        scenes=args.scenes,
        seed=args.seed,
        engine=engine,
        engine_config=config,
        grasp=not args.no_grasp,
        noise=not args.no_noise,
        distractors=args.distractors,
        progress=not args.no_progress,
    )
    print(summary.get("table", ""))
    print(f"summary: {Path(args.out) / 'summary.json'}")
    return EXIT_OK


def _cmd_record_sim(args: argparse.Namespace) -> int:
    from spatialbot_ros.sim.recorder import record_scene_bag
    from spatialbot_ros.sim.scene import (
        DEFAULT_CAMERA_EYE,
        DEFAULT_CAMERA_TARGET,
        generate_scene,
        look_at_camera,
    )

    camera = look_at_camera(
        args.camera_eye or DEFAULT_CAMERA_EYE,
        args.camera_target or DEFAULT_CAMERA_TARGET,
        args.width,
        args.height,
        args.fovy,
    )
    scene = generate_scene(args.seed, n_cups=args.cups, camera=camera)

    info = record_scene_bag(
        args.out,
        seed=args.seed,
        frames=args.frames,
        fps=args.fps,
        n_cups=args.cups,
        storage=args.storage,
        noise=args.noise,
        task=args.task,
        scene=scene,
    )
    print(json.dumps(info, indent=2))
    return EXIT_OK


def _cmd_bench_eval(args: argparse.Namespace) -> int:
    from spatialbot_ros.vlm.spatialbench import main_bench_eval

    engine, config = _engine_config(args)
    args.engine = engine
    if args.engine_config is None:
        args.engine_config = config
    return int(main_bench_eval(args))


def _cmd_engines(args: argparse.Namespace) -> int:
    from spatialbot_ros.vlm.base import available_engines

    for name in available_engines():
        print(name)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `spatialbot`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        return 130
    return EXIT_ERROR  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    sys.exit(main())
