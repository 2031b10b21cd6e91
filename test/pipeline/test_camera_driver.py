"""RealSense driver logic against a fake pyrealsense2 (no camera): filters, alignment, recovery."""

from __future__ import annotations

import math
import re
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.camera_driver import (
    CameraDriverConfig,
    CameraDriverError,
    RealSenseDriver,
    StreamProfile,
    camera_static_transforms,
    parse_profile,
)

W, H = 32, 24


class FakeFrame:
    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def get_data(self) -> np.ndarray:
        return self.data

    def __bool__(self) -> bool:
        return True


class FakeFrameset:
    def __init__(self, color: np.ndarray, depth: np.ndarray, history: list[str]) -> None:
        self.color, self.depth, self.history = color, depth, history

    def as_frameset(self) -> FakeFrameset:
        return self

    def get_color_frame(self) -> FakeFrame:
        return FakeFrame(self.color)

    def get_depth_frame(self) -> FakeFrame:
        return FakeFrame(self.depth)


class FakeBlock:
    """A processing block that records its name; decimation halves the depth resolution."""

    def __init__(self, name: str, rs: FakeRS) -> None:
        self.name, self.rs, self.options = name, rs, {}

    def set_option(self, option: str, value: float) -> None:
        self.options[option] = value

    def process(self, frames: FakeFrameset) -> FakeFrameset:
        frames.history.append(self.name)
        depth = frames.depth
        if self.name == "decimation":
            k = int(self.options.get("filter_magnitude", 2))
            depth = depth[::k, ::k]
        if self.name == "align":
            # Map depth back onto the colour grid (nearest), as rs.align does.
            ys = np.arange(H) * depth.shape[0] // H
            xs = np.arange(W) * depth.shape[1] // W
            depth = depth[np.ix_(ys, xs)]
        return FakeFrameset(frames.color, depth, frames.history)


class FakePipeline:
    def __init__(self, rs: FakeRS) -> None:
        self.rs = rs

    def start(self, cfg: Any) -> Any:
        self.rs.calls.append(("start", cfg.calls))
        if self.rs.unplugged:
            raise RuntimeError("No device connected")
        intr = SimpleNamespace(
            width=W,
            height=H,
            fx=30.0,
            fy=30.0,
            ppx=15.5,
            ppy=11.5,
            model="distortion.brown_conrady",
            coeffs=[0.0] * 5,
        )
        ext = SimpleNamespace(rotation=[1, 0, 0, 0, 1, 0, 0, 0, 1], translation=[0.015, 0, 0])
        vsp = SimpleNamespace(get_intrinsics=lambda: intr, get_extrinsics_to=lambda other: ext)
        stream = SimpleNamespace(as_video_stream_profile=lambda: vsp)
        playback = SimpleNamespace(set_real_time=lambda flag: self.rs.calls.append(("rt", flag)))
        sensor = SimpleNamespace(get_depth_scale=lambda: self.rs.depth_scale)
        device = SimpleNamespace(first_depth_sensor=lambda: sensor, as_playback=lambda: playback)
        return SimpleNamespace(get_device=lambda: device, get_stream=lambda s: stream)

    def wait_for_frames(self, timeout_ms: int) -> FakeFrameset:
        self.rs.calls.append(("wait", timeout_ms))
        if self.rs.unplugged:
            raise RuntimeError(f"Frame didn't arrive within {timeout_ms}")
        self.rs.n += 1
        color = np.full((H, W, 3), self.rs.n % 256, np.uint8)
        depth = np.full((H, W), self.rs.raw_depth, np.uint16)
        return FakeFrameset(color, depth, self.rs.history)

    def stop(self) -> None:
        self.rs.calls.append(("stop",))
        if self.rs.unplugged:
            raise RuntimeError("device disconnected")


class FakeConfig:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def enable_device(self, serial: str) -> None:
        self.calls.append(("device", serial))

    def enable_device_from_file(self, path: str, repeat: bool) -> None:
        self.calls.append(("file", path, repeat))

    def enable_stream(self, *args: Any) -> None:
        self.calls.append(("stream", *args))


class FakeRS:
    """The parts of pyrealsense2 the driver uses."""

    stream = SimpleNamespace(color="color", depth="depth")
    camera_info = SimpleNamespace(serial_number="serial_number")
    format = SimpleNamespace(rgb8="rgb8", z16="z16")
    option = SimpleNamespace(filter_magnitude="filter_magnitude")

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.history: list[str] = []
        self.unplugged = False
        self.depth_scale = 0.0010000000474974513
        self.raw_depth = 750
        self.n = 0
        self.serials = ["123", "456"]

    def context(self) -> Any:
        serials = [] if self.unplugged else self.serials
        devices = [SimpleNamespace(get_info=lambda key, s=s: s) for s in serials]
        return SimpleNamespace(query_devices=lambda: devices)

    def pipeline(self) -> FakePipeline:
        return FakePipeline(self)

    def config(self) -> FakeConfig:
        return FakeConfig()

    def align(self, stream: str) -> FakeBlock:
        return FakeBlock("align", self)

    def decimation_filter(self) -> FakeBlock:
        return FakeBlock("decimation", self)

    def spatial_filter(self) -> FakeBlock:
        return FakeBlock("spatial", self)

    def temporal_filter(self) -> FakeBlock:
        return FakeBlock("temporal", self)

    def hole_filling_filter(self) -> FakeBlock:
        return FakeBlock("hole_filling", self)

    def disparity_transform(self, to_disparity: bool) -> FakeBlock:
        return FakeBlock("to_disparity" if to_disparity else "to_depth", self)


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make_driver(**config: Any):
    rs, clock, events = FakeRS(), ManualClock(), []
    driver = RealSenseDriver(
        CameraDriverConfig(**config),
        rs_module=rs,
        on_event=events.append,
        stamp_ns=lambda: 123,
        monotonic=clock,
    )
    return driver, rs, clock, events


@pytest.mark.parametrize(
    ("text", "expected"),
    [("640x480x30", StreamProfile(640, 480, 30)), ("1280,720,15", StreamProfile(1280, 720, 15))],
)
def test_parse_profile_accepts_both_realsense_spellings(text, expected):
    assert parse_profile(text) == expected
    assert str(expected) in ("640x480x30", "1280x720x15")


@pytest.mark.parametrize("text", ["640x480", "axbxc", "0x480x30", ""])
def test_parse_profile_rejects(text):
    with pytest.raises(CameraDriverError, match="profile"):
        parse_profile(text)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"decimation_magnitude": 1}, "decimation_magnitude"),
        ({"frame_timeout_s": 0}, "frame_timeout_s"),
        ({"reconnect_initial_s": 5, "reconnect_max_s": 1}, "reconnect"),
        ({"rosbag_filename": "x.mp4"}, ".bag or .db3"),
        ({"color_profile": "big"}, "profile"),
    ],
)
def test_config_validation(config, match):
    with pytest.raises(CameraDriverError, match=match):
        CameraDriverConfig(**config)


def test_streams_aligned_rgb_and_depth_in_mm():
    driver, rs, _, events = make_driver(serial_no="123", color_profile="32x24x30")
    frame = driver.poll()
    assert frame is not None
    assert frame.rgb.shape == (H, W, 3)
    assert frame.depth_mm.shape == (H, W)
    assert frame.depth_mm.dtype == np.uint16
    assert int(frame.depth_mm[0, 0]) == 750
    assert frame.intrinsics.fx == 30.0
    assert frame.stamp_ns == 123
    start_cfg = next(c for c in rs.calls if c[0] == "start")[1]
    assert ("device", "123") in start_cfg
    assert ("stream", "color", 32, 24, "rgb8", 30) in start_cfg
    assert ("stream", "depth", 640, 480, "z16", 30) in start_cfg
    assert rs.history == ["align"]
    assert events[0].code == "connected"


@pytest.mark.parametrize(
    ("serial", "unplugged", "match"),
    [
        ("", True, "no RealSense device connected"),
        ("999", False, r"serial 999, connected: \['123', '456'\]"),
    ],
)
def test_missing_device_is_found_by_a_query_not_a_blocking_start(serial, unplugged, match):
    driver, rs, _, events = make_driver(serial_no=serial)
    rs.unplugged = unplugged
    assert driver.poll() is None
    assert re.search(match, events[-1].message)
    assert not any(c[0] == "start" for c in rs.calls)  # pipeline.start() was never tried


def test_non_mm_depth_scale_is_converted():
    driver, rs, _, _ = make_driver()
    rs.depth_scale = 0.0001  # D405-style 0.1 mm units
    frame = driver.poll()
    assert int(frame.depth_mm[0, 0]) == 75


def test_filters_run_in_the_recommended_order_before_alignment():
    driver, rs, _, _ = make_driver(
        decimation_filter=True,
        decimation_magnitude=2,
        spatial_filter=True,
        temporal_filter=True,
        hole_filling_filter=True,
    )
    frame = driver.poll()
    assert rs.history == [
        "decimation",
        "to_disparity",
        "spatial",
        "temporal",
        "to_depth",
        "hole_filling",
        "align",
    ]
    # Decimation halved the depth, alignment brought it back to the colour grid.
    assert frame.depth_mm.shape == (H, W)


def test_hole_filling_alone_needs_no_disparity_transform():
    driver, rs, _, _ = make_driver(hole_filling_filter=True)
    driver.poll()
    assert rs.history == ["hole_filling", "align"]


def test_playback_of_a_recording(tmp_path):
    bag = tmp_path / "rec.db3"
    bag.write_bytes(b"")
    driver, rs, _, _ = make_driver(rosbag_filename=str(bag), playback_realtime=False)
    assert driver.poll() is not None
    start_cfg = next(c for c in rs.calls if c[0] == "start")[1]
    assert ("file", str(bag), False) in start_cfg
    assert ("stream", "color") in start_cfg
    assert ("rt", False) in rs.calls


def test_missing_recording_is_reported_not_raised(tmp_path):
    driver, _, _, events = make_driver(rosbag_filename=str(tmp_path / "missing.bag"))
    assert driver.poll() is None
    assert events[-1].code == "disconnected"
    assert "does not exist" in events[-1].message


def test_unplug_reports_backs_off_and_resumes():
    driver, rs, clock, events = make_driver(reconnect_initial_s=0.5, reconnect_max_s=2.0)
    assert driver.poll() is not None
    rs.unplugged = True
    assert driver.poll() is None  # frame timeout -> stop, retry in 0.5 s
    assert not driver.connected
    assert "camera lost" in events[-1].message
    assert "0.5 s" in events[-1].message
    starts = sum(1 for c in rs.calls if c[0] == "start")
    clock.t = 0.2
    assert driver.poll() is None  # too early: no attempt
    assert sum(1 for c in rs.calls if c[0] == "start") == starts
    delays = []
    for t in (0.6, 1.7, 3.8, 6.0):  # attempts fail while unplugged; back-off doubles, capped
        clock.t = t
        assert driver.poll() is None
        delays.append(events[-1].message.rsplit("retrying in ", 1)[1])
    assert delays == ["1.0 s", "2.0 s", "2.0 s", "2.0 s"]
    rs.unplugged = False
    clock.t = 9.0
    frame = driver.poll()
    assert frame is not None
    assert driver.connected
    assert driver.reconnects == 1
    assert events[-1].code == "connected"
    # Back-off was reset by the successful reconnection.
    rs.unplugged = True
    driver.poll()
    assert "retrying in 0.5 s" in events[-1].message


def test_missing_pyrealsense2_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pyrealsense2":
            raise ImportError("No module named 'pyrealsense2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    driver = RealSenseDriver(CameraDriverConfig())
    with pytest.raises(CameraDriverError, match="pip install pyrealsense2"):
        _ = driver.rs


def test_run_loop_stops_on_event():
    driver, rs, _, _ = make_driver()
    stop = threading.Event()
    frames = []

    def on_frame(frame):
        frames.append(frame)
        if len(frames) == 3:
            stop.set()

    driver.run(stop, on_frame)
    assert len(frames) == 3
    assert rs.calls[-1] == ("stop",)


def test_static_transforms_match_realsense_ros_tree():
    tfs = camera_static_transforms("camera", (np.eye(3), np.array([0.015, 0.0, 0.0])))
    names = [(t.parent_frame, t.child_frame) for t in tfs]
    assert names == [
        ("camera_link", "camera_depth_frame"),
        ("camera_depth_frame", "camera_depth_optical_frame"),
        ("camera_link", "camera_color_frame"),
        ("camera_color_frame", "camera_color_optical_frame"),
    ]
    T_link_cam = tfs[2] @ tfs[3]
    # Optical z (forward) is the body x axis; optical x (right) is body -y.
    np.testing.assert_allclose(T_link_cam.rotation @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(T_link_cam.rotation @ [1, 0, 0], [0, -1, 0], atol=1e-12)
    # p_color = p_depth + (0.015, 0, 0) in optical axes: the colour origin is at optical x =
    # -0.015 of the depth origin, i.e. 0.015 m to the left (body +y).
    np.testing.assert_allclose(tfs[2].translation_m, [0.0, 0.015, 0.0], atol=1e-12)
    assert isinstance(tfs[0], RigidTransform)
    assert math.isclose(np.linalg.det(T_link_cam.rotation), 1.0)
