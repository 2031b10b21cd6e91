"""Replay a bag through the TaskPipeline: results.jsonl, annotated PNGs and a results bag."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.grounding import TaskPipeline
from spatialbot_ros.pipeline.results import ResultDict, dumps_result
from spatialbot_ros.replay.errors import ReplayError
from spatialbot_ros.replay.reader import REALSENSE_TOPICS, BagFrameReader, CameraTopics, TaskMessage
from spatialbot_ros.replay.tf_lookup import TransformTree

__all__ = ["ReplayOptions", "ReplaySummary", "run_replay"]

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "replay_summary.json"
BAG_DIR = "results_bag"


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay: tasks, topics, pairing tolerance, which frames, what to write."""

    tasks: tuple[str, ...] = ()
    topics: CameraTopics = REALSENSE_TOPICS
    slop_s: float = 0.02
    distro: str | None = None
    stride: int = 1  # command-line tasks run on every `stride`-th paired frame
    max_frames: int | None = None  # stop after this many paired frames
    T_base_camera: RigidTransform | None = None  # overrides the bag's /tf_static
    base_frame: str = "base_link"
    write_images: bool = True
    write_bag: bool = True
    out_storage: str = "mcap"
    progress: bool = True


@dataclass
class ReplaySummary:
    """What a replay did; also written to DIR/replay_summary.json."""

    bag: str
    out_dir: str
    frames: int = 0
    results: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    error: str | None = None
    camera_pose_source: str = "none"
    salvaged: str | None = None
    results_path: str = ""
    bag_out: str | None = None
    images: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def _slug(text: str, max_len: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:max_len] or "task"


class _Outputs:
    """results.jsonl (flushed per line, so an error keeps what came before), PNGs, bag."""

    def __init__(self, out_dir: Path, options: ReplayOptions, summary: ReplaySummary) -> None:
        self.out_dir, self.options, self.summary = out_dir, options, summary
        out_dir.mkdir(parents=True, exist_ok=True)
        self.results_path = out_dir / RESULTS_FILE
        self._results: IO[str] = self.results_path.open("w", encoding="utf-8")
        summary.results_path = str(self.results_path)
        self.bag: Any = None
        if options.write_bag:
            from spatialbot_ros.replay.writer import BagWriter

            self.bag = BagWriter(out_dir / BAG_DIR, options.out_storage, overwrite=True)
            self.bag.open()
            summary.bag_out = str(self.bag.path)

    def add(
        self, index: int, frame: RGBDFrame, result: ResultDict, T_base_camera: RigidTransform | None
    ) -> None:
        self._results.write(dumps_result(result) + "\n")
        self._results.flush()
        self.summary.results += 1
        self.summary.errors += result["status"] != "ok"
        if not (self.options.write_images or self.bag is not None):
            return
        from spatialbot_ros.replay.annotate import annotate_result

        T_camera_base = None if T_base_camera is None else T_base_camera.inverse().matrix
        annotated = annotate_result(frame.rgb, frame.intrinsics, result, T_camera_base)
        if self.options.write_images:
            import cv2

            name = f"{index:05d}_{_slug(result['task'])}.png"
            cv2.imwrite(str(self.out_dir / name), annotated[:, :, ::-1])
            self.summary.images.append(name)
        if self.bag is not None:
            if T_base_camera is not None and self.summary.results == 1:
                self.bag.write_transforms([T_base_camera], frame.stamp_ns)
            self.bag.write_result(
                result, frame, annotated, frame.stamp_ns, base_frame=self.options.base_frame
            )

    def close(self) -> None:
        self._results.close()
        if self.bag is not None:
            self.bag.close()
        (self.out_dir / SUMMARY_FILE).write_text(
            json.dumps(self.summary.as_dict(), indent=2), encoding="utf-8"
        )


def _camera_pose(
    reader: BagFrameReader, frame: RGBDFrame, options: ReplayOptions, summary: ReplaySummary
) -> RigidTransform | None:
    if options.T_base_camera is not None:
        summary.camera_pose_source = "option"
        return options.T_base_camera
    tree: TransformTree = reader.transforms()
    if len(tree) == 0:
        return None
    try:
        pose = tree.lookup(options.base_frame, frame.frame_id)
    except TransformError:
        return None
    summary.camera_pose_source = "tf_static"
    return pose


def run_replay(
    bag: str | Path,
    out_dir: str | Path,
    pipeline: TaskPipeline,
    options: ReplayOptions = ReplayOptions(),
) -> ReplaySummary:
    """Run the tasks over the bag's paired frames; raise ReplayError after saving what was done."""
    out_path = Path(out_dir)
    summary = ReplaySummary(bag=str(bag), out_dir=str(out_path))
    if options.stride < 1:
        raise ValueError(f"expected stride >= 1, got {options.stride}")
    t0 = time.perf_counter()
    reader = BagFrameReader(bag, options.topics, distro=options.distro, slop_s=options.slop_s)
    reader.open()
    outputs: _Outputs | None = None
    progress: Any = None
    try:
        if not options.tasks and not reader.has_task_topic:
            raise ReplayError(
                f"{bag}: no task given and no task topic {options.topics.task} in the bag; "
                "pass --task"
            )
        outputs = _Outputs(out_path, options, summary)
        summary.salvaged = reader.salvaged
        total = reader.info.topics[options.topics.color][1] if reader.info else None
        if options.max_frames is not None and total is not None:
            total = min(total, options.max_frames)
        if options.progress:
            from tqdm import tqdm

            progress = tqdm(total=total, unit="frame", desc="replay", leave=False)
        pending: list[str] = []
        T_base_camera: RigidTransform | None = None
        for item in reader:
            if isinstance(item, TaskMessage):
                pending.append(item.text)
                continue
            index = summary.frames
            if index == 0:
                T_base_camera = _camera_pose(reader, item, options, summary)
            summary.frames += 1
            tasks = list(pending)
            pending.clear()
            if index % options.stride == 0:
                tasks.extend(options.tasks)
            for task in tasks:
                outputs.add(index, item, pipeline.run(item, task, T_base_camera), T_base_camera)
            if progress is not None:
                progress.update(1)
            if options.max_frames is not None and summary.frames >= options.max_frames:
                break
        if pending:
            summary.error = (
                f"{len(pending)} task(s) arrived after the last frame and were not run: "
                + "; ".join(pending)
            )
    except ReplayError as exc:
        summary.error = str(exc)
        raise
    finally:
        if progress is not None:
            progress.close()
        reader.close()
        summary.elapsed_s = time.perf_counter() - t0
        if outputs is not None:
            outputs.close()
    return summary
