"""The rclpy nodes' wiring, exercised here with a stand-in rclpy (test/ros/fake_ros.py).

The real end-to-end check is test_nodes_launch.py under ROS 2; this one runs everywhere and
catches what only the node shells do: parameter declarations, topic names, callbacks into the
pipeline classes, worker threads, publishing, services and shutdown.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import fake_ros
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from rosmsg_fixtures import camera_info, image

from spatialbot_ros.pipeline.ros_types import default_message
from spatialbot_ros.sim.synthetic import make_scene, task_family

NS = 1_000_000_000
OPTICAL = "camera_color_optical_frame"


@pytest.fixture
def ros(monkeypatch):
    # spin_until_shutdown ignores further Ctrl-C while cleaning up: give pytest its own back.
    previous = signal.getsignal(signal.SIGINT)
    # Node modules already imported (e.g. by the launch tests, under a real rclpy) step aside
    # for this test; monkeypatch puts them back afterwards.
    import spatialbot_ros.ros as ros_package

    for name in [n for n in sys.modules if n.startswith("spatialbot_ros.ros.")]:
        monkeypatch.delitem(sys.modules, name)
        monkeypatch.delattr(ros_package, name.rsplit(".", 1)[1], raising=False)
    fake_ros.install(monkeypatch)
    fake_ros.FakeNode.overrides = {}
    fake_ros.FakeNode.now_ns = 10 * NS
    yield fake_ros
    signal.signal(signal.SIGINT, previous)
    # Node modules imported now are bound to the fakes: forget them, and the package's
    # attributes too (`from spatialbot_ros.ros import x` would find those first).
    for name in list(sys.modules):
        if name.startswith("spatialbot_ros.ros."):
            del sys.modules[name]
            if hasattr(ros_package, name.rsplit(".", 1)[1]):
                delattr(ros_package, name.rsplit(".", 1)[1])


def wait_for(predicate: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def sent(node: Any, topic: str) -> list[Any]:
    pub = node.publishers.get(topic)
    return pub.sent if pub is not None else []


def scene_msgs(stamp_ns: int) -> tuple[Any, Any, Any, str]:
    scene = make_scene(seed=3, n_objects=3)
    task = next(t for t, _ in task_family(scene) if t.startswith(("pick up", "grasp")))
    f = scene.frame
    return (
        image(f.rgb, "rgb8", stamp_ns, OPTICAL),
        image(f.depth_mm, "16UC1", stamp_ns, OPTICAL),
        camera_info(f.intrinsics, stamp_ns, OPTICAL),
        task,
    )


def test_spatialbot_node_end_to_end(ros):
    from spatialbot_ros.ros.spatialbot_node import SpatialBotNode

    node = SpatialBotNode()
    try:
        assert set(node.subscriptions) == {"/spatialbot/task"}
        (sync,) = ros._Synchronizer.instances
        assert [s.topic for s in sync.subs] == [
            "/camera/camera/color/image_raw",
            "/camera/camera/aligned_depth_to_color/image_raw",
            "/camera/camera/color/camera_info",
        ]
        assert sync.slop == 0.05
        assert wait_for(lambda: any('"ready"' in m.data for m in sent(node, "/spatialbot/status")))
        rgb, depth, info, task = scene_msgs(10 * NS)
        sync.callbacks[0](rgb, depth, info)
        node.subscriptions["/spatialbot/task"](default_message("std_msgs/msg/String", data=task))
        assert wait_for(lambda: sent(node, "/spatialbot/result"))
        result = json.loads(sent(node, "/spatialbot/result")[0].data)
        assert result["status"] == "ok", result
        # The fake tf2 buffer knows no transforms: camera-frame outputs only, and a status.
        assert not sent(node, "/spatialbot/target_pose")
        (pose,) = sent(node, "/spatialbot/target_pose_camera")
        assert pose.header.frame_id == OPTICAL
        assert sent(node, "/spatialbot/detections_2d")[0].detections
        assert sent(node, "/spatialbot/debug_image")[0].encoding == "rgb8"
        codes = [json.loads(m.data)["code"] for m in sent(node, "/spatialbot/status")]
        assert "no_tf" in codes
        assert any("[task_done]" in line for line in node.log_lines)
    finally:
        node.close()
    assert not node._worker.is_alive()


def test_spatialbot_node_engine_options_and_bad_engine(ros):
    from spatialbot_ros.ros.spatialbot_node import SpatialBotNode

    ros.FakeNode.overrides = {"engine": "nonexistent", "plan_grasp": False}
    node = SpatialBotNode()
    try:
        assert wait_for(
            lambda: any('"load_failed"' in m.data for m in sent(node, "/spatialbot/status"))
        )
    finally:
        node.close()


def test_grasp_node_plans_executes_and_cancels(ros):
    from spatialbot_ros.ros.grasp_node import GraspNode

    node = GraspNode()
    try:
        status = sent(node, "/grasp/status")
        assert json.loads(status[0].data)["step"] == "ready"
        result = {
            "task": "grasp the cup",
            "status": "ok",
            "kind": "grasp",
            "stamp_ns": 10 * NS,
            "target": {"bbox_px": [1, 2, 3, 4], "xyz_base_m": [0.45, 0.1, 0.05]},
        }
        String = sys.modules["std_msgs.msg"].String
        node.subscriptions["/spatialbot/result"](String(data=json.dumps(result)))
        assert wait_for(lambda: sent(node, "/grasp/plan"))
        plan = json.loads(sent(node, "/grasp/plan")[0].data)
        assert plan["refused"] is False, plan
        assert sent(node, "/grasp/grasp_pose")[0].header.frame_id == "base_link"
        trigger = sys.modules["std_srvs.srv"].Trigger
        response = node.services["/grasp/execute"](trigger.Request(), trigger.Response())
        assert response.success
        assert wait_for(lambda: sent(node, "/grasp/result"))
        outcome = json.loads(sent(node, "/grasp/result")[0].data)
        assert outcome["outcome"] == "succeeded", outcome
        assert [s["step"] for s in outcome["steps"]][-1] == "done"
        response = node.services["/grasp/cancel"](trigger.Request(), trigger.Response())
        assert response.success
        node.subscriptions["/spatialbot/result"](String(data="not json"))
        assert wait_for(lambda: "result is not JSON" in sent(node, "/grasp/status")[-1].data)
        pose = default_message("geometry_msgs/msg/PoseStamped")
        pose.header.frame_id = "world"
        node.subscriptions["/grasp/target_pose"](pose)
        assert "must be in base_link" in sent(node, "/grasp/status")[-1].data
    finally:
        node.close()


def test_camera_node_publishes_realsense_topics_and_tf(ros):
    from test_camera_driver import FakeRS

    from spatialbot_ros.ros.camera_node import CameraNode

    node = CameraNode(rs_module=FakeRS())
    try:
        assert wait_for(lambda: len(sent(node, "aligned_depth_to_color/image_raw")) >= 2)
        color = sent(node, "color/image_raw")[0]
        depth = sent(node, "aligned_depth_to_color/image_raw")[0]
        info = sent(node, "aligned_depth_to_color/camera_info")[0]
        assert (color.encoding, depth.encoding) == ("rgb8", "16UC1")
        assert color.header.frame_id == depth.header.frame_id == OPTICAL
        assert (info.width, info.height) == (color.width, color.height)
        assert np.frombuffer(bytes(depth.data), np.uint16)[0] == 750
        children = {t.child_frame_id for t in sent(node, "/tf_static")}
        assert children == {
            "camera_depth_frame",
            "camera_depth_optical_frame",
            "camera_color_frame",
            OPTICAL,
        }
        assert "connected" in sent(node, "/camera/status")[0].data
    finally:
        node.close()
    assert not node._thread.is_alive()


def test_voice_node_topic_source_publishes_tasks(ros):
    from spatialbot_ros.pipeline.voice import register_recognizer

    class Scripted:
        name = "scripted_node_test"

        def transcribe(self, audio, sample_rate_hz):
            return "Robot, grasp the red cup."

    register_recognizer("scripted_node_test")(lambda config: Scripted())
    from spatialbot_ros.ros.voice_node import VoiceNode

    ros.FakeNode.overrides = {
        "asr_engine": "scripted_node_test",
        "source": "topic",
        "wake_word": "robot",
        "silence_s": 0.2,
    }
    node = VoiceNode()
    try:
        t = np.arange(16000) / 16000
        speech = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
        audio = np.concatenate([speech, np.zeros(8000, np.int16)])
        msg = default_message("std_msgs/msg/Int16MultiArray", data=audio)
        node.subscriptions["/voice/audio"](msg)
        assert wait_for(lambda: sent(node, "/spatialbot/task"))
        assert sent(node, "/spatialbot/task")[0].data == "grasp the red cup"
    finally:
        node.close()


def test_send_task_cli(ros, capsys):
    from spatialbot_ros.ros import task_cli

    assert task_cli.main(["send_task", "grasp", "the", "middle", "teacup"]) == 0
    assert "sent 'grasp the middle teacup' to /spatialbot/task" in capsys.readouterr().out


def test_spin_until_shutdown_is_quiet_on_ctrl_c(ros):
    from spatialbot_ros.ros import conversions

    def interrupted(node):
        raise KeyboardInterrupt

    sys.modules["rclpy"].spin = interrupted
    node = ros.FakeNode("x")
    closed = []
    conversions.spin_until_shutdown(node, on_close=lambda: closed.append(True))
    assert closed == [True]
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a second Ctrl-C cannot interrupt
    assert node.destroyed
    assert not sys.modules["rclpy"].ok()


def test_run_node_exit_status(ros, capsys):
    from spatialbot_ros.ros import conversions

    def broken() -> Any:
        raise ValueError("busy_policy must be 'queue' or 'reject', got 'drop'")

    assert conversions.run_node(broken) == 1
    assert "cannot start: busy_policy must be" in capsys.readouterr().err

    def interrupted(node):
        raise KeyboardInterrupt

    sys.modules["rclpy"].spin = interrupted
    nodes = []

    def make() -> Any:
        nodes.append(ros.FakeNode("n"))
        return nodes[-1]

    assert conversions.run_node(make, multithreaded=True) == 0
    assert nodes[0].destroyed


def test_grasp_node_with_an_unavailable_backend_does_not_start(ros, capsys):
    from spatialbot_ros.ros import grasp_node

    ros.FakeNode.overrides = {"motion_backend": "no_such_backend"}
    assert grasp_node.main([]) == 1
    assert "expected a motion backend" in capsys.readouterr().err


def test_executor_errors_after_shutdown_are_a_shutdown(ros):
    from spatialbot_ros.ros import conversions

    rclpy = sys.modules["rclpy"]

    def racing(node):
        rclpy.shutdown()  # the signal handler shut the context down...
        raise RuntimeError("failed to initialize wait set: the given context is not valid")

    rclpy.spin = racing
    node = ros.FakeNode("x")
    conversions.spin_until_shutdown(node)
    assert node.destroyed

    def failing(node):
        raise RuntimeError("a real bug")

    rclpy.init()
    rclpy.spin = failing
    with pytest.raises(RuntimeError, match="a real bug"):
        conversions.spin_until_shutdown(ros.FakeNode("y"))
