"""The one JSON result schema shared by replay, the ROS nodes, the demo and evaluation."""

from __future__ import annotations

import json
import math
from typing import Any, Literal, TypedDict

import numpy as np

__all__ = ["DepthStatsDict", "ResultDict", "TargetDict", "dumps_result", "error_result"]


class DepthStatsDict(TypedDict):
    """Depth statistics of the target's box, mm."""

    center: float
    mean: float
    median: float
    min: float
    max: float
    valid_fraction: float


class TargetDict(TypedDict):
    """The grounded target."""

    label: str
    bbox_px: list[float]
    bbox_norm: list[float]
    depth_mm: DepthStatsDict
    xyz_camera_m: list[float]
    xyz_base_m: list[float] | None


class ResultDict(TypedDict):
    """One task's result: a line of results.jsonl, the JSON on the answer topic."""

    task: str
    engine: str
    status: Literal["ok", "error"]
    error: str | None
    kind: str
    stamp_ns: int
    frame_id: str
    target: TargetDict | None
    grasp: dict[str, Any] | None
    answer: str
    trace: list[dict[str, Any]]
    depth_calls: list[dict[str, Any]]
    notes: list[str]
    timings_ms: dict[str, float]


def error_result(
    task: str, engine: str, error: str, stamp_ns: int = 0, frame_id: str = ""
) -> ResultDict:
    """A result for a task that failed before or outside the engine."""
    return ResultDict(
        task=task,
        engine=engine,
        status="error",
        error=error,
        kind="unknown",
        stamp_ns=stamp_ns,
        frame_id=frame_id,
        target=None,
        grasp=None,
        answer="",
        trace=[],
        depth_calls=[],
        notes=[],
        timings_ms={},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; null says "not known"
    return value


def dumps_result(result: ResultDict | dict[str, Any]) -> str:
    """Serialise a result to one line of strict JSON (numpy values converted, NaN -> null)."""
    return json.dumps(_jsonable(result), separators=(",", ":"), allow_nan=False)
