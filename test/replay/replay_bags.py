"""Build small RGB-D bags in tmp_path with the rosbags Writer (good ones and broken ones)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.pipeline.ros_types import default_message, make_typestore

NS = 1_000_000_000
START_NS = 1_700_000_000 * NS
COLOR = "/camera/camera/color/image_raw"
DEPTH = "/camera/camera/aligned_depth_to_color/image_raw"
COLOR_INFO = "/camera/camera/color/camera_info"
DEPTH_INFO = "/camera/camera/aligned_depth_to_color/camera_info"
TASK = "/spatialbot/task"
INTR = CameraIntrinsics(80, 60, 70.0, 70.0, 39.5, 29.5, "plumb_bob", (0.0,) * 5)


@dataclass
class BagSpec:
    """What to put in the bag, and what to break."""

    frames: int = 5
    period_ns: int = NS // 30
    storage: str = "mcap"
    with_color_info: bool = True
    with_depth_info: bool = True
    with_depth: bool = True
    color_encoding: str = "rgb8"
    depth_offset_ns: int = 0  # depth stamps shifted from colour stamps
    bad_encoding_from: int | None = None  # frames from this index get encoding "xyz42"
    tasks: tuple[tuple[int, str], ...] = ()  # (frame index, text)
    seed: int = 0


def scene(seed: int, intr: CameraIntrinsics = INTR) -> tuple[np.ndarray, np.ndarray]:
    """RGB and depth (mm): a table at 900 mm with a box at 700 mm."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 255, size=(intr.height, intr.width, 3), dtype=np.uint8)
    depth = np.full((intr.height, intr.width), 900, dtype=np.uint16)
    depth[20:40, 30:50] = 700
    return rgb, depth


def _header(stamp_ns: int) -> Any:
    sec, nanosec = divmod(stamp_ns, NS)
    return default_message(
        "std_msgs/msg/Header",
        stamp=default_message("builtin_interfaces/msg/Time", sec=sec, nanosec=nanosec),
        frame_id="camera_color_optical_frame",
    )


def image_msg(array: np.ndarray, encoding: str, stamp_ns: int) -> Any:
    """sensor_msgs/Image with tight rows, little endian."""
    array = np.ascontiguousarray(array)
    h, w = array.shape[:2]
    return default_message(
        "sensor_msgs/msg/Image",
        header=_header(stamp_ns),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=array.nbytes // h,
        data=np.frombuffer(array.tobytes(), dtype=np.uint8),
    )


def info_msg(intr: CameraIntrinsics, stamp_ns: int) -> Any:
    """sensor_msgs/CameraInfo."""
    f = intr.to_camera_info_fields()
    return default_message(
        "sensor_msgs/msg/CameraInfo",
        header=_header(stamp_ns),
        height=f["height"],
        width=f["width"],
        distortion_model=f["distortion_model"],
        d=np.asarray(f["d"], dtype=np.float64),
        k=np.asarray(f["k"], dtype=np.float64),
        r=np.asarray(f["r"], dtype=np.float64),
        p=np.asarray(f["p"], dtype=np.float64),
    )


def write_bag(path: Path, spec: BagSpec) -> Path:
    """Write the bag described by `spec` at `path` (a new directory); returns `path`."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = make_typestore()
    plugin = StoragePlugin.MCAP if spec.storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns: dict[str, Any] = {}

        def put(topic: str, msgtype: str, msg: Any, t: int) -> None:
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(conns[topic], t, store.serialize_cdr(msg, msgtype))

        tasks = dict(spec.tasks)
        for i in range(spec.frames):
            t = START_NS + i * spec.period_ns
            rgb, depth = scene(spec.seed + i)
            if i in tasks:
                put(
                    TASK,
                    "std_msgs/msg/String",
                    default_message("std_msgs/msg/String", data=tasks[i]),
                    t - 1000,
                )
            if spec.with_color_info:
                put(COLOR_INFO, "sensor_msgs/msg/CameraInfo", info_msg(INTR, t), t)
            if spec.with_depth_info:
                put(DEPTH_INFO, "sensor_msgs/msg/CameraInfo", info_msg(INTR, t), t)
            encoding = spec.color_encoding
            if spec.bad_encoding_from is not None and i >= spec.bad_encoding_from:
                encoding = "xyz42"
            put(COLOR, "sensor_msgs/msg/Image", image_msg(rgb, encoding, t), t + 10)
            if spec.with_depth:
                td = t + spec.depth_offset_ns
                put(DEPTH, "sensor_msgs/msg/Image", image_msg(depth, "16UC1", td), t + 20)
    return path


def data_file(bag: Path) -> Path:
    """The storage file inside a bag directory."""
    files = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    assert len(files) == 1, files
    return files[0]
