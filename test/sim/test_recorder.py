"""A simulated bag reads back identically through rosbags and through independent readers.

mcap: the `mcap` package's reader with the mcap_ros2 decoder (schemas from the file).
sqlite3: Python's sqlite3 module with mcap_ros2's CDR decoders built from the message
definitions stored in the .db3 (no rosbags code on that path).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.replay import BagFrameReader
from spatialbot_ros.sim.recorder import TRUTH_FILE, record_scene_bag

COLOR = "/camera/camera/color/image_raw"
DEPTH = "/camera/camera/aligned_depth_to_color/image_raw"


def _summary(topic: str, log_ns: int, msg: Any) -> tuple[Any, ...]:
    """Comparable digest of a message, whichever library decoded it."""
    if hasattr(msg, "encoding") and hasattr(msg, "data"):
        data = (
            bytes(np.asarray(msg.data, dtype=np.uint8).tobytes())
            if not isinstance(msg.data, bytes | bytearray)
            else bytes(msg.data)
        )
        return (
            topic,
            log_ns,
            msg.header.stamp.sec,
            msg.header.stamp.nanosec,
            msg.header.frame_id,
            msg.height,
            msg.width,
            msg.encoding,
            msg.step,
            data,
        )
    if hasattr(msg, "k"):
        return (
            topic,
            log_ns,
            msg.header.stamp.sec,
            msg.header.stamp.nanosec,
            msg.width,
            msg.height,
            msg.distortion_model,
            tuple(float(v) for v in msg.k),
            tuple(float(v) for v in msg.d),
            tuple(float(v) for v in msg.p),
        )
    if hasattr(msg, "transforms"):
        return (
            topic,
            log_ns,
            tuple(
                (
                    t.header.frame_id,
                    t.child_frame_id,
                    t.transform.translation.x,
                    t.transform.translation.y,
                    t.transform.translation.z,
                    t.transform.rotation.x,
                    t.transform.rotation.y,
                    t.transform.rotation.z,
                    t.transform.rotation.w,
                )
                for t in msg.transforms
            ),
        )
    return (topic, log_ns, str(msg.data))


def _read_rosbags(bag: Path) -> list[tuple[Any, ...]]:
    from rosbags.highlevel import AnyReader

    from spatialbot_ros.replay.typestores import typestore_for

    out = []
    with AnyReader([bag], default_typestore=typestore_for("jazzy")) as reader:
        for conn, log_ns, raw in reader.messages():
            out.append(_summary(conn.topic, int(log_ns), reader.deserialize(raw, conn.msgtype)))
    return out


def _read_mcap(bag: Path) -> list[tuple[Any, ...]]:
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    out = []
    (path,) = bag.glob("*.mcap")
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _, channel, message, decoded in reader.iter_decoded_messages(log_time_order=True):
            out.append(_summary(channel.topic, int(message.log_time), decoded))
    return out


def _read_sqlite(bag: Path) -> list[tuple[Any, ...]]:
    from mcap_ros2._dynamic import generate_dynamic

    (path,) = bag.glob("*.db3")
    db = sqlite3.connect(path)
    try:
        defs = dict(
            db.execute(
                "SELECT topic_type, encoded_message_definition FROM message_definitions"
            ).fetchall()
        )
        topics = {
            tid: (name, mtype)
            for tid, name, mtype in db.execute("SELECT id, name, type FROM topics").fetchall()
        }
        decoders = {
            mtype: generate_dynamic(mtype, defs[mtype])[mtype] for _, mtype in topics.values()
        }
        out = []
        rows = db.execute("SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp, id")
        for tid, log_ns, data in rows:
            name, mtype = topics[tid]
            out.append(_summary(name, int(log_ns), decoders[mtype](data)))
    finally:
        db.close()
    return out


@pytest.fixture(scope="module", params=["mcap", "sqlite3"])
def sim_bag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-frame noisy recording of seed 5 with a task, in each storage format."""
    bag = tmp_path_factory.mktemp(request.param) / "bag"
    record_scene_bag(
        bag, seed=5, frames=4, storage=request.param, noise=True, task="grasp the leftmost cup"
    )
    return bag


def test_independent_reader_sees_identical_messages(sim_bag: Path) -> None:
    ours = _read_rosbags(sim_bag)
    theirs = _read_mcap(sim_bag) if any(sim_bag.glob("*.mcap")) else _read_sqlite(sim_bag)
    assert len(ours) == 1 + 1 + 4 * 4  # tf_static, task, 4 x (2 infos, colour, depth)
    assert sorted(ours, key=repr) == sorted(theirs, key=repr)


def test_replay_reader_gets_frames_task_and_camera_pose(sim_bag: Path) -> None:
    truth = json.loads((sim_bag / TRUTH_FILE).read_text())
    with BagFrameReader(sim_bag) as reader:
        items = list(reader)
        pose = reader.transforms().lookup("base_link", "camera_color_optical_frame")
    frames = [i for i in items if isinstance(i, RGBDFrame)]
    assert len(frames) == 4
    assert type(items[0]).__name__ == "TaskMessage"
    np.testing.assert_allclose(pose.translation_m, truth["camera"]["T_base_camera_xyz"])
    assert frames[0].intrinsics.fy == pytest.approx(truth["camera"]["fy"])
    # Noise differs per frame, the colour image does not.
    assert not np.array_equal(frames[0].depth_mm, frames[1].depth_mm)
    np.testing.assert_array_equal(frames[0].rgb, frames[1].rgb)
