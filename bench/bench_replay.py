"""Benchmark bag replay on one CPU core: read, pair and convert 640x480 RGB-D frames.

Run:  PYTHONPATH=src python bench/bench_replay.py [--frames N] [--repeats N]

Writes a 30 Hz RealSense-style bag (rgb8 + 16UC1 aligned depth + both camera_infos) in mcap
and in sqlite3 to a temporary folder, then times, per storage format:
  replay     BagFrameReader: header stamps read from the raw CDR, pairing on stamps, only
             paired messages deserialised, zero-copy conversion to RGBDFrame
  baseline   the straightforward way: deserialise every message with AnyReader, keep them in
             lists, pair each colour frame with the nearest depth frame by a linear search,
             and convert with copying np.array(...).reshape(...)
Prints median seconds, frames per second, the speed-up over real time (30 Hz) and the ratio
to the baseline, and checks the target of issue 7: >= 10x real time on one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.replay import BagFrameReader, BagWriter, CameraTopics
from spatialbot_ros.replay.typestores import typestore_for

FPS = 30.0
TARGET_X_REALTIME = 10.0
INTR = CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5, "plumb_bob", (0.0,) * 5)


def write_bench_bag(path: Path, frames: int, storage: str) -> None:
    """A bag of `frames` distinct 640x480 RGB-D frames at 30 Hz, depth 2 ms after colour."""
    rng = np.random.default_rng(0)
    base_rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    base_depth = rng.integers(400, 2000, (480, 640), dtype=np.uint16)
    topics = CameraTopics()
    with BagWriter(path, storage) as writer:
        for i in range(frames):
            t = 1_700_000_000_000_000_000 + round(i * 1e9 / FPS)
            frame = RGBDFrame(np.roll(base_rgb, i, axis=1), base_depth + i, INTR, t)
            writer.write_frame(frame, topics, t)


def run_replay(path: Path) -> int:
    """Frames out of BagFrameReader (what replay does before the engine)."""
    n = 0
    with BagFrameReader(path, slop_s=0.02) as reader:
        for item in reader:
            if isinstance(item, RGBDFrame):
                n += 1
    return n


def run_baseline(path: Path) -> int:
    """Deserialise everything, nearest-stamp search, copying conversion."""
    from rosbags.highlevel import AnyReader

    topics = CameraTopics()
    colors: list[Any] = []
    depths: list[Any] = []
    info: Any = None
    with AnyReader([path], default_typestore=typestore_for("jazzy")) as reader:
        for conn, _, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            if conn.topic == topics.color:
                colors.append(msg)
            elif conn.topic == topics.depth:
                depths.append(msg)
            elif conn.topic == topics.color_info:
                info = msg

    def stamp(m: Any) -> int:
        return int(m.header.stamp.sec) * 1_000_000_000 + int(m.header.stamp.nanosec)

    n = 0
    for c in colors:
        best = min(depths, key=lambda d, c=c: abs(stamp(d) - stamp(c)))
        if abs(stamp(best) - stamp(c)) > 20_000_000:
            continue
        rgb = np.array(c.data, dtype=np.uint8).reshape(c.height, c.width, 3)
        depth = np.array(best.data, dtype=np.uint8).view(np.uint16).reshape(c.height, c.width)
        RGBDFrame(rgb, depth, CameraIntrinsics.from_camera_info(info), stamp(c))
        n += 1
    return n


def _median_time(fn: Any, path: Path, repeats: int, expected: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - t0)
        if n != expected:
            raise RuntimeError(f"{fn.__name__}: expected {expected} frames, got {n}")
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames in the bag (10 s)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core, as the target says
    print(
        f"replay of {args.frames} RGB-D frames 640x480 at {FPS:.0f} Hz "
        f"({args.frames / FPS:.1f} s of recording), median of {args.repeats}, one core"
    )
    print(
        f"{'storage':8} {'method':9} {'median s':>9} {'frames/s':>9} {'x realtime':>10} "
        f"{'vs baseline':>11}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for storage in ("mcap", "sqlite3"):
            path = Path(tmp) / storage
            write_bench_bag(path, args.frames, storage)
            run_replay(path)  # warm the page cache and imports for both
            t_base = _median_time(run_baseline, path, args.repeats, args.frames)
            t_ours = _median_time(run_replay, path, args.repeats, args.frames)
            for name, t in (("baseline", t_base), ("replay", t_ours)):
                fps = args.frames / t
                print(
                    f"{storage:8} {name:9} {t:9.3f} {fps:9.0f} {fps / FPS:10.1f} "
                    f"{t_base / t:10.2f}x"
                )
            ok &= args.frames / t_ours / FPS >= TARGET_X_REALTIME
    print(f"target >= {TARGET_X_REALTIME:.0f}x real time on one core: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
