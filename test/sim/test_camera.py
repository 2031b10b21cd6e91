"""Virtual RealSense: depth in mm from the z-buffer, intrinsics that match the render, noise."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.camera_model import project_points
from spatialbot_ros.sim.camera import (
    DepthNoise,
    VirtualRealSense,
    intrinsics_of,
    zbuffer_to_depth_m,
)
from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
from spatialbot_ros.sim.scene import SceneObject, SceneSpec, look_at_camera
from spatialbot_ros.sim.world import build_world


def test_zbuffer_conversion_hits_near_and_far_and_is_monotonic() -> None:
    d = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    z = zbuffer_to_depth_m(d, 0.01, 40.0)
    assert z[0] == pytest.approx(0.01)
    assert z[-1] == pytest.approx(40.0)
    assert np.all(np.diff(z) > 0)


def test_fy_matches_the_field_of_view() -> None:
    cam = look_at_camera((1, 0, 1), (0, 0, 0), 640, 480, fovy_deg=42.5)
    intr = intrinsics_of(cam)
    assert intr.fy == pytest.approx(240.0 / np.tan(np.radians(21.25)))
    assert (intr.cx, intr.cy) == (319.5, 239.5)


@pytest.fixture(scope="module")
def straight_down() -> tuple[VirtualRealSense, SceneSpec]:
    """A camera 0.8 m above the table looking straight down at one box."""
    cam = look_at_camera((0.5, 0.0, 0.8), (0.5, 0.0, 0.0), 320, 240)
    box = SceneObject("box_0", "box", "red", 0.5, 0.1, 0.03, 0.05)
    scene = SceneSpec(0, (box,), cam)
    world = build_world(scene)
    world.set_arm_q(HIDDEN_ARM_Q)
    return VirtualRealSense(world), scene


def test_table_depth_is_planar_z_in_mm(straight_down: tuple[VirtualRealSense, SceneSpec]) -> None:
    camera, _ = straight_down
    depth = camera.render_depth_mm()
    # The table top (z = 0) is 800 mm away along the optical axis everywhere it is seen,
    # also in the corners (planar z, not distance along the ray).
    assert depth[120, 160] == 800
    assert abs(int(depth[5, 5]) - 800) <= 1


def test_box_top_lands_where_intrinsics_project_it(
    straight_down: tuple[VirtualRealSense, SceneSpec],
) -> None:
    camera, scene = straight_down
    frame = camera.capture()
    box = scene.objects[0]
    top = np.array([[box.x_m, box.y_m, box.height_m]])
    p = scene.camera.T_base_camera.inverse().apply(top)
    u, v = project_points(frame.intrinsics, p)[0]
    assert frame.depth_mm[round(v), round(u)] == 750  # 800 - 50 mm box
    r, g, b = (int(c) for c in frame.rgb[round(v), round(u)])
    assert r > g + 60, (r, g, b)  # red
    assert r > b + 60, (r, g, b)


def test_noise_adds_holes_and_error_growing_with_depth(
    straight_down: tuple[VirtualRealSense, SceneSpec],
) -> None:
    camera, _ = straight_down
    clean = camera.render_depth_mm().astype(float)
    noisy = DepthNoise().apply(clean, np.random.default_rng(0))
    valid = noisy > 0
    assert 0.001 < 1 - valid.mean() < 0.2
    err = (noisy - clean)[valid & (clean == 800)]
    assert 0.5 < err.std() < 3.0  # ~2 mm x 0.8^2
