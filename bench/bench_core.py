"""Benchmark the core on one CPU core: depth codec, Depth API, Image -> numpy conversion.

Run:  PYTHONPATH=src python bench/bench_core.py [--repeats N]

Prints the median time per call at 640x480 and 1280x720 and the ratio to a straightforward
baseline measured in the same run:
  encode/decode    the reference formula as written (float floor-division and modulo, stack)
  depth_at_norm    a full-frame validity mask first, then the lookup
  box_depth_stats  a per-pixel Python loop over the box (statistics.median, sum/len)
  image_to_*       a copying np.array(msg.data).reshape(...)
and checks the targets of issue 3: encode + decode >= 1,000/s at 640x480, 100x100 box
statistics <= 0.2 ms, Image -> numpy at 640x480 without a copy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

from spatialbot_ros.core import depth_codec
from spatialbot_ros.core.depth_api import box_depth_stats, depth_at_norm, valid_depth_mask
from spatialbot_ros.core.depth_codec import decode_depth, encode_depth
from spatialbot_ros.core.image_msgs import (
    image_to_depth_mm,
    image_to_numpy,
    image_to_rgb,
    numpy_to_image_fields,
)

SIZES = ((640, 480), (1280, 720))


def median_s(fn: Callable[[], object], repeats: int, min_time_s: float = 0.05) -> float:
    """Median seconds per call over `repeats` batches, each batch at least ~min_time_s long."""
    fn()  # warm-up: lazy imports, caches
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    per_batch = max(1, int(min_time_s / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(per_batch):
            fn()
        samples.append((time.perf_counter() - start) / per_batch)
    return statistics.median(samples)


def baseline_encode(depth_mm: np.ndarray) -> np.ndarray:
    """The reference formula as written, on floats: R=(d//1024)*4, G=(d//32)*8 %256, B=(d%32)*8."""
    d = depth_mm.astype(np.float64)
    r = np.floor(d / 1024) * 4
    g = np.mod(np.floor(d / 32) * 8, 256)
    b = np.mod(d, 32) * 8
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def baseline_decode(image: np.ndarray) -> np.ndarray:
    """d = (R/4)*1024 + (G/8)*32 + B/8 on floats."""
    x = image.astype(np.float64)
    return ((x[..., 0] / 4) * 1024 + (x[..., 1] / 8) * 32 + x[..., 2] / 8).astype(np.uint16)


def baseline_depth_at_norm(depth_mm: np.ndarray, x: float, y: float) -> float:
    """Naive: mask the whole frame, then look the point up."""
    valid = valid_depth_mask(depth_mm)
    h, w = depth_mm.shape
    u, v = min(int(x * w), w - 1), min(int(y * h), h - 1)
    return float(depth_mm[v, u]) if valid[v, u] else float("nan")


def baseline_box_stats(depth_mm: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, ...]:
    """Per-pixel Python loop over the box."""
    x1, y1, x2, y2 = box
    values = []
    rows = depth_mm.tolist()
    for v in range(y1, y2):
        row = rows[v]
        for u in range(x1, x2):
            if row[u] > 0:
                values.append(row[u])
    n = len(values)
    return (
        float(rows[(y1 + y2 - 1) // 2][(x1 + x2 - 1) // 2]),
        sum(values) / n,
        float(statistics.median(values)),
        float(min(values)),
        float(max(values)),
        n / ((x2 - x1) * (y2 - y1)),
    )


def image_msg(array_: np.ndarray, encoding: str) -> SimpleNamespace:
    """An Image-like object with data as a flat uint8 array, as rosbags deserialises it."""
    fields = numpy_to_image_fields(array_, encoding)
    fields["data"] = np.frombuffer(bytearray(fields["data"]), dtype=np.uint8)
    return SimpleNamespace(**fields)


def synthetic_depth(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A table plane with noise and RealSense-like holes (0 = no data)."""
    v = np.arange(height, dtype=np.float64)[:, None]
    depth = 600.0 + 2.0 * v + rng.normal(0.0, 3.0, size=(height, width))
    depth[rng.random((height, width)) < 0.05] = 0
    return depth.astype(np.uint16)


class Report:
    """Rows of (operation, size, median, baseline median) and the target checks."""

    def __init__(self, repeats: int) -> None:
        """Collect medians over `repeats` batches."""
        self.repeats = repeats
        self.rows: list[tuple[str, str, float, float | None]] = []
        self.checks: list[str] = []

    def add(
        self,
        name: str,
        size: str,
        fn: Callable[[], object],
        baseline: Callable[[], object] | None = None,
        baseline_repeats: int | None = None,
    ) -> float:
        """Time `fn` (and `baseline`), record the row, return fn's median seconds."""
        t = median_s(fn, self.repeats)
        base = None
        if baseline is not None:
            base = median_s(baseline, baseline_repeats or self.repeats)
        self.rows.append((name, size, t, base))
        return t

    def check(self, text: str, ok: bool) -> None:
        """Record a target check."""
        self.checks.append(f"{text}: {'PASS' if ok else 'FAIL'}")

    def lines(self) -> list[str]:
        """The printed table and checks."""
        out = [f"{'operation':36s} {'size':>9s} {'median':>10s} {'baseline':>11s} {'ratio':>8s}"]
        for name, size, t, base in self.rows:
            base_s = f"{base * 1e6:9.1f}us" if base is not None else f"{'-':>11s}"
            ratio = f"{base / t:7.1f}x" if base is not None else f"{'-':>8s}"
            out.append(f"{name:36s} {size:>9s} {t * 1e6:8.1f}us {base_s} {ratio}")
        return [*out, "", *self.checks]


def bench_codec(report: Report, depth: np.ndarray, size: str) -> None:
    """Encode/decode with OpenCV, without it, and the float reference formula."""
    encoded = encode_depth(depth)
    assert np.array_equal(encoded, baseline_encode(depth)), "codec differs from the reference"
    assert np.array_equal(decode_depth(encoded), depth)
    enc = report.add(
        "encode_depth", size, partial(encode_depth, depth), partial(baseline_encode, depth)
    )
    dec = report.add(
        "decode_depth (strict)",
        size,
        partial(decode_depth, encoded),
        partial(baseline_decode, encoded),
    )
    report.add("decode_depth (lenient)", size, partial(decode_depth, encoded, strict=False))
    saved = depth_codec._CV2_STATE[:]
    depth_codec._CV2_STATE[:] = [None]  # the numpy-only path, as on a machine without OpenCV
    try:
        enc_np = report.add("encode_depth (no OpenCV)", size, partial(encode_depth, depth))
        dec_np = report.add("decode_depth (no OpenCV)", size, partial(decode_depth, encoded))
    finally:
        depth_codec._CV2_STATE[:] = saved
    if size == "640x480":
        report.check(
            f"encode+decode 640x480 >= 1,000/s: {1.0 / (enc + dec):,.0f}/s "
            f"(without OpenCV {1.0 / (enc_np + dec_np):,.0f}/s)",
            1.0 / (enc + dec) >= 1000,
        )


def bench_depth_api(report: Report, depth: np.ndarray, size: str) -> None:
    """Depth at a normalised point and 100x100 box statistics."""
    report.add(
        "depth_at_norm",
        size,
        partial(depth_at_norm, depth, 0.51, 0.4),
        partial(baseline_depth_at_norm, depth, 0.51, 0.4),
    )
    h, w = depth.shape
    box = (w // 2 - 50, h // 2 - 50, w // 2 + 50, h // 2 + 50)
    box_s = report.add(
        "box_depth_stats 100x100",
        size,
        partial(box_depth_stats, depth, box),
        partial(baseline_box_stats, depth, box),
        baseline_repeats=max(3, report.repeats // 3),
    )
    if size == "640x480":
        report.check(f"box_depth_stats 100x100 <= 0.2 ms: {box_s * 1e3:.3f} ms", box_s <= 2e-4)


def bench_image_msgs(
    report: Report, depth: np.ndarray, size: str, rng: np.random.Generator
) -> None:
    """Image -> numpy views and conversions against a copying np.array(...).reshape."""
    h, w = depth.shape
    rgb = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    rgb_msg, bgr_msg = image_msg(rgb, "rgb8"), image_msg(rgb, "bgr8")
    depth_msg = image_msg(depth, "16UC1")
    metres_msg = image_msg(depth.astype(np.float32) / 1000.0, "32FC1")

    def copy_rgb() -> np.ndarray:
        return np.array(rgb_msg.data).reshape(h, w, 3)

    def copy_depth() -> np.ndarray:
        return np.array(depth_msg.data).view(np.uint16).reshape(h, w)

    report.add("image_to_numpy rgb8", size, partial(image_to_numpy, rgb_msg), copy_rgb)
    report.add("image_to_rgb bgr8 (converts)", size, partial(image_to_rgb, bgr_msg), copy_rgb)
    report.add("image_to_depth_mm 16UC1", size, partial(image_to_depth_mm, depth_msg), copy_depth)
    report.add("image_to_depth_mm 32FC1 (converts)", size, partial(image_to_depth_mm, metres_msg))
    if size == "640x480":
        shared = np.shares_memory(image_to_numpy(rgb_msg), rgb_msg.data) and np.shares_memory(
            image_to_depth_mm(depth_msg), depth_msg.data
        )
        report.check("Image -> numpy 640x480 rgb8/16UC1 without a copy", shared)


def run(repeats: int) -> list[str]:
    """Measure everything at both sizes; return the lines of the report."""
    report = Report(repeats)
    rng = np.random.default_rng(0)
    for width, height in SIZES:
        size = f"{width}x{height}"
        depth = synthetic_depth(width, height, rng)
        bench_codec(report, depth, size)
        bench_depth_api(report, depth, size)
        bench_image_msgs(report, depth, size, rng)
    return report.lines()


def main() -> None:
    """Pin to one core, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="batches per median (default 15)")
    args = parser.parse_args()
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = f"pinned to CPU {cpu}"
    cv2: Any = depth_codec._cv2()
    if cv2 is not None:
        cv2.setNumThreads(1)  # one core means one OpenCV thread too
    opencv = getattr(cv2, "__version__", "absent")
    print(f"bench_core: numpy {np.__version__}, OpenCV {opencv}, {pinned}")
    for line in run(args.repeats):
        print(line)


if __name__ == "__main__":
    main()
