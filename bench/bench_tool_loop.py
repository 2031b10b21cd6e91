"""Depth API tool loop: prefill tokens and wall time, KV-cache resumption vs re-prompting.

A tiny Bunny-like model (test/vlm/tiny_model.py) with SpatialBot-3B's image geometry (SigLIP
384 px, patch 14: 729 positions per image, two images) is scripted to emit 1, 2 or 4
`Depth(x, y)` calls and then a box.  For each, the grounded query runs with the KV cache
reused across API turns and re-prompted from scratch every round (prompt + both images
re-encoded), the straightforward baseline.  Prefill tokens are positions run through the
model other than fed-back generated tokens; the goal is <= 1.1x those of a single pass.

    PYTHONPATH=src python bench/bench_tool_loop.py [--repeats 5] [--image-size 384]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "test" / "vlm"))

from spatialbot_ros.core import CameraIntrinsics, RGBDFrame  # noqa: E402
from spatialbot_ros.vlm.base import DepthCall  # noqa: E402
from spatialbot_ros.vlm.model_loading import load_model  # noqa: E402
from spatialbot_ros.vlm.prompt import grounding_question  # noqa: E402
from spatialbot_ros.vlm.spatialbot_engine import SpatialBotConfig, SpatialBotEngine  # noqa: E402
from spatialbot_ros.vlm.tool_loop import run_tool_loop  # noqa: E402

POINTS = ["0.25,0.50", "0.75,0.50", "0.10,0.90", "0.60,0.20"]


def _frame() -> RGBDFrame:
    rng = np.random.default_rng(0)
    depth = rng.integers(400, 3000, (480, 640)).astype(np.uint16)
    rgb = rng.integers(0, 255, (480, 640, 3)).astype(np.uint8)
    return RGBDFrame(rgb, depth, CameraIntrinsics(640, 480, 600.0, 600.0, 319.5, 239.5))


def main() -> None:
    """Build the tiny model, run the table, print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=384)
    parser.add_argument("--patch-size", type=int, default=14)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    import torch
    from tiny_model import build_tiny_bunny, set_script

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_bunny(
            Path(tmp) / "tiny",
            image_size=args.image_size,
            patch_size=args.patch_size,
            hidden_size=64,
        )
        loaded = load_model(path, device="cpu", trust_remote_code=True)
    engine = SpatialBotEngine(SpatialBotConfig(), loaded=loaded)
    model, tok = loaded.model, loaded.tokenizer
    frame = _frame()
    ids, images = engine._inputs(frame, grounding_question("middle teacup"))

    def resolve(x: float, y: float) -> DepthCall:
        return engine._depth_call(frame, x, y)

    per_image = (args.image_size // args.patch_size) ** 2
    print(f"tiny Bunny-like model, {per_image} positions per image, 2 images, CPU 1 thread")
    header = (
        f"{'calls':>5} {'single':>7} {'cache':>7} {'reprompt':>9} {'cache/single':>13} "
        f"{'reprompt/single':>16} {'t_cache ms':>11} {'t_reprompt ms':>14} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for n_calls in (1, 2, 4):
        segments = [f" Depth({p})" for p in POINTS[:n_calls]] + [" [0.2, 0.3, 0.6, 0.7]"]
        set_script(model, tok, segments)
        stats = {}
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for reuse in (True, False):
                t0 = time.perf_counter()
                out = run_tool_loop(model, tok, ids, images, resolve, reuse_cache=reuse)
                times[reuse].append((time.perf_counter() - t0) * 1000.0)
                if out.stats.rounds != n_calls or "Depth(" in out.answer:
                    raise RuntimeError(f"loop did not resolve {n_calls} calls: {out}")
                stats[reuse] = out.stats
        single = stats[True].prompt_positions
        cache, reprompt = stats[True].prefill_tokens, stats[False].prefill_tokens
        t_cache, t_re = statistics.median(times[True]), statistics.median(times[False])
        print(
            f"{n_calls:>5} {single:>7} {cache:>7} {reprompt:>9} {cache / single:>13.3f} "
            f"{reprompt / single:>16.3f} {t_cache:>11.1f} {t_re:>14.1f} {t_re / t_cache:>8.2f}x"
        )
    set_script(model, tok, None)


if __name__ == "__main__":
    main()
