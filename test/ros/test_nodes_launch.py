"""launch_testing: start the nodes, feed frames and tasks, check their topics end to end.

Runs under `colcon test` (or `launch_test test/ros/test_nodes_launch.py`) where ROS 2 and this
package are installed; skipped here, where rclpy is absent.
"""

from __future__ import annotations

import json
import time
import unittest
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2 (rclpy is not installed)")
pytest.importorskip("launch_testing", reason="needs ROS 2 launch_testing")

import launch
import launch_ros.actions
import launch_testing.actions
import launch_testing.asserts
import numpy as np
import rclpy
import rclpy.executors
from geometry_msgs.msg import PoseStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline import ros_messages as rm
from spatialbot_ros.ros.conversions import rclpy_factory, reliable_qos, status_qos
from spatialbot_ros.sim.synthetic import make_scene, task_family

SCENE = make_scene(seed=3, n_objects=3)
T_BASE_WORLD = RigidTransform.from_xyz_rpy((0.45, 0.0, 0.0), (0.0, 0.0, 0.0), "base_link", "world")
T_BASE_CAMERA = T_BASE_WORLD @ SCENE.T_world_camera
OPTICAL = "camera_color_optical_frame"
TASK, TARGET_INDEX = next(t for t in task_family(SCENE) if t[0].startswith(("pick up", "grasp")))


@pytest.mark.launch_test
def generate_test_description() -> Any:
    """SpatialBot node (weight-free engine), grasp node (dry run), camera node (no device).

    The test process itself publishes the frames, the tasks and the camera pose on /tf_static.
    """
    spatialbot = launch_ros.actions.Node(
        package="spatialbot_ros",
        executable="spatialbot_node",
        name="spatialbot",
        parameters=[{"engine": "geometric", "max_task_chars": 100}],
        output="screen",
    )
    grasp = launch_ros.actions.Node(
        package="spatialbot_ros",
        executable="grasp_node",
        name="grasp",
        parameters=[
            {"motion_backend": "dry_run", "gripper_backend": "dry_run", "auto_execute": True}
        ],
        output="screen",
    )
    camera = launch_ros.actions.Node(
        package="spatialbot_ros",
        executable="camera_node",
        namespace="camera",
        name="camera",
        parameters=[
            {
                "serial_no": "000000000000",
                "reconnect_initial_s": 0.2,
                "reconnect_max_s": 0.5,
                "frame_timeout_s": 0.5,
            }
        ],
        output="screen",
    )
    return (
        launch.LaunchDescription([spatialbot, grasp, camera, launch_testing.actions.ReadyToTest()]),
        {"spatialbot": spatialbot, "grasp": grasp, "camera": camera},
    )


class TestNodes(unittest.TestCase):
    """Messages in, messages out, against the running nodes."""

    @classmethod
    def setUpClass(cls) -> None:
        # An own context: another launch test in the same pytest process may have used
        # (and shut down) the default one, which cannot be initialised twice.
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.executor = rclpy.executors.SingleThreadedExecutor(context=cls.context)
        cls.node = rclpy.create_node("spatialbot_ros_tester", context=cls.context)
        cls.executor.add_node(cls.node)
        cls.factory = rclpy_factory()
        cls.received: dict[str, list[Any]] = {}
        for topic, msg_type, qos in (
            ("/spatialbot/status", String, status_qos()),
            ("/spatialbot/result", String, reliable_qos()),
            ("/spatialbot/target_pose", PoseStamped, reliable_qos()),
            ("/grasp/status", String, status_qos()),
            ("/grasp/plan", String, reliable_qos()),
            ("/camera/camera/status", String, status_qos()),
        ):
            cls.received[topic] = []
            cls.node.create_subscription(
                msg_type, topic, lambda m, t=topic: cls.received[t].append(m), qos
            )
        sensor = qos_profile_sensor_data
        cls.pub_rgb = cls.node.create_publisher(Image, "/camera/camera/color/image_raw", sensor)
        cls.pub_depth = cls.node.create_publisher(
            Image, "/camera/camera/aligned_depth_to_color/image_raw", sensor
        )
        cls.pub_info = cls.node.create_publisher(
            CameraInfo, "/camera/camera/color/camera_info", sensor
        )
        cls.pub_task = cls.node.create_publisher(String, "/spatialbot/task", reliable_qos())
        # The camera pose, as robot_state_publisher would give it (latched /tf_static).
        from tf2_ros.static_transform_broadcaster import StaticTransformBroadcaster

        cls.tf = StaticTransformBroadcaster(cls.node)
        cls.tf.sendTransform(rm.make_transform_stamped(cls.factory, T_BASE_CAMERA, 0))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.executor.shutdown()
        cls.node.destroy_node()
        rclpy.shutdown(context=cls.context)

    def spin_until(self, predicate: Any, timeout_s: float, publish_frames: bool = False) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if publish_frames:
                self.publish_frame()
            self.executor.spin_once(timeout_sec=0.05)
            if predicate():
                return True
        return False

    def publish_frame(self) -> None:
        frame, f = SCENE.frame, self.factory
        stamp = self.node.get_clock().now().nanoseconds
        self.pub_rgb.publish(rm.make_image(f, frame.rgb, "rgb8", stamp, OPTICAL))
        self.pub_depth.publish(rm.make_image(f, frame.depth_mm, "16UC1", stamp, OPTICAL))
        self.pub_info.publish(rm.make_camera_info(f, frame.intrinsics, stamp, OPTICAL))

    def statuses(self, topic: str = "/spatialbot/status") -> list[dict[str, Any]]:
        return [json.loads(m.data) for m in self.received[topic]]

    def test_1_ready_is_reported(self) -> None:
        ok = self.spin_until(lambda: any(s["code"] == "ready" for s in self.statuses()), 30.0)
        assert ok, self.statuses()

    def test_2_task_gives_target_in_base_frame_and_a_dry_run_plan(self) -> None:
        self.spin_until(lambda: False, 1.0, publish_frames=True)
        self.pub_task.publish(String(data=TASK))
        ok = self.spin_until(lambda: self.received["/spatialbot/result"], 30.0, publish_frames=True)
        assert ok, self.statuses()
        result = json.loads(self.received["/spatialbot/result"][-1].data)
        assert result["status"] == "ok", result
        truth = T_BASE_WORLD.apply(np.asarray(SCENE.objects[TARGET_INDEX].center_world_m))
        assert np.linalg.norm(np.asarray(result["target"]["xyz_base_m"]) - truth) < 0.05
        assert self.spin_until(lambda: self.received["/spatialbot/target_pose"], 5.0)
        pose = self.received["/spatialbot/target_pose"][-1]
        assert pose.header.frame_id == "base_link"
        ok = self.spin_until(lambda: self.received["/grasp/plan"], 30.0, publish_frames=True)
        assert ok, [m.data for m in self.received["/grasp/status"]]
        plan = json.loads(self.received["/grasp/plan"][-1].data)
        assert "refused" in plan

    def test_3_overlong_task_is_rejected_with_a_status(self) -> None:
        self.pub_task.publish(String(data="grasp the cup " * 20))
        ok = self.spin_until(
            lambda: any(s["code"] == "task_rejected" for s in self.statuses()), 10.0
        )
        assert ok, self.statuses()

    def test_4_camera_without_device_reports_and_keeps_retrying(self) -> None:
        def retried() -> bool:
            texts = [m.data for m in self.received["/camera/camera/status"]]
            return sum("disconnected" in t for t in texts) >= 2

        texts = [m.data for m in self.received["/camera/camera/status"]]
        assert self.spin_until(retried, 60.0), texts


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Ctrl-C (SIGINT from launch) ends every node cleanly."""

    def test_exit_codes(self, proc_info: Any) -> None:
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0])
