"""SpatialBot node behaviour, message in -> message out, driven with rosbags messages."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosmsg_fixtures import INTR, NS, camera_info, frame_msgs, image

from spatialbot_ros.core.camera_model import deproject_pixels
from spatialbot_ros.core.depth_api import box_depth_stats
from spatialbot_ros.core.errors import NoDepthError, TransformError
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.ros_messages import stamp_to_ns
from spatialbot_ros.pipeline.ros_types import rosbags_factory
from spatialbot_ros.pipeline.spatialbot_node_logic import (
    NodeStatus,
    SpatialBotNodeConfig,
    SpatialBotNodeLogic,
)
from spatialbot_ros.vlm.base import EngineResult, GroundingTarget, register_engine

BOX = (26.0, 18.0, 38.0, 30.0)
T_BASE_CAM = RigidTransform.from_xyz_rpy(
    (0.4, 0.0, 0.6), (math.pi, 0.0, 0.0), "base_link", "camera_color_optical_frame"
)


class BoxEngine:
    """Test engine: always grounds the fixed box; depth errors come back as status=error."""

    name = "test_box"

    def __init__(self, xyz_override: tuple[float, float, float] | None = None) -> None:
        self.xyz_override = xyz_override
        self.calls = 0

    def run(self, frame, task):
        self.calls += 1
        try:
            stats = box_depth_stats(frame.depth_mm, BOX)
        except NoDepthError as exc:
            return EngineResult(task, self.name, "error", "grasp", error=str(exc))
        u, v = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
        xyz = self.xyz_override or tuple(
            deproject_pixels(frame.intrinsics, [[u, v]], [stats.median * 1e-3])[0]
        )
        norm = (
            BOX[0] / frame.width,
            BOX[1] / frame.height,
            BOX[2] / frame.width,
            BOX[3] / frame.height,
        )
        target = GroundingTarget("teacup", norm, BOX, stats, xyz)
        return EngineResult(task, self.name, "ok", "grasp", target=target)


class RaisingEngine:
    """An engine that breaks the never-raise contract."""

    name = "test_raises"

    def run(self, frame, task):
        raise RuntimeError("CUDA out of memory")


register_engine("test_box")(lambda config: BoxEngine())
register_engine("test_nan")(lambda config: BoxEngine(xyz_override=(math.nan, 0.0, 0.5)))
register_engine("test_raises")(lambda config: RaisingEngine())


def _broken_factory(config):
    raise FileNotFoundError(f"no model at {config.get('model_path')}")


register_engine("test_broken")(_broken_factory)


class Clock:
    def __init__(self, now_ns: int = 10 * NS) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def make_logic(tf: Any = "ok", clock: Clock | None = None, **overrides: Any):
    config = SpatialBotNodeConfig.from_mapping({"engine": "test_box", **overrides})
    statuses: list[NodeStatus] = []

    def lookup(target, source, stamp_ns):
        if tf == "ok":
            return T_BASE_CAM
        if tf == "wrong":
            return RigidTransform.identity("world")
        raise TransformError(
            f'"{target}" passed to lookupTransform argument target_frame does not exist'
        )

    logic = SpatialBotNodeLogic(
        config, rosbags_factory(), clock or Clock(), lookup, on_status=statuses.append
    )
    return logic, statuses


def codes(statuses):
    return [s.code for s in statuses]


def ready_logic(**kw):
    logic, statuses = make_logic(**kw)
    assert logic.load_engine()
    assert logic.on_frames(*frame_msgs(10 * NS))
    return logic, statuses


def run_one(logic):
    out = logic.process_next(timeout_s=1.0)
    assert out is not None
    return out


def test_constructor_loads_nothing_and_is_fast():
    t0 = time.perf_counter()
    logic, statuses = make_logic()
    assert time.perf_counter() - t0 < 0.5
    assert not logic.ready
    assert statuses == []


def test_happy_path_publishes_every_output():
    logic, statuses = ready_logic()
    assert codes(statuses) == ["loading", "ready"]
    assert logic.submit_task("grasp the middle teacup").code == "task_accepted"
    out = run_one(logic)
    result = json.loads(out.result_msg.data)
    assert result["status"] == "ok", result
    assert result["stamp_ns"] == 10 * NS
    xyz_cam = np.array(result["target"]["xyz_camera_m"])
    assert xyz_cam[2] == pytest.approx(0.6)
    np.testing.assert_allclose(result["target"]["xyz_base_m"], T_BASE_CAM.apply(xyz_cam))
    assert out.pose_base.header.frame_id == "base_link"
    assert out.pose_base.pose.position.z == pytest.approx(0.0)  # 0.6 m below a camera at 0.6
    assert out.pose_camera.header.frame_id == "camera_color_optical_frame"
    assert stamp_to_ns(out.pose_camera.header.stamp) == 10 * NS
    assert len(out.detections_2d.detections) == 1
    assert len(out.detections_3d.detections) == 1
    assert out.markers.markers[1].pose.position.z == pytest.approx(0.6)
    assert (out.debug_image.height, out.debug_image.width) == (48, 64)
    assert codes(statuses)[-2:] == ["task_started", "task_done"]
    assert not logic.busy


def test_missing_tf_still_publishes_camera_frame_target():
    logic, statuses = ready_logic(tf="missing")
    logic.submit_task("grasp the teacup")
    out = run_one(logic)
    assert out.pose_base is None
    assert out.pose_camera is not None
    assert json.loads(out.result_msg.data)["target"]["xyz_base_m"] is None
    warn = next(s for s in statuses if s.code == "no_tf")
    assert "base_link <- camera_color_optical_frame" in warn.message
    assert statuses[-1].code == "task_done"
    assert "camera frame" in statuses[-1].message


def test_tf_for_wrong_frames_is_not_used():
    logic, statuses = ready_logic(tf="wrong")
    logic.submit_task("grasp the teacup")
    assert run_one(logic).pose_base is None
    assert "expected transform base_link" in next(s for s in statuses if s.code == "no_tf").message


def test_without_tf_lookup_at_all():
    config = SpatialBotNodeConfig(engine="test_box")
    logic = SpatialBotNodeLogic(config, rosbags_factory(), Clock())
    logic.load_engine()
    logic.on_frames(*frame_msgs(10 * NS))
    logic.submit_task("grasp the teacup")
    assert run_one(logic).pose_base is None


def test_stale_frame_is_refused_with_its_age():
    clock = Clock(10 * NS)
    logic, statuses = ready_logic(clock=clock, max_frame_age_s=0.5)
    clock.now_ns = 13 * NS
    logic.submit_task("grasp the teacup")
    out = run_one(logic)
    result = json.loads(out.result_msg.data)
    assert result["status"] == "error"
    assert "3.00 s old" in result["error"]
    assert statuses[-1].code == "stale_frame"
    assert out.pose_camera is None


def test_no_frame_yet():
    logic, statuses = make_logic()
    logic.load_engine()
    logic.submit_task("grasp the teacup")
    out = run_one(logic)
    assert json.loads(out.result_msg.data)["status"] == "error"
    assert statuses[-1].code == "no_frame"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 5000, "at most 500 characters, got 5000"),
        (42, "must be text"),
    ],
)
def test_bad_task_text_is_rejected(text, match):
    logic, _ = ready_logic()
    status = logic.submit_task(text)
    assert status.code == "task_rejected"
    assert match in status.message
    assert not logic.busy
    assert len(status.task) <= 200


def test_busy_reject_policy_rejects_second_task():
    logic, _ = ready_logic(busy_policy="reject")
    assert logic.submit_task("grasp the teacup").code == "task_accepted"
    status = logic.submit_task("grasp the red cup")
    assert status.code == "task_rejected"
    assert "busy with 'grasp the teacup'" in status.message


def test_queue_policy_is_bounded_and_reports_positions():
    logic, _ = ready_logic(max_queued_tasks=2)
    assert logic.submit_task("a cup").code == "task_accepted"
    second = logic.submit_task("b cup")
    assert second.code == "task_queued"
    assert "position 2" in second.message
    third = logic.submit_task("c cup")
    assert third.code == "task_rejected"
    assert "queue full" in third.message
    assert json.loads(run_one(logic).result_msg.data)["task"] == "a cup"
    assert json.loads(run_one(logic).result_msg.data)["task"] == "b cup"
    assert logic.process_next(timeout_s=0.01) is None


def test_tasks_wait_for_the_engine():
    logic, _ = make_logic()
    logic.on_frames(*frame_msgs(10 * NS))
    status = logic.submit_task("grasp the teacup")
    assert status.code == "task_queued"
    assert "until the engine is ready" in status.message
    assert logic.next_task(timeout_s=0.01) is None
    logic.load_engine()
    assert json.loads(run_one(logic).result_msg.data)["status"] == "ok"


def test_reject_policy_rejects_while_loading():
    logic, _ = make_logic(busy_policy="reject")
    assert "still loading" in logic.submit_task("grasp the teacup").message


def test_engine_that_fails_to_load_fails_queued_and_later_tasks():
    logic, statuses = make_logic(engine="test_broken", model_path="/nonexistent")
    logic.submit_task("grasp the teacup")
    assert not logic.load_engine()
    assert (
        "no model at /nonexistent" in next(s for s in statuses if s.code == "load_failed").message
    )
    assert statuses[-1].code == "task_failed"
    assert logic.submit_task("again").code == "task_rejected"


def test_unknown_engine_name_is_a_load_failure():
    logic, statuses = make_logic(engine="no_such_engine")
    assert not logic.load_engine()
    assert "unknown engine" in statuses[-1].message


def test_engine_raising_becomes_error_result():
    logic, statuses = ready_logic(engine="test_raises")
    logic.submit_task("grasp the teacup")
    result = json.loads(run_one(logic).result_msg.data)
    assert result["status"] == "error"
    assert "CUDA out of memory" in result["error"]
    assert statuses[-1].code == "task_failed"


def test_nan_target_from_a_malformed_model_output_is_not_published():
    logic, _ = ready_logic(engine="test_nan")
    logic.submit_task("grasp the teacup")
    out = run_one(logic)
    result = json.loads(out.result_msg.data)
    assert result["status"] == "error"
    assert out.pose_camera is None
    assert out.pose_base is None
    assert out.markers is None


def test_all_zero_depth_gives_error_status_not_crash():
    logic, _ = make_logic()
    logic.load_engine()
    r, _, i = frame_msgs(10 * NS)
    assert logic.on_frames(r, image(np.zeros((48, 64), np.uint16), "16UC1", 10 * NS), i)
    logic.submit_task("grasp the teacup")
    result = json.loads(run_one(logic).result_msg.data)
    assert result["status"] == "error"
    assert "no valid depth" in result["error"]


def test_nan_float_depth_is_treated_as_no_data():
    logic, _ = make_logic()
    logic.load_engine()
    r, _, i = frame_msgs(10 * NS)
    depth = np.full((48, 64), np.nan, np.float32)
    assert logic.on_frames(r, image(depth, "32FC1", 10 * NS), i)
    assert logic.latest_frame.depth_mm.max() == 0
    logic.submit_task("grasp the teacup")
    assert json.loads(run_one(logic).result_msg.data)["status"] == "error"


@pytest.mark.parametrize(
    ("make_msgs", "match"),
    [
        (
            lambda r, d, i: (image(np.zeros((48, 64), np.uint8), "mono8", 10 * NS), d, i),
            "colour image encoding",
        ),
        (
            lambda r, d, i: (r, image(np.zeros((24, 32), np.uint16), "16UC1", 10 * NS), i),
            "aligned to colour",
        ),
        (lambda r, d, i: (r, d, None), "missing"),
        (lambda r, d, i: (r, d, camera_info(INTR.scaled(32, 24), 10 * NS)), "camera_info"),
        (
            lambda r, d, i: (r, image(np.zeros((48, 64), np.uint16), "16UC1", 11 * NS), i),
            "stamps must be within",
        ),
    ],
)
def test_bad_frames_are_refused_once_and_keep_the_last_good_frame(make_msgs, match):
    logic, statuses = ready_logic()
    good = logic.latest_frame
    bad = make_msgs(*frame_msgs(10 * NS))
    assert not logic.on_frames(*bad)
    assert not logic.on_frames(*bad)
    refusals = [s for s in statuses if s.code == "bad_frame"]
    assert len(refusals) == 1, "a repeated problem is reported once, not at frame rate"
    assert match in refusals[0].message
    assert logic.latest_frame is good
    assert logic.frames_refused == 2
    assert logic.on_frames(*frame_msgs(10 * NS))
    assert statuses[-1].code == "frames_ok"


def test_varying_details_of_one_problem_are_not_reported_per_frame():
    logic, statuses = ready_logic()
    for k in range(5):  # a different skew every frame: still the same problem
        r, _, i = frame_msgs(10 * NS)
        depth = image(np.zeros((48, 64), np.uint16), "16UC1", 11 * NS + k * NS // 10)
        assert not logic.on_frames(r, depth, i)
    assert codes(statuses).count("bad_frame") == 1


def test_initial_task_runs_once_when_ready_and_frames_arrive():
    logic, statuses = make_logic(initial_task="grasp the middle teacup")
    logic.load_engine()
    assert "task_accepted" not in codes(statuses)
    logic.on_frames(*frame_msgs(10 * NS))
    logic.on_frames(*frame_msgs(10 * NS))
    assert codes(statuses).count("task_accepted") == 1
    assert json.loads(run_one(logic).result_msg.data)["task"] == "grasp the middle teacup"


def test_worker_thread_and_frame_callbacks_run_concurrently():
    logic, _ = ready_logic()
    results: list[Any] = []

    def worker():
        while (out := logic.process_next(timeout_s=2.0)) is not None:
            results.append(out)

    thread = threading.Thread(target=worker)
    thread.start()
    for k in range(20):
        logic.on_frames(*frame_msgs(10 * NS, seed=k))
        if k % 5 == 0:
            logic.submit_task(f"grasp cup {k}")
    deadline = time.monotonic() + 5
    while len(results) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    logic.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(results) == 4
    assert all(json.loads(o.result_msg.data)["status"] == "ok" for o in results)


def test_config_rejects_typos_and_bad_values():
    with pytest.raises(ValueError, match="unknown SpatialBot node parameter"):
        SpatialBotNodeConfig.from_mapping({"engien": "geometric"})
    with pytest.raises(ValueError, match="busy_policy"):
        SpatialBotNodeConfig(busy_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_queued_tasks"):
        SpatialBotNodeConfig(max_queued_tasks=0)


def test_engine_config_passes_model_parameters():
    config = SpatialBotNodeConfig(
        engine="spatialbot",
        model_path="/m",
        dtype="float16",
        device="cuda",
        trust_remote_code=True,
        engine_options={"max_new_tokens": 64},
    )
    assert config.engine_config() == {
        "model_path": "/m",
        "dtype": "float16",
        "device": "cuda",
        "trust_remote_code": True,
        "max_new_tokens": 64,
    }
    # Defaults stay out: the weight-free engine rejects model settings it does not know.
    assert SpatialBotNodeConfig().engine_config() == {}


def test_real_engine_and_planner_end_to_end_on_a_synthetic_scene():
    """Default config, the real weight-free engine and the replay grasp planner, via messages."""
    from rosmsg_fixtures import camera_info as info_msg

    from spatialbot_ros.pipeline.grasp_planning import make_grasp_planner
    from spatialbot_ros.sim.synthetic import make_scene, task_family

    scene = make_scene(seed=3, n_objects=3)
    frame = scene.frame
    task, index = next(t for t in task_family(scene) if t[0].startswith(("pick up", "grasp")))
    # The table's world origin 0.45 m in front of the robot base.
    T_base_world = RigidTransform.from_xyz_rpy((0.45, 0.0, 0.0), (0, 0, 0), "base_link", "world")
    T_base_cam = T_base_world @ scene.T_world_camera
    optical = T_base_cam.child_frame
    config = SpatialBotNodeConfig()
    statuses: list[NodeStatus] = []
    logic = SpatialBotNodeLogic(
        config,
        rosbags_factory(),
        Clock(10 * NS),
        lambda *_: T_base_cam,
        on_status=statuses.append,
        grasp_planner=make_grasp_planner(),
    )
    assert logic.load_engine(), statuses
    msgs = (
        image(frame.rgb, "rgb8", 10 * NS, optical),
        image(frame.depth_mm, "16UC1", 10 * NS, optical),
        info_msg(frame.intrinsics, 10 * NS, optical),
    )
    assert logic.on_frames(*msgs), statuses
    logic.submit_task(task)
    out = run_one(logic)
    result = json.loads(out.result_msg.data)
    assert result["status"] == "ok", result
    truth_base = T_base_world.apply(np.asarray(scene.objects[index].center_world_m))
    assert np.linalg.norm(np.asarray(result["target"]["xyz_base_m"]) - truth_base) < 0.05
    assert result["grasp"] is not None
    assert out.pose_base.header.frame_id == "base_link"


SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rosbag2_jazzy_sample"


@pytest.mark.parametrize("bag", ["sample_mcap_zstd", "sample_sqlite3_msgzstd"])
def test_sample_bag_replayed_through_sync_and_node_logic(bag):
    """What replay.launch.py does, without ROS: bag messages -> sync -> initial task."""
    if not (SAMPLE / "truth.json").is_file():
        pytest.skip(f"sample bags not found at {SAMPLE} (only in the project's shared data)")
    from rosbags.highlevel import AnyReader

    from spatialbot_ros.pipeline.ros_types import make_typestore
    from spatialbot_ros.pipeline.sync import ApproximateTimeSync

    truth = json.loads((SAMPLE / "truth.json").read_text())
    cam = truth["camera"]
    u, _, vt = np.linalg.svd(np.asarray(cam["R_world_from_optical"]))
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = u @ vt, cam["position_world_m"]
    T_world_cam = RigidTransform(m, "base_link", "camera_color_optical_frame")  # world as base
    clock = Clock(0)
    config = SpatialBotNodeConfig(initial_task=truth["task"], max_frame_age_s=1.0)
    logic = SpatialBotNodeLogic(
        config, rosbags_factory(), clock, lambda target, source, stamp: T_world_cam
    )
    logic.load_engine()
    streams = {
        truth["topics"]["color"]: "rgb",
        truth["topics"]["depth"]: "depth",
        truth["topics"]["color_info"]: "info",
    }
    sync = ApproximateTimeSync(slop_ns=NS // 20)
    with AnyReader([SAMPLE / bag], default_typestore=make_typestore()) as reader:
        conns = [c for c in reader.connections if c.topic in streams]
        for conn, _, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            clock.now_ns = stamp_to_ns(msg.header.stamp)  # --clock: sim time follows the bag
            matched = sync.add(streams[conn.topic], stamp_to_ns(msg.header.stamp), msg)
            if matched is not None:
                assert logic.on_frames(*matched)
    out = run_one(logic)
    result = json.loads(out.result_msg.data)
    assert result["status"] == "ok", result
    cup = truth["cups"][truth["target_index"]]
    truth_xyz = (cup["x_m"], cup["y_m"], cup["height_m"] / 2)
    assert np.linalg.norm(np.asarray(result["target"]["xyz_base_m"]) - truth_xyz) < 0.04
