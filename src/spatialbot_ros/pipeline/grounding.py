"""TaskPipeline: frame + task -> grounding engine -> target in the base frame -> grasp plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import object_points_base
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.results import ResultDict, TargetDict
from spatialbot_ros.vlm.base import EngineResult, GroundingEngine

__all__ = ["DEFAULT_MAX_TASK_CHARS", "GraspOutcome", "GraspPlanner", "TaskPipeline"]

DEFAULT_MAX_TASK_CHARS = 500


class GraspOutcome(Protocol):
    """A grasp plan or a refusal; both serialise for the result's `grasp` field."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        ...


GraspPlanner = Callable[[npt.NDArray[np.float64]], GraspOutcome]
"""Object points (N, 3) in the base frame, metres -> a grasp plan or refusal."""


class TaskPipeline:
    """The node logic of one task, the same under rclpy, bag replay and simulation."""

    def __init__(
        self,
        engine: GroundingEngine,
        T_base_camera: RigidTransform | None = None,
        grasp_planner: GraspPlanner | None = None,
        max_task_chars: int = DEFAULT_MAX_TASK_CHARS,
        table_height_m: float = 0.0,
    ) -> None:
        """Hold the engine, the camera pose (if known) and an optional grasp planner."""
        self.engine = engine
        self.T_base_camera = T_base_camera
        self.grasp_planner = grasp_planner
        self.max_task_chars = max_task_chars
        self.table_height_m = table_height_m  # base frame; table points are not the object

    def check_task(self, task: str) -> str | None:
        """Why `task` cannot be run (empty, too long, not text), or None when it can."""
        if not isinstance(task, str):
            return f"task must be text, got {type(task).__name__}"
        if not task.strip():
            return "task is empty"
        if len(task) > self.max_task_chars:
            return (
                f"task is {len(task)} characters long; at most {self.max_task_chars} are "
                "accepted (parameter max_task_chars)"
            )
        return None

    def run(
        self, frame: RGBDFrame, task: str, T_base_camera: RigidTransform | None = None
    ) -> ResultDict:
        """Run one task on one frame; errors come back in the result, never raised."""
        T_base_camera = T_base_camera or self.T_base_camera
        problem = self.check_task(task)
        if problem is not None:
            return self._result(frame, str(task)[:200], None, problem)
        t0 = time.perf_counter()
        try:
            engine_result = self.engine.run(frame, task)
        except Exception as exc:  # an engine must not raise; if one does, say which and why
            return self._result(frame, task, None, f"engine {self.engine.name} failed: {exc!r}")
        timings = dict(engine_result.timings_ms)
        timings.setdefault("engine", (time.perf_counter() - t0) * 1e3)
        result = self._result(frame, task, engine_result, engine_result.error)
        result["timings_ms"] = timings
        target = result["target"]
        if engine_result.status != "ok" or engine_result.target is None or target is None:
            return result
        if T_base_camera is None:
            result["notes"].append("no camera pose: xyz_base_m and grasp not computed")
            return result
        if T_base_camera.child_frame != frame.frame_id:
            result["status"] = "error"
            result["error"] = (
                f"camera pose is for frame {T_base_camera.child_frame!r} but the image is in "
                f"{frame.frame_id!r}"
            )
            return result
        t1 = time.perf_counter()
        target["xyz_base_m"] = [
            float(v) for v in T_base_camera.apply(np.asarray(engine_result.target.xyz_camera_m))
        ]
        timings["transform"] = (time.perf_counter() - t1) * 1e3
        if self.grasp_planner is None or engine_result.kind != "grasp":
            return result
        t2 = time.perf_counter()
        try:
            points_base_m = object_points_base(
                frame.depth_mm,
                frame.intrinsics,
                engine_result.target.bbox_px,
                T_base_camera,
                mask=engine_result.target.mask,
                table_height_m=self.table_height_m,
            )
            result["grasp"] = self.grasp_planner(points_base_m).as_dict()
        except SpatialBotRosError as exc:
            result["grasp"] = {"refused": True, "reason": str(exc)}
        timings["grasp"] = (time.perf_counter() - t2) * 1e3
        return result

    def _result(
        self, frame: RGBDFrame, task: str, er: EngineResult | None, error: str | None
    ) -> ResultDict:
        target: TargetDict | None = None
        if er is not None and er.target is not None:
            t = er.target.as_dict()
            target = TargetDict(
                label=t["label"],
                bbox_px=t["bbox_px"],
                bbox_norm=t["bbox_norm"],
                depth_mm=t["depth_mm"],
                xyz_camera_m=t["xyz_camera_m"],
                xyz_base_m=None,
            )
        ok = er is not None and er.status == "ok" and error is None
        return ResultDict(
            task=task,
            engine=er.engine if er is not None else self.engine.name,
            status="ok" if ok else "error",
            error=None if ok else (error or "unknown error"),
            kind=er.kind if er is not None else "unknown",
            stamp_ns=int(frame.stamp_ns),
            frame_id=frame.frame_id,
            target=target,
            grasp=None,
            answer=er.answer if er is not None else "",
            trace=[{"role": t.role, "text": t.text} for t in (er.trace if er else [])],
            depth_calls=[
                {"x": c.x, "y": c.y, "depth_mm": c.depth_mm, "source": c.source, "error": c.error}
                for c in (er.depth_calls if er else [])
            ],
            notes=list(er.notes) if er is not None else [],
            timings_ms={},
        )
