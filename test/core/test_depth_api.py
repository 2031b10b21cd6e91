"""Depth API: 0/NaN are no data, neighbourhood fallback says so, box statistics on known arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spatialbot_ros.core.depth_api import (
    DepthStats,
    PointDepth,
    box_depth_stats,
    clip_box_px,
    depth_at_norm,
    depth_at_pixel,
    norm_to_pixel,
    valid_depth_mask,
)
from spatialbot_ros.core.errors import InvalidImageError, NoDepthError, PointOutsideImageError


def test_valid_mask_treats_zero_nan_inf_negative_as_no_data() -> None:
    depth = np.array([[0.0, np.nan, np.inf, -np.inf, -3.0, 0.001, 800.0]], dtype=np.float32)
    assert valid_depth_mask(depth).tolist() == [[False] * 5 + [True, True]]
    ints = np.array([[0, 1, 65535]], dtype=np.uint16)
    assert valid_depth_mask(ints).tolist() == [[False, True, True]]
    signed = np.array([[-1, 0, 2]], dtype=np.int32)
    assert valid_depth_mask(signed).tolist() == [[False, False, True]]


# --- points ---------------------------------------------------------------------------------


def test_pixel_with_data_answers_itself() -> None:
    depth = np.zeros((5, 5), dtype=np.uint16)
    depth[2, 3] = 875
    assert depth_at_pixel(depth, 3, 2) == PointDepth(875.0, 3, 2, "pixel", 0)


def test_zero_pixel_answers_from_nearest_ring_and_says_so() -> None:
    depth = np.zeros((9, 9), dtype=np.uint16)
    depth[4, 5] = 600  # ring 1
    depth[3, 3] = 700  # ring 1
    depth[4, 7] = 100  # ring 3: must not count
    got = depth_at_pixel(depth, 4, 4)
    assert got.source == "neighbourhood"
    assert got.radius_px == 1
    assert (got.u, got.v) == (4, 4)
    assert got.depth_mm == 650.0  # median of the ring's valid values


def test_nan_pixel_in_float_depth_uses_second_ring() -> None:
    depth = np.full((9, 9), np.nan, dtype=np.float32)
    depth[2, 4] = 1000.0  # two rows up: ring 2
    depth[6, 6] = 3000.0  # ring 2
    depth[4, 6] = 2000.0  # ring 2
    got = depth_at_pixel(depth, 4, 4)
    assert (got.source, got.radius_px, got.depth_mm) == ("neighbourhood", 2, 2000.0)


def test_neighbourhood_at_the_image_corner_is_clipped() -> None:
    depth = np.zeros((4, 4), dtype=np.uint16)
    depth[1, 1] = 42
    got = depth_at_pixel(depth, 0, 0)
    assert (got.depth_mm, got.radius_px) == (42.0, 1)


def test_no_data_anywhere_near_raises() -> None:
    depth = np.zeros((20, 20), dtype=np.uint16)
    depth[0, 0] = 500  # 10 px away from (10, 10)
    with pytest.raises(NoDepthError, match=r"no depth at pixel \(10, 10\) nor within 5 px"):
        depth_at_pixel(depth, 10, 10)
    with pytest.raises(NoDepthError, match="within 0 px"):
        depth_at_pixel(depth, 10, 10, search_radius_px=0)
    assert depth_at_pixel(depth, 10, 10, search_radius_px=10).depth_mm == 500.0


@pytest.mark.parametrize(("u", "v"), [(-1, 0), (0, -1), (4, 0), (0, 3)])
def test_pixel_outside_image(u: int, v: int) -> None:
    with pytest.raises(PointOutsideImageError, match="outside the 4x3 image"):
        depth_at_pixel(np.ones((3, 4), dtype=np.uint16), u, v)


def test_normalised_points_map_to_containing_pixel() -> None:
    assert norm_to_pixel(0.0, 0.0, 640, 480) == (0, 0)
    assert norm_to_pixel(0.5, 0.5, 640, 480) == (320, 240)
    assert norm_to_pixel(1.0, 1.0, 640, 480) == (639, 479)
    assert norm_to_pixel(0.51, 0.40, 640, 480) == (326, 192)


@pytest.mark.parametrize(("x", "y"), [(-0.01, 0.5), (0.5, 1.01), (math.nan, 0.5), (0.5, math.inf)])
def test_normalised_point_outside_unit_square(x: float, y: float) -> None:
    with pytest.raises(PointOutsideImageError, match=r"in \[0, 1\]"):
        norm_to_pixel(x, y, 10, 10)


def test_depth_at_norm_is_the_depth_api_call() -> None:
    depth = np.arange(640 * 480, dtype=np.uint32).reshape(480, 640) % 60000 + 1
    got = depth_at_norm(depth.astype(np.uint16), 0.51, 0.40)
    assert (got.u, got.v, got.source) == (326, 192, "pixel")
    assert got.depth_mm == float(depth[192, 326])
    assert got.as_dict()["depth_mm"] == got.depth_mm


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3,), dtype=np.uint16),
        np.zeros((3, 3, 3), dtype=np.uint16),
        np.zeros((0, 3), dtype=np.uint16),
        np.zeros((3, 3), dtype=np.bool_),
        [[1, 2], [3, 4]],
    ],
    ids=["1d", "3d", "empty", "bool", "list"],
)
def test_depth_api_rejects_bad_depth(bad: object) -> None:
    with pytest.raises(InvalidImageError, match="depth_mm"):
        depth_at_norm(bad, 0.5, 0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidImageError, match="depth_mm"):
        box_depth_stats(bad, (0, 0, 2, 2))  # type: ignore[arg-type]


# --- boxes ----------------------------------------------------------------------------------


def test_clip_box_clips_orders_and_rounds_outward() -> None:
    assert clip_box_px((-5.0, -5.0, 3.2, 2.5), 10, 8) == (0, 0, 4, 3)
    assert clip_box_px((9.5, 7.5, 2.0, 1.0), 10, 8) == (2, 1, 10, 8)  # corners swapped
    assert clip_box_px((0, 0, 100, 100), 10, 8) == (0, 0, 10, 8)


@pytest.mark.parametrize(
    "box",
    [(20.0, 20.0, 30.0, 30.0), (-10.0, 0.0, -1.0, 5.0), (3.0, 3.0, 3.0, 6.0)],
    ids=["beyond", "left-of", "zero-width"],
)
def test_box_without_area_in_image(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(PointOutsideImageError, match="no area inside the 10x8 image"):
        clip_box_px(box, 10, 8)


def test_box_with_non_finite_coordinates() -> None:
    with pytest.raises(PointOutsideImageError, match="non-finite"):
        clip_box_px((0.0, math.nan, 4.0, 4.0), 10, 8)


def test_box_stats_on_a_constructed_array() -> None:
    depth = np.zeros((10, 10), dtype=np.uint16)
    depth[2:5, 3:7] = np.array(
        [[100, 200, 0, 400], [500, 600, 700, 0], [0, 1000, 1100, 1200]], dtype=np.uint16
    )
    stats = box_depth_stats(depth, (3, 2, 7, 5))
    values = [100, 200, 400, 500, 600, 700, 1000, 1100, 1200]
    assert stats == DepthStats(
        center=600.0,  # pixel ((3+7-1)//2, (2+5-1)//2) = (4, 3)
        mean=sum(values) / 9,
        median=600.0,
        min=100.0,
        max=1200.0,
        valid_fraction=9 / 12,
    )
    assert set(stats.as_dict()) == {"center", "mean", "median", "min", "max", "valid_fraction"}


def test_box_centre_without_data_falls_back_to_neighbourhood_then_median() -> None:
    depth = np.zeros((21, 21), dtype=np.uint16)
    depth[10, 11] = 900  # next to the centre (10, 10)
    depth[0, 0] = 100
    depth[20, 20] = 300
    stats = box_depth_stats(depth, (0, 0, 21, 21))
    assert stats.center == 900.0
    depth[10, 11] = 0
    stats = box_depth_stats(depth, (0, 0, 21, 21), search_radius_px=3)
    assert stats.center == stats.median == 200.0


def test_box_centre_fallback_never_reads_outside_the_box() -> None:
    depth = np.full((20, 20), 300, dtype=np.uint16)  # the table around the object
    depth[5:15, 5:15] = 0
    depth[14, 14] = (
        800  # the object's only valid pixel, 5 px from the centre (9, 9), like the table
    )
    stats = box_depth_stats(depth, (5, 5, 15, 15))
    assert stats.center == 800.0  # not the 300 mm table just outside the box


def test_box_stats_ignore_nan_and_clip_to_the_image() -> None:
    depth = np.full((6, 6), np.nan, dtype=np.float32)
    depth[4:, 4:] = [[1.5, 2.5], [np.inf, 0.0]]
    stats = box_depth_stats(depth, (3.4, 3.6, 50.0, 50.0))  # -> (3, 3, 6, 6)
    assert (stats.min, stats.max, stats.mean) == (1.5, 2.5, 2.0)
    assert stats.valid_fraction == pytest.approx(2 / 9)


def test_box_stats_no_uint16_overflow() -> None:
    depth = np.full((100, 100), 65535, dtype=np.uint16)
    stats = box_depth_stats(depth, (0, 0, 100, 100))
    assert (stats.mean, stats.median, stats.valid_fraction) == (65535.0, 65535.0, 1.0)


def test_box_with_no_valid_depth_raises() -> None:
    depth = np.zeros((10, 10), dtype=np.uint16)
    depth[0, 0] = 10
    with pytest.raises(NoDepthError, match=r"no valid depth in box \(2, 2, 8, 8\)"):
        box_depth_stats(depth, (2, 2, 8, 8))


def test_box_stats_match_numpy_on_random_depth() -> None:
    rng = np.random.default_rng(11)
    depth = rng.integers(0, 4000, size=(120, 160), dtype=np.uint16)
    depth[rng.random(depth.shape) < 0.3] = 0
    stats = box_depth_stats(depth, (10, 20, 110, 120))
    patch = depth[20:120, 10:110]
    valid = patch[patch > 0].astype(np.float64)
    assert stats.mean == pytest.approx(valid.mean(), rel=1e-12)
    assert stats.median == float(np.median(valid))
    assert (stats.min, stats.max) == (valid.min(), valid.max())
    assert stats.valid_fraction == valid.size / patch.size


@settings(max_examples=120, deadline=None)
@given(
    depth=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 12), st.integers(1, 12)),
        elements=st.one_of(st.just(0.0), st.just(float("nan")), st.floats(1.0, 5000.0, width=32)),
    ),
    box=st.tuples(*(st.floats(-5.0, 20.0) for _ in range(4))),
)
def test_property_box_stats_match_a_per_pixel_loop(
    depth: np.ndarray, box: tuple[float, float, float, float]
) -> None:
    h, w = depth.shape
    try:
        x1, y1, x2, y2 = clip_box_px(box, w, h)
    except PointOutsideImageError:
        with pytest.raises(PointOutsideImageError):
            box_depth_stats(depth, box)
        return
    values = [
        float(depth[v, u])
        for v in range(y1, y2)
        for u in range(x1, x2)
        if math.isfinite(float(depth[v, u])) and depth[v, u] > 0
    ]
    if not values:
        with pytest.raises(NoDepthError):
            box_depth_stats(depth, box)
        return
    stats = box_depth_stats(depth, box)
    assert stats.min == min(values)
    assert stats.max == max(values)
    assert stats.median == pytest.approx(float(np.median(values)))
    assert stats.mean == pytest.approx(sum(values) / len(values))
    assert stats.valid_fraction == len(values) / ((x2 - x1) * (y2 - y1))
    assert stats.min <= stats.center <= stats.max  # the centre comes from inside the box
