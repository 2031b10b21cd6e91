"""annotate_result draws the box, the 3D point and the grasp axes where they belong."""

from __future__ import annotations

import numpy as np

from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.replay.annotate import annotate_result, grasp_poses_camera

INTR = CameraIntrinsics(160, 120, 150.0, 150.0, 79.5, 59.5)


def _result(**extra: object) -> dict:
    result = {
        "task": "grasp the cup",
        "status": "ok",
        "error": None,
        "target": {
            "label": "cup",
            "bbox_px": [40.0, 30.0, 100.0, 90.0],
            "depth_mm": {"center": 800, "mean": 810, "median": 805, "min": 780, "max": 850},
            "xyz_camera_m": [0.0, 0.0, 0.8],
            "xyz_base_m": None,
        },
        "grasp": None,
    }
    result.update(extra)
    return result


def test_box_and_point_are_drawn_and_input_untouched() -> None:
    rgb = np.full((120, 160, 3), 90, np.uint8)
    out = annotate_result(rgb, INTR, _result())
    assert np.all(rgb == 90)
    assert tuple(out[60, 40]) == (40, 220, 60)  # left edge of the box, green
    assert out[60, 80, 0] > 200  # red cross at the projected point (centre pixel)
    assert tuple(out[110, 150]) == (90, 90, 90)  # far from everything: unchanged


def test_error_results_still_render() -> None:
    rgb = np.zeros((120, 160, 3), np.uint8)
    out = annotate_result(rgb, INTR, _result(status="error", error="no plane", target=None))
    assert out.any()  # the text


def test_grasp_pose_becomes_tcp_axes_in_camera_frame() -> None:
    grasp = {
        "refused": False,
        "tcp_offset_m": 0.15,
        "grasp": {"xyz": [0.0, 0.0, 0.5], "quat_xyzw": [0.0, 0.0, 0.0, 1.0]},
    }
    poses = grasp_poses_camera(grasp, np.eye(4))
    assert [name for name, _ in poses] == ["grasp"]
    np.testing.assert_allclose(poses[0][1][:3, 3], [0.0, 0.0, 0.65])
    assert grasp_poses_camera({"refused": True, "reason": "x"}, np.eye(4)) == []
