"""TaskPipeline: engine result -> schema, base-frame transform, grasp planner, bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core import CameraIntrinsics, DepthStats, RGBDFrame, RigidTransform
from spatialbot_ros.core.errors import NoDepthError
from spatialbot_ros.pipeline.grounding import TaskPipeline
from spatialbot_ros.pipeline.results import dumps_result
from spatialbot_ros.vlm.base import EngineResult, GroundingTarget

INTR = CameraIntrinsics(64, 48, 60.0, 60.0, 31.5, 23.5)


def _frame() -> RGBDFrame:
    depth = np.full((48, 64), 800, dtype=np.uint16)
    depth[20:30, 30:40] = 600  # the object, nearer than the table
    return RGBDFrame(np.zeros((48, 64, 3), np.uint8), depth, INTR, stamp_ns=42)


class ScriptedEngine:
    """Returns a fixed result; counts calls."""

    name = "scripted"

    def __init__(self, status: str = "ok", raise_exc: bool = False) -> None:
        self.calls = 0
        self.status = status
        self.raise_exc = raise_exc

    def run(self, frame: RGBDFrame, task: str) -> EngineResult:
        self.calls += 1
        if self.raise_exc:
            raise RuntimeError("boom")
        target = GroundingTarget(
            "cup",
            (30 / 64, 20 / 48, 40 / 64, 30 / 48),
            (30.0, 20.0, 40.0, 30.0),
            DepthStats(600, 600, 600, 600, 600, 1.0),
            (0.0, 0.0, 0.6),
        )
        if self.status != "ok":
            return EngineResult(task, self.name, "error", error="no cup here")
        return EngineResult(task, self.name, "ok", kind="grasp", target=target, answer="cup")


class RecordingPlanner:
    """A grasp planner that records the points it was given."""

    def __init__(self) -> None:
        self.points: np.ndarray | None = None

    def __call__(self, points_base_m: np.ndarray) -> Any:
        self.points = points_base_m

        class Plan:
            def as_dict(self) -> dict[str, Any]:
                return {"grasp_type": "top_down", "n_points": int(points_base_m.shape[0])}

        return Plan()


def test_ok_result_has_schema_and_base_point() -> None:
    T = RigidTransform.from_xyz_rpy(
        (1.0, 2.0, 3.0), (0, 0, 0), "base_link", "camera_color_optical_frame"
    )
    planner = RecordingPlanner()
    res = TaskPipeline(ScriptedEngine(), T, planner).run(_frame(), "grasp the cup")
    assert res["status"] == "ok"
    assert res["error"] is None
    assert res["stamp_ns"] == 42
    assert res["target"] is not None
    assert res["target"]["xyz_base_m"] == pytest.approx([1.0, 2.0, 3.6])
    assert res["grasp"] == {"grasp_type": "top_down", "n_points": 100}
    # the planner saw only the object's foreground points, in the base frame
    assert planner.points is not None
    assert np.allclose(planner.points[:, 2], 3.6)
    assert {"engine", "transform", "grasp"} <= set(res["timings_ms"])
    assert json.loads(dumps_result(res))["target"]["label"] == "cup"


def test_without_camera_pose_no_base_point() -> None:
    res = TaskPipeline(ScriptedEngine()).run(_frame(), "grasp the cup")
    assert res["status"] == "ok"
    assert res["target"] is not None
    assert res["target"]["xyz_base_m"] is None
    assert any("camera pose" in n for n in res["notes"])


def test_wrong_camera_frame_is_an_error() -> None:
    T = RigidTransform.identity("base_link")
    res = TaskPipeline(ScriptedEngine(), T).run(_frame(), "grasp the cup")
    assert res["status"] == "error"
    assert "frame" in (res["error"] or "")


@pytest.mark.parametrize(
    ("task", "why"), [("", "empty"), ("   ", "empty"), ("grasp " * 200, "characters long")]
)
def test_bad_task_text_never_reaches_engine(task: str, why: str) -> None:
    engine = ScriptedEngine()
    res = TaskPipeline(engine, max_task_chars=500).run(_frame(), task)
    assert res["status"] == "error"
    assert why in (res["error"] or "")
    assert engine.calls == 0
    assert len(res["task"]) <= 200


def test_engine_error_and_exception_become_error_results() -> None:
    assert TaskPipeline(ScriptedEngine("error")).run(_frame(), "x")["error"] == "no cup here"
    res = TaskPipeline(ScriptedEngine(raise_exc=True)).run(_frame(), "x")
    assert res["status"] == "error"
    assert "boom" in (res["error"] or "")


def test_planner_refusal_from_missing_depth() -> None:
    T = RigidTransform.identity("camera_color_optical_frame")

    def planner(points: np.ndarray) -> Any:
        raise NoDepthError("nothing to grasp")

    res = TaskPipeline(ScriptedEngine(), T, planner).run(_frame(), "grasp the cup")
    assert res["grasp"] == {"refused": True, "reason": "nothing to grasp"}


def test_dumps_result_maps_nan_to_null() -> None:
    assert json.loads(dumps_result({"a": float("nan"), "b": np.float32(1.5)})) == {
        "a": None,
        "b": 1.5,
    }
