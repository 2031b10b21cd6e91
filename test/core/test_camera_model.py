"""Projection and deprojection with intrinsics, pinhole and distorted (plumb_bob, rational)."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.camera_model import (
    deproject_depth,
    deproject_pixels,
    project_points,
    undistort_pixels,
)
from spatialbot_ros.core.errors import IntrinsicsError, SizeMismatchError
from spatialbot_ros.core.intrinsics import CameraIntrinsics

PINHOLE = CameraIntrinsics(640, 480, 615.0, 612.5, 322.3, 241.7)
PLUMB_BOB = CameraIntrinsics(
    640, 480, 615.0, 612.5, 322.3, 241.7, "plumb_bob", (-0.06, 0.03, 0.0012, -0.0008, 0.0)
)
RATIONAL = CameraIntrinsics(
    640,
    480,
    600.0,
    600.0,
    319.5,
    239.5,
    "rational_polynomial",
    (0.1, -0.05, 0.0005, 0.0005, 0.002, 0.08, -0.03, 0.004),
)


FISHEYE = CameraIntrinsics(
    640, 480, 280.0, 280.0, 320.0, 240.0, "equidistant", (0.05, -0.01, 0.003, -0.0005)
)
STRONG_BARREL = CameraIntrinsics(
    640, 480, 400.0, 400.0, 320.0, 240.0, "plumb_bob", (-0.3, 0.1, 0.0, 0.0, 0.0)
)


def random_pixels(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pixels inside the image, away from the far corners where distortion models fold."""
    return np.column_stack((rng.uniform(20, 620, n), rng.uniform(20, 460, n)))


@pytest.mark.parametrize(
    "intr", [PINHOLE, PLUMB_BOB, RATIONAL], ids=["pinhole", "plumb_bob", "rational"]
)
def test_deproject_then_project_returns_the_pixels(intr: CameraIntrinsics) -> None:
    rng = np.random.default_rng(1)
    uv = random_pixels(rng, 500)
    depth_m = rng.uniform(0.2, 5.0, 500)
    xyz = deproject_pixels(intr, uv, depth_m)
    np.testing.assert_allclose(xyz[:, 2], depth_m)
    np.testing.assert_allclose(project_points(intr, xyz), uv, atol=1e-6)


@pytest.mark.parametrize("intr", [PINHOLE, PLUMB_BOB], ids=["pinhole", "plumb_bob"])
def test_project_then_deproject_returns_the_points(intr: CameraIntrinsics) -> None:
    rng = np.random.default_rng(2)
    xyz = np.column_stack(
        (rng.uniform(-0.4, 0.4, 300), rng.uniform(-0.3, 0.3, 300), rng.uniform(0.5, 3.0, 300))
    )
    uv = project_points(intr, xyz)
    np.testing.assert_allclose(deproject_pixels(intr, uv, xyz[:, 2]), xyz, atol=1e-5)


def test_pinhole_formula() -> None:
    xyz = deproject_pixels(PINHOLE, [[322.3 + 61.5, 241.7 - 122.5]], [2.0])
    np.testing.assert_allclose(xyz, [[0.2, -0.4, 2.0]])
    np.testing.assert_allclose(project_points(PINHOLE, [0.2, -0.4, 2.0]), [[383.8, 119.2]])


def test_distortion_moves_pixels_off_the_pinhole_position() -> None:
    xyz = np.array([[0.5, 0.4, 1.0]])
    shift = np.abs(project_points(PLUMB_BOB, xyz) - project_points(PINHOLE, xyz))
    assert float(shift.max()) > 1.0  # a no-op distortion path would give 0


def test_zero_distortion_is_pinhole() -> None:
    zero = CameraIntrinsics(640, 480, 615.0, 612.5, 322.3, 241.7, "plumb_bob", (0.0,) * 5)
    uv = np.array([[10.0, 20.0], [600.0, 400.0]])
    np.testing.assert_allclose(undistort_pixels(zero, uv), undistort_pixels(PINHOLE, uv))


@pytest.mark.parametrize("intr", [PINHOLE, PLUMB_BOB], ids=["pinhole", "plumb_bob"])
def test_points_behind_the_camera_project_to_nan(intr: CameraIntrinsics) -> None:
    uv = project_points(intr, [[0.1, 0.1, -1.0], [0.0, 0.0, 0.0], [0.1, 0.1, 1.0]])
    assert np.isnan(uv[:2]).all()
    assert np.isfinite(uv[2]).all()


def test_deproject_pixels_count_mismatch() -> None:
    with pytest.raises(SizeMismatchError, match="3 pixels but 2 depths"):
        deproject_pixels(PINHOLE, np.zeros((3, 2)), [1.0, 2.0])


def test_deproject_depth_uses_valid_pixels_only() -> None:
    intr = CameraIntrinsics(4, 3, 2.0, 2.0, 1.5, 1.0)
    depth = np.zeros((3, 4), dtype=np.uint16)
    depth[0, 0] = 1000
    depth[2, 3] = 2000
    points = deproject_depth(intr, depth)
    np.testing.assert_allclose(points, [[-0.75, -0.5, 1.0], [1.5, 1.0, 2.0]])
    mask = np.zeros((3, 4), dtype=bool)
    mask[2, 3] = True
    np.testing.assert_allclose(deproject_depth(intr, depth, mask), [[1.5, 1.0, 2.0]])


def test_deproject_depth_size_mismatches() -> None:
    with pytest.raises(SizeMismatchError, match="depth is 5x3 but intrinsics are 640x480"):
        deproject_depth(PINHOLE, np.ones((3, 5), dtype=np.uint16))
    intr = CameraIntrinsics(4, 3, 2.0, 2.0, 1.5, 1.0)
    with pytest.raises(SizeMismatchError, match="mask shape"):
        deproject_depth(intr, np.ones((3, 4), dtype=np.uint16), np.ones((4, 3), dtype=bool))


def test_image_corners_of_a_strongly_distorted_camera_round_trip() -> None:
    # OpenCV's default 5 undistortion iterations leave ~2e-3 px here; the module iterates on.
    corners = np.array([[0.0, 0.0], [639.0, 0.0], [0.0, 479.0], [639.0, 479.0]])
    xyz = deproject_pixels(STRONG_BARREL, corners, np.ones(4))
    np.testing.assert_allclose(project_points(STRONG_BARREL, xyz), corners, atol=1e-6)


def test_short_coefficient_lists_are_zero_padded() -> None:
    four = CameraIntrinsics(
        640, 480, 615.0, 612.5, 322.3, 241.7, "plumb_bob", (-0.06, 0.03, 0.0, 0.0)
    )
    five = CameraIntrinsics(
        640, 480, 615.0, 612.5, 322.3, 241.7, "plumb_bob", (-0.06, 0.03, 0.0, 0.0, 0.0)
    )
    xyz = np.array([[0.3, -0.2, 1.0]])
    np.testing.assert_allclose(project_points(four, xyz), project_points(five, xyz))


@pytest.mark.parametrize(
    ("model", "coeffs", "match"),
    [
        ("kannala_brandt", (0.1, 0.0, 0.0, 0.0), "'kannala_brandt' with non-zero coefficients"),
        ("plumb_bob", (0.1,) * 15, "at most 14"),
        ("equidistant", (0.1, 0.0, 0.0, 0.0, 0.2), "4 distortion coefficients"),
    ],
    ids=["unknown-model", "too-many", "fisheye-fifth"],
)
def test_unsupported_distortion_is_refused_not_ignored(
    model: str, coeffs: tuple[float, ...], match: str
) -> None:
    intr = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0, model, coeffs)
    with pytest.raises(IntrinsicsError, match=match):
        project_points(intr, [[0.1, 0.1, 1.0]])
    with pytest.raises(IntrinsicsError, match=match):
        deproject_pixels(intr, [[100.0, 100.0]], [1.0])


def test_unknown_model_without_distortion_is_pinhole() -> None:
    intr = CameraIntrinsics(640, 480, 615.0, 612.5, 322.3, 241.7, "whatever", (0.0,) * 5)
    np.testing.assert_allclose(
        project_points(intr, [[0.2, -0.4, 2.0]]), project_points(PINHOLE, [[0.2, -0.4, 2.0]])
    )


def test_no_pixels_no_points() -> None:
    assert deproject_pixels(PLUMB_BOB, np.zeros((0, 2)), np.zeros(0)).shape == (0, 3)
    assert project_points(PLUMB_BOB, np.zeros((0, 3))).shape == (0, 2)
