"""BagFrameReader: sample bags from real ROS 2 Jazzy, generated bags, and broken bags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from replay_bags import (
    COLOR,
    COLOR_INFO,
    DEPTH,
    INTR,
    NS,
    START_NS,
    BagSpec,
    data_file,
    scene,
    write_bag,
)

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.replay import (
    BagFrameReader,
    BagReadError,
    MissingTopicError,
    SyncError,
    TaskMessage,
    UnsupportedMessageError,
)
from spatialbot_ros.replay.reader import header_stamp_ns

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rosbag2_jazzy_sample"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"sample bags not present at {SAMPLES} (only in the dev setup)"
)


def _frames(path: Path, **kwargs: object) -> list[RGBDFrame]:
    with BagFrameReader(path, **kwargs) as reader:  # type: ignore[arg-type]
        return [item for item in reader if isinstance(item, RGBDFrame)]


@needs_samples
@pytest.mark.parametrize("name", ["sample_mcap_zstd", "sample_sqlite3_msgzstd"])
def test_sample_bags_read_all_frames(name: str) -> None:
    truth = json.loads((SAMPLES / "truth.json").read_text())
    frames = _frames(SAMPLES / name)
    assert len(frames) == 10
    cam = truth["camera"]
    intr = frames[0].intrinsics
    assert (intr.width, intr.height, intr.fx, intr.cx) == (
        cam["width"],
        cam["height"],
        cam["fx"],
        cam["cx"],
    )
    assert frames[0].rgb.shape == (480, 640, 3)
    assert frames[0].depth_mm.dtype == np.uint16
    # Cups stand 0.4-0.8 m from the camera; the table fills the rest.
    valid = frames[0].depth_mm[frames[0].depth_mm > 0]
    assert 300 < np.median(valid) < 1500
    stamps = [f.stamp_ns for f in frames]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 10


@needs_samples
def test_both_sample_storages_hold_the_same_images() -> None:
    a = _frames(SAMPLES / "sample_mcap_zstd")[0]
    b = _frames(SAMPLES / "sample_sqlite3_msgzstd")[0]
    np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
    np.testing.assert_array_equal(a.rgb, b.rgb)


@needs_samples
@pytest.mark.parametrize(
    "file",
    [
        "sample_sqlite3_msgzstd/sample_sqlite3_msgzstd_0.db3",
        "sample_mcap_zstd/sample_mcap_zstd_0.mcap",
    ],
)
def test_a_storage_file_reads_like_its_bag_directory(file: str) -> None:
    # the .db3 is per-message zstd: only metadata.yaml beside it says so
    from_file = _frames(SAMPLES / file)
    from_dir = _frames(SAMPLES / file.split("/", maxsplit=1)[0])
    assert len(from_file) == len(from_dir) == 10
    np.testing.assert_array_equal(from_file[3].depth_mm, from_dir[3].depth_mm)
    assert from_file[3].stamp_ns == from_dir[3].stamp_ns


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_generated_bag_round_trips_pixels_and_stamps(tmp_path: Path, storage: str) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=4, storage=storage))
    frames = _frames(bag)
    assert [f.stamp_ns for f in frames] == [START_NS + i * (NS // 30) for i in range(4)]
    for i, frame in enumerate(frames):
        rgb, depth = scene(i)
        np.testing.assert_array_equal(frame.rgb, rgb)
        np.testing.assert_array_equal(frame.depth_mm, depth)
        assert frame.intrinsics == INTR


def test_bgr8_colour_is_converted_to_rgb(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=1, color_encoding="bgr8"))
    frame = _frames(bag)[0]
    rgb, _ = scene(0)
    np.testing.assert_array_equal(frame.rgb, rgb[:, :, ::-1])


def test_depth_within_slop_pairs_and_beyond_does_not(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=5, depth_offset_ns=5_000_000))
    assert len(_frames(bag, slop_s=0.01)) == 5
    with pytest.raises(SyncError, match=r"never came within 2\.0 ms") as info:
        _frames(bag, slop_s=0.002)
    assert COLOR in str(info.value)
    assert DEPTH in str(info.value)
    assert "closest gap 5.0 ms" in str(info.value)


def test_tasks_come_in_recording_order(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=3, tasks=((1, "grasp the cup"),)))
    with BagFrameReader(bag) as reader:
        kinds = [type(item).__name__ for item in reader]
        assert reader.has_task_topic
    assert kinds == ["RGBDFrame", "TaskMessage", "RGBDFrame", "RGBDFrame"]


def test_missing_camera_info_names_the_topics(tmp_path: Path) -> None:
    bag = write_bag(
        tmp_path / "bag", BagSpec(frames=2, with_color_info=False, with_depth_info=False)
    )
    with pytest.raises(MissingTopicError, match=COLOR_INFO):
        _frames(bag)


def test_depth_camera_info_is_used_when_colour_info_is_absent(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=2, with_color_info=False))
    assert _frames(bag)[0].intrinsics == INTR


def test_missing_depth_names_the_topic(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=2, with_depth=False))
    with pytest.raises(MissingTopicError, match=DEPTH):
        _frames(bag)


def test_unknown_encoding_names_topic_and_time(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=4, bad_encoding_from=2))
    got: list[RGBDFrame] = []
    with pytest.raises(UnsupportedMessageError) as info, BagFrameReader(bag) as reader:
        got.extend(item for item in reader if isinstance(item, RGBDFrame))
    message = str(info.value)
    assert COLOR in message
    assert "xyz42" in message
    t2 = (START_NS + 2 * (NS // 30)) * 1e-9
    assert f"t={t2:.3f} s" in message
    assert len(got) == 2  # the frames before the bad one came through


def test_truncated_mcap_yields_frames_up_to_the_damage_then_names_where(tmp_path: Path) -> None:
    # A recorder killed mid-write leaves no footer: rosbags cannot open it, the sequential
    # fallback reads every complete chunk, then stops with the topic and time.
    bag = write_bag(tmp_path / "bag", BagSpec(frames=150, storage="mcap"))
    path = data_file(bag)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    got: list[RGBDFrame] = []
    pattern = r"unreadable after /camera/\S+ at t=\d+\.\d+ s"
    with pytest.raises(BagReadError, match=pattern), BagFrameReader(bag) as reader:
        got.extend(item for item in reader if isinstance(item, RGBDFrame))
    assert 20 < len(got) < 150
    np.testing.assert_array_equal(got[-1].depth_mm, scene(len(got) - 1)[1])


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_cut_inside_its_only_chunk_is_a_clear_read_error(tmp_path: Path, storage: str) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=12, storage=storage))
    path = data_file(bag)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BagReadError, match=f"cannot open bag {bag}"):
        _frames(bag)


def test_missing_path_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(BagReadError, match="missing path"):
        _frames(tmp_path / "nope")


def test_header_stamp_is_read_from_raw_cdr() -> None:
    from replay_bags import image_msg

    from spatialbot_ros.pipeline.ros_types import make_typestore

    msg = image_msg(np.zeros((2, 2), np.uint16), "16UC1", 12 * NS + 345)
    raw = make_typestore().serialize_cdr(msg, "sensor_msgs/msg/Image")
    assert header_stamp_ns(raw) == 12 * NS + 345
    with pytest.raises(ValueError, match=">= 12 bytes"):
        header_stamp_ns(b"\x00\x01")


def test_task_message_type() -> None:
    assert TaskMessage("x", 1).text == "x"


@pytest.mark.parametrize(
    ("frame_id", "shape", "encoding"),
    [
        ("cam", (3, 5, 3), "rgb8"),
        ("camera_color_optical_frame", (4, 7), "16UC1"),
        ("", (1, 1), "mono8"),
    ],
)
def test_fast_image_matches_the_typestore(
    frame_id: str, shape: tuple[int, ...], encoding: str
) -> None:
    from replay_bags import image_msg

    from spatialbot_ros.pipeline.ros_types import make_typestore
    from spatialbot_ros.replay.reader import fast_image

    dtype = np.uint16 if encoding == "16UC1" else np.uint8
    array = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    msg = image_msg(array, encoding, 7 * NS + 9)
    msg.header.frame_id = frame_id
    store = make_typestore()
    raw = store.serialize_cdr(msg, "sensor_msgs/msg/Image")
    ref = store.deserialize_cdr(raw, "sensor_msgs/msg/Image")
    fast = fast_image(raw)
    assert fast is not None
    for field in ("height", "width", "encoding", "is_bigendian", "step"):
        assert getattr(fast, field) == getattr(ref, field)
    assert fast.header.frame_id == frame_id
    assert (fast.header.stamp.sec, fast.header.stamp.nanosec) == (7, 9)
    np.testing.assert_array_equal(fast.data, ref.data)
    assert fast_image(raw[:-1]) is None  # truncated data: fall back to the typestore
    big_endian = bytes([0, 0]) + bytes(raw[2:])
    assert fast_image(big_endian) is None


def _as_humble_bag(bag: Path) -> None:
    """Make a sqlite3 bag look like Humble wrote it: no stored definitions, no ros_distro."""
    import sqlite3

    db = sqlite3.connect(data_file(bag))
    with db:
        db.execute("DELETE FROM message_definitions")
    db.close()
    meta = bag / "metadata.yaml"
    lines = [ln for ln in meta.read_text().splitlines() if "ros_distro" not in ln]
    meta.write_text("\n".join(lines) + "\n")


def test_humble_sqlite3_bag_without_definitions_reads_with_humble_types(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=3, storage="sqlite3"))
    _as_humble_bag(bag)
    with BagFrameReader(bag) as reader:
        assert reader.distro == "humble"
        frames = [item for item in reader if isinstance(item, RGBDFrame)]
    assert len(frames) == 3
    np.testing.assert_array_equal(frames[2].depth_mm, scene(2)[1])
