"""run_replay: sample bags grounded right, result bag readable, errors keep earlier results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from replay_bags import BagSpec, write_bag

from spatialbot_ros.cli import build_pipeline
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.grounding import TaskPipeline
from spatialbot_ros.replay import (
    ReplayError,
    ReplayOptions,
    UnsupportedMessageError,
    run_replay,
)

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rosbag2_jazzy_sample"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"sample bags not present at {SAMPLES} (only in the dev setup)"
)


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def _camera_pose(truth: dict) -> RigidTransform:
    m = np.eye(4)
    m[:3, :3] = np.asarray(truth["camera"]["R_world_from_optical"])
    m[:3, 3] = truth["camera"]["position_world_m"]
    # The sample's world frame stands in for base_link (the table plane is z = 0 in both).
    return RigidTransform(m, "base_link", "camera_color_optical_frame")


@pytest.fixture(scope="module")
def pipeline() -> TaskPipeline:
    """The default pipeline: weight-free engine and the UR5 grasp planner."""
    return build_pipeline("geometric")


@needs_samples
@pytest.mark.parametrize("name", ["sample_mcap_zstd", "sample_sqlite3_msgzstd"])
def test_sample_bag_grounds_the_second_cup_from_the_left(
    tmp_path: Path, name: str, pipeline
) -> None:
    truth = json.loads((SAMPLES / "truth.json").read_text())
    options = ReplayOptions(
        tasks=(truth["task"],), T_base_camera=_camera_pose(truth), progress=False
    )
    summary = run_replay(SAMPLES / name, tmp_path, pipeline, options)
    assert summary.frames == 10
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(results) == 10
    cup = truth["cups"][truth["target_index"]]
    for result in results:
        assert result["status"] == "ok", result["error"]
        assert result["stamp_ns"] > 0
        target = result["target"]
        assert _iou(target["bbox_px"], cup["bbox_px"]) >= 0.7
        x, y, z = target["xyz_base_m"]
        # The grounded point lies on the cup's visible surface: within its radius of the axis.
        assert np.hypot(x - cup["x_m"], y - cup["y_m"]) <= cup["radius_m"] + 0.01
        assert 0.0 <= z <= cup["height_m"] + 0.01
        assert result["grasp"] is not None  # a plan or a refusal with its reason
        assert set(target["depth_mm"]) >= {"center", "mean", "median", "min", "max"}
    assert len(summary.images) == 10
    assert (tmp_path / summary.images[0]).stat().st_size > 10_000


@needs_samples
def test_result_bag_has_every_result_topic(tmp_path: Path, pipeline) -> None:
    from rosbags.highlevel import AnyReader

    from spatialbot_ros.pipeline.ros_types import make_typestore

    options = ReplayOptions(
        tasks=("grasp the second cup from the left",),
        max_frames=3,
        progress=False,
        out_storage="sqlite3",
    )
    summary = run_replay(SAMPLES / "sample_mcap_zstd", tmp_path, pipeline, options)
    assert summary.bag_out is not None
    with AnyReader([Path(summary.bag_out)], default_typestore=make_typestore()) as reader:
        types = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
        msgs = {c.topic: reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()}
    assert types == {
        "/spatialbot/result": ("std_msgs/msg/String", 3),
        "/spatialbot/target_pose_camera": ("geometry_msgs/msg/PoseStamped", 3),
        "/spatialbot/detections_2d": ("vision_msgs/msg/Detection2DArray", 3),
        "/spatialbot/markers": ("visualization_msgs/msg/MarkerArray", 3),
        "/spatialbot/debug_image": ("sensor_msgs/msg/Image", 3),
    }
    result = json.loads(msgs["/spatialbot/result"].data)
    assert result["task"] == "grasp the second cup from the left"
    det = msgs["/spatialbot/detections_2d"].detections[0]
    x1, y1, x2, y2 = result["target"]["bbox_px"]
    assert det.bbox.size_x == pytest.approx(x2 - x1)
    assert det.bbox.size_y == pytest.approx(y2 - y1)
    # No camera pose: only the optical-frame pose, on the node's camera-frame topic.
    assert msgs["/spatialbot/target_pose_camera"].header.frame_id == "camera_color_optical_frame"


def test_error_mid_bag_keeps_earlier_results(tmp_path: Path, pipeline) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=5, bad_encoding_from=3))
    out = tmp_path / "out"
    with pytest.raises(UnsupportedMessageError, match="xyz42"):
        run_replay(bag, out, pipeline, ReplayOptions(tasks=("grasp the cup",), progress=False))
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert all(json.loads(line)["task"] == "grasp the cup" for line in lines)
    summary = json.loads((out / "replay_summary.json").read_text())
    assert "xyz42" in summary["error"]
    assert (out / "results_bag" / "metadata.yaml").is_file()  # closed, hence playable


def test_tasks_from_the_task_topic(tmp_path: Path, pipeline) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=4, tasks=((1, "grasp the box"),)))
    summary = run_replay(bag, tmp_path / "out", pipeline, ReplayOptions(progress=False))
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert summary.frames == 4
    assert [json.loads(line)["task"] for line in lines] == ["grasp the box"]
    assert json.loads(lines[0])["stamp_ns"] == 1_700_000_000 * 10**9 + 1 * (10**9 // 30)


def test_no_task_anywhere_is_an_error(tmp_path: Path, pipeline) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=2))
    with pytest.raises(ReplayError, match="no task given"):
        run_replay(bag, tmp_path / "out", pipeline, ReplayOptions(progress=False))


@needs_samples
def test_result_bag_has_the_base_pose_when_the_camera_pose_is_known(
    tmp_path: Path, pipeline
) -> None:
    from rosbags.highlevel import AnyReader

    from spatialbot_ros.pipeline.ros_types import make_typestore

    truth = json.loads((SAMPLES / "truth.json").read_text())
    options = ReplayOptions(
        tasks=(truth["task"],), T_base_camera=_camera_pose(truth), max_frames=1, progress=False
    )
    summary = run_replay(SAMPLES / "sample_mcap_zstd", tmp_path, pipeline, options)
    assert summary.bag_out is not None
    with AnyReader([Path(summary.bag_out)], default_typestore=make_typestore()) as reader:
        msgs = {c.topic: reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()}
    base, camera = msgs["/spatialbot/target_pose"], msgs["/spatialbot/target_pose_camera"]
    assert base.header.frame_id == "base_link"
    assert camera.header.frame_id == "camera_color_optical_frame"
    cup = truth["cups"][truth["target_index"]]
    assert np.hypot(base.pose.position.x - cup["x_m"], base.pose.position.y - cup["y_m"]) < 0.06
