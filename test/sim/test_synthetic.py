"""Tests for the numpy synthetic RGB-D tabletop scene generator."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.camera_model import deproject_depth
from spatialbot_ros.sim.synthetic import (
    CAMERA_POSES,
    PALETTE,
    default_intrinsics,
    labelled_task_family,
    look_at,
    make_scene,
    match_object,
    task_family,
)


def test_look_at_is_an_optical_frame_looking_at_the_target() -> None:
    T = look_at((0.0, -0.5, 0.5), (0.0, 0.0, 0.0))
    z_axis = T.rotation[:, 2]
    expected = np.array([0.0, 0.5, -0.5]) / np.linalg.norm([0.0, 0.5, -0.5])
    np.testing.assert_allclose(z_axis, expected, atol=1e-12)
    # Image x points to world +x (right), image y points down (negative world z component).
    assert T.rotation[0, 0] > 0.99
    assert T.rotation[2, 1] < 0


def test_same_seed_same_scene_and_different_seed_differs() -> None:
    a = make_scene(7, n_objects=3, noise_mm=2.0, hole_fraction=0.05)
    b = make_scene(7, n_objects=3, noise_mm=2.0, hole_fraction=0.05)
    c = make_scene(8, n_objects=3, noise_mm=2.0, hole_fraction=0.05)
    np.testing.assert_array_equal(a.frame.depth_mm, b.frame.depth_mm)
    np.testing.assert_array_equal(a.frame.rgb, b.frame.rgb)
    assert not np.array_equal(a.frame.depth_mm, c.frame.depth_mm)


def test_clean_depth_matches_geometry() -> None:
    scene = make_scene(3, n_objects=3, camera="front")
    frame = scene.frame
    assert frame.depth_mm.dtype == np.uint16
    assert frame.rgb.shape == (480, 640, 3)
    # Table pixels deprojected into the world lie on z = 0 (quantisation: 1 mm depth).
    table = np.ones(frame.depth_mm.shape, dtype=bool)
    for obj in scene.objects:
        table &= ~obj.mask
    pts_cam = deproject_depth(frame.intrinsics, frame.depth_mm, table)
    pts_world = scene.T_world_camera.apply(pts_cam)
    on_table = np.abs(pts_world[:, 2]) < 0.01
    assert on_table.mean() > 0.6  # the rest is floor
    assert np.abs(pts_world[on_table, 2]).max() < 0.003
    # Each cylinder's visible points lie on its side wall or its top cap.
    for obj in scene.objects:
        p = scene.T_world_camera.apply(deproject_depth(frame.intrinsics, frame.depth_mm, obj.mask))
        r = np.hypot(p[:, 0] - obj.center_xy_m[0], p[:, 1] - obj.center_xy_m[1])
        on_side = np.abs(r - obj.radius_m) < 0.004
        on_top = (np.abs(p[:, 2] - obj.height_m) < 0.004) & (r < obj.radius_m + 0.004)
        assert (on_side | on_top).mean() > 0.97


def test_noise_scales_with_depth_and_holes_have_the_requested_fraction() -> None:
    clean = make_scene(5, n_objects=2)
    noisy = make_scene(5, n_objects=2, noise_mm=4.0, hole_fraction=0.1)
    both = (clean.frame.depth_mm > 0) & (noisy.frame.depth_mm > 0)
    diff = noisy.frame.depth_mm[both].astype(float) - clean.frame.depth_mm[both]
    z_m = clean.frame.depth_mm[both] / 1000.0
    # sigma = 4 mm at 1 m, proportional to depth (rounding to 1 mm adds ~0.3 mm).
    ratio = diff.std() / (4.0 * np.sqrt(np.mean(z_m**2)))
    assert 0.9 < ratio < 1.15
    holes = (noisy.frame.depth_mm == 0) & (clean.frame.depth_mm > 0)
    assert 0.08 < holes.mean() < 0.11


def test_ground_truth_masks_boxes_and_colours() -> None:
    scene = make_scene(11, n_objects=4, camera="front_low", colors=["red", "red", "blue", "cyan"])
    assert [o.color_name for o in scene.objects] == ["red", "red", "blue", "cyan"]
    for obj in scene.objects:
        assert obj.visible_fraction >= 0.35
        x1, y1, x2, y2 = obj.bbox_px
        ys, xs = np.nonzero(obj.mask)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
        assert obj.rgb == PALETTE[obj.color_name]
        assert match_object(scene, mask=obj.mask) == obj.index
        assert match_object(scene, bbox_px=obj.bbox_px) == obj.index


def test_boxes_and_named_cameras() -> None:
    small = default_intrinsics(320, 240)  # a quarter of the pixels: same scene, faster
    for cam in CAMERA_POSES:
        scene = make_scene(2, n_objects=3, camera=cam, shapes=("box",), intrinsics=small)
        assert all(o.shape == "box" for o in scene.objects)
        assert scene.camera == cam
        assert scene.frame.depth_mm.shape == (240, 320)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="camera"):
        make_scene(0, camera="ceiling")
    with pytest.raises(ValueError, match="hole_fraction"):
        make_scene(0, hole_fraction=1.5)
    with pytest.raises(ValueError, match="colour"):
        make_scene(0, n_objects=1, colors=["chartreuse"])


def test_task_family_answers_follow_the_ground_truth() -> None:
    scene = make_scene(21, n_objects=3, camera="front")
    tasks = labelled_task_family(scene)
    assert tasks
    assert task_family(scene) == [(t.text, t.target_index) for t in tasks]
    by_x = sorted(scene.objects, key=lambda o: o.center_px[0])
    for t in tasks:
        if t.relation == "leftmost":
            assert t.target_index == by_x[0].index
        if t.relation == "middle":
            assert t.target_index == by_x[1].index
        if t.relation == "nearest":
            assert t.target_index == min(scene.objects, key=lambda o: o.distance_m).index
        if t.relation == "color":
            assert scene.objects[t.target_index].color_name in t.text
