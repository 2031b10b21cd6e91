"""Approximate-time pairing of RGB, depth and camera_info."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.pipeline.sync import ApproximateTimeSync, pair_streams

MS = 1_000_000


def test_exact_stamps_pair_in_order():
    sync = ApproximateTimeSync(slop_ns=5 * MS)
    assert sync.add("rgb", 0, "r0") is None
    assert sync.add("depth", 0, "d0") is None
    assert sync.add("info", 0, "i0") == ("r0", "d0", "i0")
    assert sync.add("info", 33 * MS, "i1") is None


def test_within_slop_pairs_and_outside_does_not():
    sync = ApproximateTimeSync(slop_ns=10 * MS, streams=("rgb", "depth"))
    sync.add("rgb", 100 * MS, "r")
    assert sync.add("depth", 111 * MS, "d_far") is None
    assert sync.add("depth", 105 * MS, "d_near") == ("r", "d_near")


def test_picks_the_closest_candidate_and_drops_older():
    sync = ApproximateTimeSync(slop_ns=20 * MS, streams=("rgb", "depth"))
    for i, t in enumerate((0, 33, 66)):
        sync.add("depth", t * MS, f"d{i}")
    assert sync.add("rgb", 60 * MS, "r") == ("r", "d2")
    # d0 and d1 were older than the match: they are gone, so nothing pairs with a late rgb.
    assert sync.add("rgb", 5 * MS, "late") is None


def test_queue_bound_counts_drops():
    sync = ApproximateTimeSync(slop_ns=0, streams=("rgb", "depth"), queue_size=2)
    for t in range(5):
        sync.add("rgb", t, t)
    assert sync.dropped == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="slop_ns"):
        ApproximateTimeSync(-1)
    with pytest.raises(ValueError, match="distinct"):
        ApproximateTimeSync(1, streams=("a", "a"))
    with pytest.raises(KeyError, match="expected a stream"):
        ApproximateTimeSync(1).add("nope", 0, None)


def test_pair_streams_with_jitter_matches_every_frame():
    rng = np.random.default_rng(3)
    messages = []
    for k in range(50):
        base = k * 33 * MS
        for stream in ("rgb", "depth", "info", "other"):
            messages.append((stream, base + int(rng.integers(-2 * MS, 2 * MS)), (stream, k)))
    messages.sort(key=lambda m: m[1])
    pairs = list(pair_streams(messages, slop_ns=5 * MS))
    assert len(pairs) == 50
    assert all(r[1] == d[1] == i[1] for r, d, i in pairs)
