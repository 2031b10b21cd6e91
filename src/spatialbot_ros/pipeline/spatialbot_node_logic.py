"""The SpatialBot node without rclpy: task queue, frame freshness, engine loading, outputs.

ros/spatialbot_node.py only wires subscriptions, timers and publishers to this class; every
behaviour (bad frames, stale frames, busy policy, missing TF, engine failures) lives here and is
tested with rosbags messages. Thread-safe: image callbacks and the task worker run concurrently.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline import ros_messages as rm
from spatialbot_ros.pipeline.grounding import GraspPlanner, TaskPipeline
from spatialbot_ros.pipeline.results import ResultDict, error_result

__all__ = [
    "NodeStatus",
    "SpatialBotNodeConfig",
    "SpatialBotNodeLogic",
    "TaskOutputs",
    "TransformLookup",
]

TransformLookup = Callable[[str, str, int], RigidTransform]
"""(target_frame, source_frame, stamp_ns) -> T_target_source; raises when unavailable."""

BusyPolicy = Literal["queue", "reject"]
FRAME_ERROR_REPEAT_S = 10.0
_ENGINE_DEFAULTS: dict[str, Any] = {
    "model_path": "",
    "dtype": "auto",
    "device": "auto",
    "trust_remote_code": False,
}
_ENGINE_KEYS = tuple(_ENGINE_DEFAULTS)


@dataclass(frozen=True)
class SpatialBotNodeConfig:
    """Parameters of the SpatialBot node (config/spatialbot_node.yaml documents each)."""

    engine: str = "geometric"
    model_path: str = ""
    dtype: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    base_frame: str = "base_link"
    max_frame_age_s: float = 2.0
    sync_slop_s: float = 0.05
    busy_policy: BusyPolicy = "queue"
    max_queued_tasks: int = 4
    max_task_chars: int = 500
    initial_task: str = ""
    publish_debug_image: bool = True
    engine_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Validate values a typo in YAML would otherwise turn into odd behaviour."""
        if self.busy_policy not in ("queue", "reject"):
            raise ValueError(f"busy_policy must be 'queue' or 'reject', got {self.busy_policy!r}")
        if self.max_queued_tasks < 1:
            raise ValueError(f"max_queued_tasks must be >= 1, got {self.max_queued_tasks}")
        if self.max_frame_age_s <= 0 or self.sync_slop_s < 0:
            raise ValueError(
                "max_frame_age_s must be > 0 and sync_slop_s >= 0, got "
                f"{self.max_frame_age_s} and {self.sync_slop_s}"
            )
        if self.max_task_chars < 1:
            raise ValueError(f"max_task_chars must be >= 1, got {self.max_task_chars}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SpatialBotNodeConfig:
        """From a parameter mapping; unknown keys raise (they are typos)."""
        return dataclass_from_mapping(cls, values, "SpatialBot node parameter")

    def engine_config(self) -> dict[str, Any]:
        """The config mapping handed to make_engine: engine_options plus the model settings
        that differ from their defaults (engines reject keys they do not know, and the
        weight-free engine knows no model settings)."""
        config: dict[str, Any] = dict(self.engine_options)
        for key in _ENGINE_KEYS:
            value = getattr(self, key)
            if value != _ENGINE_DEFAULTS[key]:
                config[key] = value
        return config


@dataclass(frozen=True)
class NodeStatus:
    """One status report: level, a stable machine code, a human message, the task concerned."""

    level: Literal["info", "warn", "error"]
    code: str
    message: str
    task: str = ""

    def to_json(self) -> str:
        """The status topic's payload."""
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass
class TaskOutputs:
    """Everything the node publishes for one task; None where there is nothing to publish."""

    result: ResultDict
    result_msg: Any
    pose_camera: Any = None
    pose_base: Any = None
    detections_2d: Any = None
    detections_3d: Any = None
    markers: Any = None
    debug_image: Any = None


class SpatialBotNodeLogic:
    """Task queue, latest synchronised frame and engine life cycle of the SpatialBot node."""

    def __init__(
        self,
        config: SpatialBotNodeConfig,
        factory: rm.MessageFactory,
        clock_ns: Callable[[], int],
        lookup_transform: TransformLookup | None = None,
        *,
        on_status: Callable[[NodeStatus], None] | None = None,
        engine_builder: Callable[[str, Mapping[str, Any]], Any] | None = None,
        grasp_planner: GraspPlanner | None = None,
        status_history: int = 64,
    ) -> None:
        """Cheap: nothing is loaded here (load_engine does, on a worker thread)."""
        self.config = config
        self.factory = factory
        self.clock_ns = clock_ns
        self.lookup_transform = lookup_transform
        self.on_status = on_status
        self.engine_builder = engine_builder
        self.grasp_planner = grasp_planner
        self.pipeline: TaskPipeline | None = None
        self.history: deque[NodeStatus] = deque(maxlen=status_history)
        self._lock = threading.Condition()
        self._tasks: deque[str] = deque()
        self._running: str | None = None
        self._latest: RGBDFrame | None = None
        self._ready = False
        self._failed = False
        self._closed = False
        self._last_frame_error: str | None = None  # kind of the last refused frame's problem
        self._last_frame_error_at = -math.inf
        self._initial_task_pending = bool(config.initial_task.strip())
        self.frames_received = 0
        self.frames_refused = 0

    # -- status ---------------------------------------------------------------------------

    def _emit(
        self, level: Literal["info", "warn", "error"], code: str, message: str, task: str = ""
    ) -> NodeStatus:
        status = NodeStatus(level, code, message, task[:200])
        self.history.append(status)
        if self.on_status is not None:
            self.on_status(status)
        return status

    @property
    def ready(self) -> bool:
        """True once the engine is loaded."""
        return self._ready

    @property
    def busy(self) -> bool:
        """True while a task runs or waits."""
        with self._lock:
            return self._running is not None or bool(self._tasks)

    # -- engine ---------------------------------------------------------------------------

    def load_engine(self) -> bool:
        """Build the engine (slow for a VLM; call it off the callback path). True on success."""
        config = self.config
        self._emit("info", "loading", f"loading engine {config.engine!r}")
        t0 = time.perf_counter()
        try:
            builder = self.engine_builder
            if builder is None:
                from spatialbot_ros.vlm.base import make_engine

                builder = make_engine
            engine = builder(config.engine, config.engine_config())
            pipeline = TaskPipeline(
                engine, grasp_planner=self.grasp_planner, max_task_chars=config.max_task_chars
            )
        except Exception as exc:  # any failure must become a status, never a dead node
            with self._lock:
                self._failed = True
                self._lock.notify_all()
            self._emit("error", "load_failed", f"engine {config.engine!r} failed to load: {exc}")
            self._fail_queued(f"engine {config.engine!r} failed to load: {exc}")
            return False
        with self._lock:
            self.pipeline = pipeline
            self._ready = True
            self._lock.notify_all()
        self._emit(
            "info",
            "ready",
            f"engine {config.engine!r} ready after {time.perf_counter() - t0:.2f} s",
        )
        self._maybe_submit_initial_task()
        return True

    def _fail_queued(self, reason: str) -> None:
        with self._lock:
            dropped = list(self._tasks)
            self._tasks.clear()
        for task in dropped:
            self._emit("error", "task_failed", f"task not run: {reason}", task)

    # -- frames ---------------------------------------------------------------------------

    def on_frames(self, rgb_msg: Any, depth_msg: Any, info_msg: Any) -> bool:
        """A synchronised RGB + aligned depth + camera_info set; keeps it as the latest frame.

        Returns False (and reports once per distinct problem) when the set is unusable.
        """
        slop_ns = int(self.config.sync_slop_s * 1e9)
        try:
            frame = rm.frame_from_messages(rgb_msg, depth_msg, info_msg, max_skew_ns=slop_ns)
        except (SpatialBotRosError, ValueError, TypeError, AttributeError) as exc:
            self.frames_refused += 1
            message = f"frame refused: {exc}"
            # One report per kind of problem (and again every FRAME_ERROR_REPEAT_S while it
            # lasts), not one per frame: the details (e.g. a skew in ms) vary frame to frame.
            kind = f"{type(exc).__name__}:{str(exc)[:24]}"
            now = time.monotonic()
            if kind != self._last_frame_error or (
                now - self._last_frame_error_at > FRAME_ERROR_REPEAT_S
            ):
                self._last_frame_error, self._last_frame_error_at = kind, now
                self._emit("error", "bad_frame", message)
            return False
        with self._lock:
            self._latest = frame
        self.frames_received += 1
        if self._last_frame_error is not None:
            self._last_frame_error = None
            self._emit("info", "frames_ok", "frames are usable again")
        if self._initial_task_pending:
            self._maybe_submit_initial_task()
        return True

    @property
    def latest_frame(self) -> RGBDFrame | None:
        """The newest usable frame, if any."""
        with self._lock:
            return self._latest

    def _maybe_submit_initial_task(self) -> None:
        with self._lock:
            go = self._initial_task_pending and self._ready and self._latest is not None
            if go:
                self._initial_task_pending = False
        if go:
            self.submit_task(self.config.initial_task)

    # -- tasks ----------------------------------------------------------------------------

    def submit_task(self, text: Any) -> NodeStatus:
        """A task from the task topic: queued, started or rejected; always reported."""
        task = text if isinstance(text, str) else ""
        problem = self._task_problem(text)
        if problem is not None:
            return self._emit("error", "task_rejected", problem, task)
        with self._lock:
            if self._failed:
                reason = f"engine {self.config.engine!r} failed to load"
                return self._reject(reason, task)
            busy = self._running is not None or bool(self._tasks)
            if busy and self.config.busy_policy == "reject":
                return self._reject(
                    f"busy with {self._running or self._tasks[0]!r} (busy_policy=reject)", task
                )
            if not self._ready and self.config.busy_policy == "reject":
                return self._reject("engine is still loading (busy_policy=reject)", task)
            if len(self._tasks) >= self.config.max_queued_tasks:
                return self._reject(
                    f"queue full ({self.config.max_queued_tasks} waiting; max_queued_tasks)", task
                )
            self._tasks.append(task)
            position = len(self._tasks)
            # Report before the worker can take the task (it needs this lock), so that
            # "accepted" always precedes "started" on the status topic.
            if not self._ready:
                status = self._emit(
                    "info",
                    "task_queued",
                    f"queued at position {position} until the engine is ready",
                    task,
                )
            elif busy:
                status = self._emit(
                    "info",
                    "task_queued",
                    f"queued at position {position} behind a running task",
                    task,
                )
            else:
                status = self._emit("info", "task_accepted", "task accepted", task)
            self._lock.notify_all()
        return status

    def _reject(self, reason: str, task: str) -> NodeStatus:
        # Called with the lock held: emitting only appends and calls the sink (a publisher),
        # which must not call back into this object.
        return self._emit("error", "task_rejected", f"task rejected: {reason}", task)

    def _task_problem(self, text: Any) -> str | None:
        if not isinstance(text, str):
            return f"task must be text, got {type(text).__name__}"
        if not text.strip():
            return "task rejected: task text is empty"
        if len(text) > self.config.max_task_chars:
            return (
                f"task rejected: expected at most {self.config.max_task_chars} characters, "
                f"got {len(text)} (parameter max_task_chars)"
            )
        return None

    def next_task(self, timeout_s: float | None = None) -> str | None:
        """Block until a task can run (engine ready and a task waiting); None on timeout/close."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            while not self._closed and not (self._ready and self._tasks):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._lock.wait(remaining)
            if self._closed:
                return None
            task = self._tasks.popleft()
            self._running = task
            return task

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closed

    def close(self) -> None:
        """Wake any worker blocked in next_task so the node can shut down."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def run_task(self, task: str) -> TaskOutputs:
        """Run one task on the latest frame and build every output message."""
        try:
            return self._run_task(task)
        finally:
            with self._lock:
                self._running = None
                self._lock.notify_all()

    def process_next(self, timeout_s: float | None = None) -> TaskOutputs | None:
        """next_task + run_task: one step of the worker thread."""
        task = self.next_task(timeout_s)
        return None if task is None else self.run_task(task)

    def _fail(self, task: str, code: str, message: str, frame: RGBDFrame | None) -> TaskOutputs:
        self._emit("error", code, message, task)
        result = error_result(
            task,
            self.config.engine,
            message,
            stamp_ns=frame.stamp_ns if frame is not None else 0,
            frame_id=frame.frame_id if frame is not None else "",
        )
        return TaskOutputs(result=result, result_msg=rm.make_result_string(self.factory, result))

    def _run_task(self, task: str) -> TaskOutputs:
        pipeline = self.pipeline
        if pipeline is None:
            return self._fail(task, "not_ready", "engine is not loaded", None)
        frame = self.latest_frame
        if frame is None:
            return self._fail(
                task,
                "no_frame",
                "no usable synchronised RGB + depth + camera_info frame received yet",
                None,
            )
        now_ns = int(self.clock_ns())
        age_s = (now_ns - frame.stamp_ns) * 1e-9
        if age_s > self.config.max_frame_age_s:
            return self._fail(
                task,
                "stale_frame",
                f"latest frame is {age_s:.2f} s old; expected at most "
                f"{self.config.max_frame_age_s:.2f} s (parameter max_frame_age_s)",
                frame,
            )
        self._emit(
            "info",
            "task_started",
            f"running on the frame stamped {frame.stamp_ns * 1e-9:.3f} s",
            task,
        )
        T_base_camera = self._camera_pose(frame, task)
        result = pipeline.run(frame, task, T_base_camera)
        outputs = self._outputs(result, frame)
        if result["status"] == "ok":
            where = "base and camera frames" if outputs.pose_base is not None else "camera frame"
            self._emit("info", "task_done", f"done ({where})", task)
        else:
            self._emit("error", "task_failed", f"task failed: {result['error']}", task)
        return outputs

    def _camera_pose(self, frame: RGBDFrame, task: str) -> RigidTransform | None:
        if self.lookup_transform is None:
            return None
        base = self.config.base_frame
        try:
            T = self.lookup_transform(base, frame.frame_id, frame.stamp_ns)
        except Exception as exc:  # tf2 raises several unrelated types; all mean "no pose"
            self._emit(
                "warn",
                "no_tf",
                f"no transform {base} <- {frame.frame_id} at the frame "
                f"stamp ({exc}); publishing the camera-frame target only",
                task,
            )
            return None
        if T.parent_frame != base or T.child_frame != frame.frame_id:
            self._emit(
                "warn",
                "no_tf",
                f"expected transform {base} <- {frame.frame_id}, got "
                f"{T.parent_frame} <- {T.child_frame}",
                task,
            )
            return None
        return T

    def _outputs(self, result: ResultDict, frame: RGBDFrame) -> TaskOutputs:
        f = self.factory
        out = TaskOutputs(result=result, result_msg=rm.make_result_string(f, result))
        target = result["target"]
        stamp, cam = frame.stamp_ns, frame.frame_id
        try:
            out.detections_2d = rm.make_detection2d_array(f, target, stamp, cam)
            out.detections_3d = rm.make_detection3d_array(f, target, frame.intrinsics, stamp, cam)
            if target is not None:
                out.pose_camera = rm.make_pose_stamped(f, target["xyz_camera_m"], cam, stamp)
                out.markers = rm.make_marker_array(f, target, stamp, cam)
                xyz_base_m = target.get("xyz_base_m")
                if xyz_base_m is not None:
                    out.pose_base = rm.make_pose_stamped(
                        f, xyz_base_m, self.config.base_frame, stamp
                    )
            if self.config.publish_debug_image:
                rgb = rm.annotate_rgb(
                    frame.rgb,
                    target["bbox_px"] if target else None,
                    target["label"] if target else "",
                )
                out.debug_image = rm.make_image(f, rgb, "rgb8", stamp, cam)
        except (ValueError, TypeError, KeyError) as exc:
            # An engine returned a target that cannot be expressed (NaN position, bad box):
            # the JSON still goes out, marked as an error, and nothing misleading is published.
            result["status"] = "error"
            result["error"] = f"target cannot be published: {exc}"
            out = TaskOutputs(result=result, result_msg=rm.make_result_string(f, result))
        return out
