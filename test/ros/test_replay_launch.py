"""launch_testing: replay.launch.py on the shared Jazzy sample bag, as a new user would run it.

    ros2 launch spatialbot_ros replay.launch.py bag:=<bag> task:="grasp the second cup from the
    left" camera_xyz:=... camera_rpy:=...

must publish the target pose and a dry-run grasp plan. Needs ROS 2 and the installed package,
and ../shared/data (the sample bags); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import time
import unittest
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2 (rclpy is not installed)")
pytest.importorskip("launch_testing", reason="needs ROS 2 launch_testing")

import launch
import launch_testing.actions
import numpy as np
import rclpy
import rclpy.executors
from ament_index_python.packages import get_package_share_directory
from geometry_msgs.msg import PoseStamped
from launch.actions import IncludeLaunchDescription, TimerAction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from scipy.spatial.transform import Rotation
from std_msgs.msg import String

from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.ros.conversions import reliable_qos

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rosbag2_jazzy_sample"
# No module-level skip: under the launch_testing pytest plugin it would end the collection of
# every test module after this one. Without the data, the launch is empty and the test skips.
HAVE_DATA = (DATA / "truth.json").is_file()
SKIP_REASON = f"sample bags not found at {DATA} (only in the project's shared data)"
TRUTH = json.loads((DATA / "truth.json").read_text()) if HAVE_DATA else {}
BAG = os.environ.get("SPATIALBOT_REPLAY_BAG", str(DATA / "sample_mcap_zstd"))
# The robot base at world (0, -0.45, 0), under the camera: the cups lie 0.54 m in front of it.
T_BASE_WORLD = RigidTransform.from_xyz_rpy((0.0, 0.45, 0.0), (0, 0, 0), "base_link", "world")


def camera_link_pose() -> tuple[str, str]:
    """base_link -> camera_link ('x y z', 'r p y') putting the optical frame where it was."""
    cam = TRUTH["camera"]
    m = np.eye(4)
    m[:3, :3] = np.asarray(cam["R_world_from_optical"])
    m[:3, 3] = cam["position_world_m"]
    # Orthonormalise the rounded rotation before wrapping it.
    u, _, vt = np.linalg.svd(m[:3, :3])
    m[:3, :3] = u @ vt
    T_world_optical = RigidTransform(m, "world", "camera_color_optical_frame")
    # URDF nominal extrinsics: camera_link -> color frame (0, 0.015, 0) -> optical rpy.
    T_link_optical = RigidTransform.from_xyz_rpy(
        (0.0, 0.015, 0.0),
        (-np.pi / 2, 0.0, -np.pi / 2),
        "camera_link",
        "camera_color_optical_frame",
    )
    T_base_link = T_BASE_WORLD @ T_world_optical @ T_link_optical.inverse()
    rpy = Rotation.from_matrix(T_base_link.rotation).as_euler("xyz")
    xyz = T_base_link.translation_m
    return " ".join(f"{v:.6f}" for v in xyz), " ".join(f"{v:.6f}" for v in rpy)


@pytest.mark.launch_test
def generate_test_description() -> Any:
    """The replay launch file with the sample bag and its task."""
    if not HAVE_DATA:
        # A launch with nothing to run ends at once, and launch_testing then fails the test
        # ("Processes under test stopped before tests completed") before setUpClass can skip
        # it. The timer keeps the launch up until the skipped tests end (it is cancelled then).
        idle = TimerAction(period=120.0, actions=[])
        return launch.LaunchDescription([idle, launch_testing.actions.ReadyToTest()]), {}
    xyz, rpy = camera_link_pose()
    replay = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            os.path.join(
                get_package_share_directory("spatialbot_ros"), "launch", "replay.launch.py"
            )
        ),
        launch_arguments={
            "bag": BAG,
            "task": TRUTH["task"],
            "camera_xyz": xyz,
            "camera_rpy": rpy,
            "dry_run": "true",
            "max_frame_age_s": "1000.0",
        }.items(),
    )
    return launch.LaunchDescription([replay, launch_testing.actions.ReadyToTest()]), {}


class TestReplay(unittest.TestCase):
    """The task's target and a dry-run plan come out of the replay."""

    @classmethod
    def setUpClass(cls) -> None:
        if not HAVE_DATA:
            raise unittest.SkipTest(SKIP_REASON)
        # An own context: another launch test in the same pytest process may have used
        # (and shut down) the default one, which cannot be initialised twice.
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.executor = rclpy.executors.SingleThreadedExecutor(context=cls.context)
        cls.node = rclpy.create_node("replay_tester", context=cls.context)
        cls.executor.add_node(cls.node)
        cls.got: dict[str, list[Any]] = {"result": [], "pose": [], "plan": []}
        qos = reliable_qos()
        cls.node.create_subscription(String, "/spatialbot/result", cls.got["result"].append, qos)
        cls.node.create_subscription(
            PoseStamped, "/spatialbot/target_pose", cls.got["pose"].append, qos
        )
        cls.node.create_subscription(String, "/grasp/plan", cls.got["plan"].append, qos)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.executor.shutdown()
        cls.node.destroy_node()
        rclpy.shutdown(context=cls.context)

    def test_target_pose_and_dry_run_plan(self) -> None:
        deadline = time.monotonic() + 90.0
        while time.monotonic() < deadline and not (self.got["result"] and self.got["plan"]):
            self.executor.spin_once(timeout_sec=0.1)
        assert self.got["result"], "no /spatialbot/result within 90 s"
        result = json.loads(self.got["result"][-1].data)
        assert result["status"] == "ok", result
        cup = TRUTH["cups"][TRUTH["target_index"]]
        truth = T_BASE_WORLD.apply([cup["x_m"], cup["y_m"], cup["height_m"] / 2])
        error_m = np.linalg.norm(np.asarray(result["target"]["xyz_base_m"]) - truth)
        assert error_m < 0.04, (result["target"], truth)
        assert self.got["pose"]
        assert self.got["pose"][-1].header.frame_id == "base_link"
        assert self.got["plan"], "no /grasp/plan"
        assert "refused" in json.loads(self.got["plan"][-1].data)
