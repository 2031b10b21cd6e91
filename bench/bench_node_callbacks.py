"""Benchmark the SpatialBot node's callback work and start-up on one CPU core (no ROS needed).

Run:  PYTHONPATH=src python bench/bench_node_callbacks.py [--repeats N]

Per frame (640x480 rgb8 + 16UC1 aligned depth + camera_info, rosbags messages): the approximate
time synchroniser (pipeline/sync.py, three add() calls) plus SpatialBotNodeLogic.on_frames
(message -> RGBDFrame with validation), i.e. everything the node does on the image callback
thread. Also the 32FC1-depth variant and the per-task output messages. Baseline: the same
work written plainly — bytes(msg.data) copies reshaped into new arrays, depth through float,
a list-scan pairing — measured in the same run. Targets: per-frame work <= 5 ms at 640x480;
node start-up without a model (import + construct + load the weight-free engine) <= 2 s.
"""

from __future__ import annotations

import argparse
import array
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.pipeline.ros_messages import stamp_to_ns
from spatialbot_ros.pipeline.ros_types import default_message, rosbags_factory
from spatialbot_ros.pipeline.spatialbot_node_logic import SpatialBotNodeConfig, SpatialBotNodeLogic
from spatialbot_ros.pipeline.sync import ApproximateTimeSync

W, H = 640, 480
NS = 1_000_000_000
INTR = CameraIntrinsics(W, H, 615.0, 615.0, 319.5, 239.5, "plumb_bob", (0.0,) * 5)


def median_s(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of one call over `repeats` runs (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def header(stamp_ns: int) -> Any:
    sec, nanosec = divmod(stamp_ns, NS)
    return default_message(
        "std_msgs/msg/Header",
        stamp=default_message("builtin_interfaces/msg/Time", sec=sec, nanosec=nanosec),
        frame_id="camera_color_optical_frame",
    )


def image(array: np.ndarray, encoding: str, stamp_ns: int) -> Any:
    array = np.ascontiguousarray(array)
    return default_message(
        "sensor_msgs/msg/Image",
        header=header(stamp_ns),
        height=array.shape[0],
        width=array.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=array.nbytes // array.shape[0],
        data=np.frombuffer(array.tobytes(), np.uint8),
    )


def camera_info(stamp_ns: int) -> Any:
    f = INTR.to_camera_info_fields()
    return default_message(
        "sensor_msgs/msg/CameraInfo",
        header=header(stamp_ns),
        height=H,
        width=W,
        distortion_model=f["distortion_model"],
        d=np.asarray(f["d"], np.float64),
        k=np.asarray(f["k"], np.float64),
        r=np.asarray(f["r"], np.float64),
        p=np.asarray(f["p"], np.float64),
    )


def baseline_frame(rgb_msg: Any, depth_msg: Any, info_msg: Any) -> tuple[Any, ...]:
    """Straightforward conversion: copy the bytes, reshape, convert depth through float."""
    rgb = np.array(bytearray(bytes(rgb_msg.data)), dtype=np.uint8).reshape(H, W, 3)
    if depth_msg.encoding == "32FC1":
        depth_m = np.frombuffer(bytes(depth_msg.data), dtype=np.float32).reshape(H, W).copy()
        depth = np.nan_to_num(depth_m * 1000.0).round().astype(np.uint16)
    else:
        raw = np.frombuffer(bytes(depth_msg.data), dtype=np.uint16).reshape(H, W)
        depth = (raw.astype(np.float64) * 1.0).astype(np.uint16)
    k = list(info_msg.k)
    return rgb, depth, (k[0], k[4], k[2], k[5])


class ListPairing:
    """Baseline sync: scan lists for a full set within the slop after every message."""

    def __init__(self, slop_ns: int) -> None:
        self.slop_ns = slop_ns
        self.lists: dict[str, list[tuple[int, Any]]] = {"rgb": [], "depth": [], "info": []}

    def add(self, stream: str, stamp_ns: int, msg: Any) -> tuple[Any, ...] | None:
        self.lists[stream].append((stamp_ns, msg))
        for r in self.lists["rgb"]:
            for d in self.lists["depth"]:
                for i in self.lists["info"]:
                    stamps = (r[0], d[0], i[0])
                    if max(stamps) - min(stamps) <= self.slop_ns:
                        for name in self.lists:
                            self.lists[name].clear()
                        return r[1], d[1], i[1]
        return None


def startup_s() -> float:
    """Fresh interpreter: import, construct the node logic, load the weight-free engine."""
    code = (
        "import time; t0 = time.perf_counter();"
        "from spatialbot_ros.pipeline.spatialbot_node_logic import "
        "SpatialBotNodeConfig, SpatialBotNodeLogic;"
        "from spatialbot_ros.pipeline.ros_types import rosbags_factory;"
        "logic = SpatialBotNodeLogic(SpatialBotNodeConfig(), rosbags_factory(), time.time_ns);"
        "assert logic.load_engine();"
        "print(time.perf_counter() - t0)"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every measurement and print medians, ratios and the target checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    depth_mm = rng.integers(300, 2000, (H, W), dtype=np.uint16)
    depth_m = depth_mm.astype(np.float32) / 1000.0

    factory = rosbags_factory()
    logic = SpatialBotNodeLogic(SpatialBotNodeConfig(), factory, time.time_ns)
    sync = ApproximateTimeSync(slop_ns=NS // 20)
    plain = ListPairing(NS // 20)

    def stream(depth_array: np.ndarray, encoding: str) -> list[tuple[Any, Any, Any]]:
        return [
            (
                image(rgb, "rgb8", k * NS // 30),
                image(depth_array, encoding, k * NS // 30),
                camera_info(k * NS // 30),
            )
            for k in range(8)
        ]

    def rclpy_style(msgs: list[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, Any]]:
        """Images whose data is array.array('B'), as rclpy stores uint8[] fields."""
        out = []
        for r, d, i in msgs:
            out.append(
                tuple(
                    SimpleNamespace(**{**vars(m), "data": array.array("B", bytes(m.data))})
                    if hasattr(m, "encoding")
                    else m
                    for m in (r, d, i)
                )
            )
        return out

    results: dict[str, tuple[float, float]] = {}
    for label, msgs in (
        ("16UC1", stream(depth_mm, "16UC1")),
        ("32FC1", stream(depth_m, "32FC1")),
        ("16UC1, rclpy-style array.array data", rclpy_style(stream(depth_mm, "16UC1"))),
    ):
        counter = {"k": 0}

        def ours(
            msgs: list[tuple[Any, Any, Any]] = msgs, counter: dict[str, int] = counter
        ) -> None:
            r, d, i = msgs[counter["k"] % len(msgs)]
            counter["k"] += 1
            stamp = stamp_to_ns(r.header.stamp) + counter["k"] * NS
            sync.add("rgb", stamp, r)
            sync.add("depth", stamp, d)
            matched = sync.add("info", stamp, i)
            assert matched is not None
            assert logic.on_frames(*matched)

        def base(
            msgs: list[tuple[Any, Any, Any]] = msgs, counter: dict[str, int] = counter
        ) -> None:
            r, d, i = msgs[counter["k"] % len(msgs)]
            counter["k"] += 1
            stamp = counter["k"] * NS
            plain.add("rgb", stamp, r)
            plain.add("depth", stamp, d)
            matched = plain.add("info", stamp, i)
            assert matched is not None
            baseline_frame(*matched)

        results[label] = (median_s(ours, args.repeats), median_s(base, args.repeats))

    frame = logic.latest_frame
    assert frame is not None
    target = {
        "label": "cup",
        "bbox_px": [300.0, 200.0, 360.0, 280.0],
        "bbox_norm": [0.47, 0.42, 0.56, 0.58],
        "depth_mm": {
            "center": 800.0,
            "mean": 800.0,
            "median": 800.0,
            "min": 780.0,
            "max": 850.0,
            "valid_fraction": 1.0,
        },
        "xyz_camera_m": [0.0, 0.0, 0.8],
        "xyz_base_m": [0.4, 0.0, 0.05],
    }
    result = {
        "task": "grasp the cup",
        "engine": "geometric",
        "status": "ok",
        "error": None,
        "kind": "grasp",
        "stamp_ns": frame.stamp_ns,
        "frame_id": frame.frame_id,
        "target": target,
        "grasp": None,
        "answer": "",
        "trace": [],
        "depth_calls": [],
        "notes": [],
        "timings_ms": {},
    }
    outputs_s = median_s(lambda: logic._outputs(dict(result), frame), max(args.repeats // 4, 20))  # type: ignore[arg-type]

    construct_s = median_s(
        lambda: SpatialBotNodeLogic(SpatialBotNodeConfig(), factory, time.time_ns), args.repeats
    )
    startups = [startup_s() for _ in range(3)]

    print(f"one core, {W}x{H}, medians over {args.repeats} runs")
    for label, (ours_s, base_s) in results.items():
        print(
            f"  per-frame callback (sync + convert, {label} depth): {ours_s * 1e3:7.3f} ms"
            f"   baseline {base_s * 1e3:7.3f} ms   ratio {ours_s / base_s:5.2f}x"
        )
    print(
        f"  per-task outputs (JSON, poses, detections, markers, debug image): "
        f"{outputs_s * 1e3:7.3f} ms (worker thread, not the callback)"
    )
    print(f"  node logic constructor: {construct_s * 1e6:7.1f} us")
    print(
        f"  start-up without a model (fresh interpreter: import + construct + load "
        f"'geometric'): median {statistics.median(startups):5.2f} s of {len(startups)}"
    )
    worst = max(v[0] for v in results.values())
    print(f"target per-frame <= 5 ms: {'PASS' if worst <= 5e-3 else 'FAIL'} ({worst * 1e3:.3f} ms)")
    print(f"target start-up <= 2 s: {'PASS' if statistics.median(startups) <= 2.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
