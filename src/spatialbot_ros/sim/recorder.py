"""Record a simulated tabletop to a ROS 2 bag on realsense-ros topics (mcap or sqlite3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.replay.reader import REALSENSE_TOPICS, CameraTopics
from spatialbot_ros.sim.scene import OPTICAL_FRAME, SceneSpec, generate_scene

__all__ = ["HIDDEN_ARM_Q", "TRUTH_FILE", "record_scene_bag", "scene_truth"]

# Bag time starts at a fixed epoch so that recordings of one seed are byte-for-byte repeatable.
START_NS = 1_750_000_000_000_000_000
TRUTH_FILE = "scene_truth.json"
# Arm turned to the side (+y), out of the camera's view while the scene is captured.
HIDDEN_ARM_Q = (1.9, -1.9, 1.9, -1.57, -1.57, 0.0)


def scene_truth(scene: SceneSpec) -> dict[str, Any]:
    """Ground truth of a scene as JSON: objects (base_link, m), camera pose and intrinsics."""
    from spatialbot_ros.sim.camera import intrinsics_of

    intr = intrinsics_of(scene.camera)
    xyz, quat = scene.camera.T_base_camera.to_xyz_quat()
    return {
        "seed": scene.seed,
        "objects": [
            {
                "name": o.name,
                "kind": o.kind,
                "color": o.color,
                "x_m": o.x_m,
                "y_m": o.y_m,
                "radius_m": o.radius_m,
                "height_m": o.height_m,
            }
            for o in scene.objects
        ],
        "camera": {
            "T_base_camera_xyz": [float(v) for v in xyz],
            "T_base_camera_quat_xyzw": [float(v) for v in quat],
            "fx": intr.fx,
            "fy": intr.fy,
            "cx": intr.cx,
            "cy": intr.cy,
            "width": intr.width,
            "height": intr.height,
        },
    }


def record_scene_bag(
    out: str | Path,
    *,
    seed: int = 0,
    frames: int = 10,
    fps: float = 30.0,
    n_cups: int | None = None,
    storage: str = "mcap",
    noise: bool = False,
    task: str | None = None,
    scene: SceneSpec | None = None,
    topics: CameraTopics = REALSENSE_TOPICS,
    world: Any = None,
) -> dict[str, Any]:
    """Render `frames` RGB-D frames of a scene into a new bag at `out`, with /tf_static.

    The scene is `scene`, or generated from `seed` (with `n_cups` cups); a `world` already
    built for it may be passed to reuse its state (e.g. after the arm moved). Returns a summary
    with the bag path and the scene's ground truth (also written to out/scene_truth.json).
    """
    from spatialbot_ros.replay.writer import BagWriter
    from spatialbot_ros.sim.camera import DepthNoise, VirtualRealSense
    from spatialbot_ros.sim.world import build_world

    if frames < 1 or fps <= 0:
        raise ValueError(f"expected frames >= 1 and fps > 0, got {frames} and {fps}")
    scene = scene or generate_scene(seed, n_cups=n_cups)
    if world is None:
        world = build_world(scene)
        world.set_arm_q(HIDDEN_ARM_Q)
    period_ns = round(1e9 / fps)
    out_path = Path(out)
    with (
        VirtualRealSense(world, DepthNoise() if noise else None, seed=seed) as camera,
        BagWriter(out_path, storage) as writer,
    ):
        writer.write_transforms([scene.camera.T_base_camera], START_NS)
        if task:
            writer.write_task(topics.task or "/spatialbot/task", task, START_NS)
        rgb = camera.render_rgb()  # the scene is static: one colour render serves all
        depth_mm = camera.render_depth_mm()
        for i in range(frames):
            stamp = START_NS + i * period_ns
            if noise and i > 0:  # fresh noise per frame, as a real sensor gives
                depth_mm = camera.render_depth_mm()
            frame = RGBDFrame(rgb, depth_mm, camera.intrinsics, stamp, OPTICAL_FRAME)
            writer.write_frame(frame, topics, stamp + 1000)
        written = writer.messages_written
    truth = scene_truth(scene)
    (out_path / TRUTH_FILE).write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return {
        "bag": str(out_path),
        "storage": storage,
        "frames": frames,
        "messages": written,
        "duration_s": (frames - 1) * period_ns * 1e-9,
        "truth": truth,
        "noise": bool(noise),
        "task": task,
        "depth_valid_fraction": float(np.count_nonzero(depth_mm) / depth_mm.size),
    }
