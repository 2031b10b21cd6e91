"""RealSense capture with pyrealsense2: profiles, depth filters, alignment, playback, reconnection.

The camera node (ros/camera_node.py) only publishes what this driver returns. pyrealsense2 is
imported lazily (or injected, which is how the tests run it without a camera). Depth comes out
aligned to colour, in millimetres, as an RGBDFrame with the colour intrinsics — what
realsense-ros publishes on aligned_depth_to_color with align_depth.enable:=true.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spatialbot_ros.core.depth_codec import depth_to_mm
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "CameraDriverConfig",
    "CameraDriverError",
    "DriverEvent",
    "RealSenseDriver",
    "StreamProfile",
    "camera_static_transforms",
    "parse_profile",
]

# Optical frame (x right, y down, z forward) in the ROS body frame (x forward, y left, z up).
OPTICAL_RPY = (-math.pi / 2.0, 0.0, -math.pi / 2.0)


class CameraDriverError(SpatialBotRosError):
    """The camera cannot be configured, started or read."""


@dataclass(frozen=True)
class StreamProfile:
    """Width x height in pixels at fps frames per second."""

    width: int
    height: int
    fps: int

    def __str__(self) -> str:
        """realsense-ros notation, e.g. 640x480x30."""
        return f"{self.width}x{self.height}x{self.fps}"


_PROFILE_RE = re.compile(r"^\s*(\d+)\s*[x,]\s*(\d+)\s*[x,]\s*(\d+)\s*$")


def parse_profile(text: str) -> StreamProfile:
    """'640x480x30' or '640,480,30' (both realsense-ros spellings) to a StreamProfile."""
    match = _PROFILE_RE.match(str(text))
    if match is None:
        raise CameraDriverError(f"profile must be WIDTHxHEIGHTxFPS like 640x480x30, got {text!r}")
    width, height, fps = (int(g) for g in match.groups())
    if min(width, height, fps) <= 0:
        raise CameraDriverError(f"profile values must be > 0, got {text!r}")
    return StreamProfile(width, height, fps)


@dataclass(frozen=True)
class CameraDriverConfig:
    """Camera parameters (names follow realsense-ros where it has one; see config/camera.yaml)."""

    serial_no: str = ""
    color_profile: str = "640x480x30"
    depth_profile: str = "640x480x30"
    decimation_filter: bool = False
    decimation_magnitude: int = 2
    spatial_filter: bool = False
    temporal_filter: bool = False
    hole_filling_filter: bool = False
    rosbag_filename: str = ""
    playback_realtime: bool = True
    frame_timeout_s: float = 5.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 8.0

    def __post_init__(self) -> None:
        """Parse the profiles and check the numbers early, with the offending value."""
        parse_profile(self.color_profile)
        parse_profile(self.depth_profile)
        if self.decimation_magnitude not in range(2, 9):
            raise CameraDriverError(
                f"decimation_magnitude must be 2..8, got {self.decimation_magnitude}"
            )
        if self.frame_timeout_s <= 0:
            raise CameraDriverError(f"frame_timeout_s must be > 0, got {self.frame_timeout_s}")
        if not 0 < self.reconnect_initial_s <= self.reconnect_max_s:
            raise CameraDriverError(
                "expected 0 < reconnect_initial_s <= reconnect_max_s, got "
                f"{self.reconnect_initial_s} and {self.reconnect_max_s}"
            )
        if self.rosbag_filename and Path(self.rosbag_filename).suffix not in (".bag", ".db3"):
            raise CameraDriverError(
                f"rosbag_filename must be a RealSense .bag or .db3 recording, "
                f"got {self.rosbag_filename!r}"
            )

    @property
    def playback(self) -> bool:
        """True when frames come from a recording instead of a device."""
        return bool(self.rosbag_filename)


@dataclass(frozen=True)
class DriverEvent:
    """A change the node reports: connected, disconnected, retry scheduled, ..."""

    level: Literal["info", "warn", "error"]
    code: str
    message: str


class RealSenseDriver:
    """Colour + aligned depth frames from one RealSense (or a recording), self-healing."""

    def __init__(
        self,
        config: CameraDriverConfig,
        rs_module: Any = None,
        on_event: Callable[[DriverEvent], None] | None = None,
        stamp_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing touches the device here; poll() connects on first use."""
        self.config = config
        self._rs = rs_module
        self.on_event = on_event
        self.stamp_ns = stamp_ns
        self.monotonic = monotonic
        self._pipeline: Any = None
        self._align: Any = None
        self._filters: list[Any] = []
        self._depth_scale_m = 0.001
        self._intrinsics: CameraIntrinsics | None = None
        self.extrinsics_depth_to_color: tuple[np.ndarray, np.ndarray] | None = None
        self._backoff_s = config.reconnect_initial_s
        self._next_attempt = 0.0
        self.connected = False
        self._ever_connected = False
        self.frames_read = 0
        self.reconnects = 0

    # -- set-up ---------------------------------------------------------------------------

    @property
    def rs(self) -> Any:
        """The pyrealsense2 module (imported on first use)."""
        if self._rs is None:
            try:
                import pyrealsense2 as rs
            except ImportError as exc:
                raise CameraDriverError(
                    "pyrealsense2 is not installed: pip install pyrealsense2 (extra 'camera'), "
                    "or use realsense2_camera (launch argument camera:=realsense2_camera)"
                ) from exc
            self._rs = rs
        return self._rs

    def _emit(self, level: Literal["info", "warn", "error"], code: str, message: str) -> None:
        if self.on_event is not None:
            self.on_event(DriverEvent(level, code, message))

    def build_filters(self) -> list[Any]:
        """Depth post-processing blocks in Intel's recommended order.

        decimation -> depth-to-disparity -> spatial -> temporal -> disparity-to-depth ->
        hole filling. Spatial and temporal smoothing work best in disparity space. Decimation
        lowers the depth resolution; alignment runs afterwards and maps the result back to
        the colour resolution, so the published depth stays pixel-aligned with colour.
        """
        rs, c = self.rs, self.config
        blocks: list[Any] = []
        if c.decimation_filter:
            decimation = rs.decimation_filter()
            decimation.set_option(rs.option.filter_magnitude, float(c.decimation_magnitude))
            blocks.append(decimation)
        smoothing = c.spatial_filter or c.temporal_filter
        if smoothing:
            blocks.append(rs.disparity_transform(True))
        if c.spatial_filter:
            blocks.append(rs.spatial_filter())
        if c.temporal_filter:
            blocks.append(rs.temporal_filter())
        if smoothing:
            blocks.append(rs.disparity_transform(False))
        if c.hole_filling_filter:
            blocks.append(rs.hole_filling_filter())
        return blocks

    def connected_serials(self) -> list[str]:
        """Serial numbers of the RealSense devices connected now (a fast USB query)."""
        rs = self.rs
        return [
            str(dev.get_info(rs.camera_info.serial_number)) for dev in rs.context().query_devices()
        ]

    def _check_device_present(self) -> None:
        # pipeline.start() without a device blocks ~15 s holding the GIL (measured with
        # pyrealsense2 2.59), freezing the node, Ctrl-C included; a device query takes ms.
        serials = self.connected_serials()
        if not serials:
            raise CameraDriverError("no RealSense device connected")
        if self.config.serial_no and self.config.serial_no not in serials:
            raise CameraDriverError(
                f"expected the device with serial {self.config.serial_no}, connected: {serials}"
            )

    def start(self) -> None:
        """Open the device (or recording), start colour + depth, prepare align and filters."""
        rs, c = self.rs, self.config
        pipeline = rs.pipeline()
        cfg = rs.config()
        if c.playback:
            if not Path(c.rosbag_filename).is_file():
                raise CameraDriverError(f"recording {c.rosbag_filename!r} does not exist")
            cfg.enable_device_from_file(c.rosbag_filename, False)
            # A recording has fixed profiles: ask for the stream types only.
            cfg.enable_stream(rs.stream.color)
            cfg.enable_stream(rs.stream.depth)
        else:
            self._check_device_present()
            if c.serial_no:
                cfg.enable_device(c.serial_no)
            color, depth = parse_profile(c.color_profile), parse_profile(c.depth_profile)
            cfg.enable_stream(rs.stream.color, color.width, color.height, rs.format.rgb8, color.fps)
            cfg.enable_stream(rs.stream.depth, depth.width, depth.height, rs.format.z16, depth.fps)
        try:
            profile = pipeline.start(cfg)
        except RuntimeError as exc:
            where = c.rosbag_filename or (f"serial {c.serial_no}" if c.serial_no else "any device")
            raise CameraDriverError(f"cannot start RealSense ({where}): {exc}") from exc
        device = profile.get_device()
        if c.playback:
            device.as_playback().set_real_time(c.playback_realtime)
        scale = float(device.first_depth_sensor().get_depth_scale())
        # z16 at the default scale is mm already; float32 noise (0.0010000000475) must not
        # trigger a needless float conversion of every frame.
        self._depth_scale_m = 0.001 if math.isclose(scale, 0.001, rel_tol=1e-5) else scale
        color_profile = profile.get_stream(rs.stream.color).as_video_stream_profile()
        depth_profile = profile.get_stream(rs.stream.depth).as_video_stream_profile()
        self._intrinsics = CameraIntrinsics.from_realsense(color_profile.get_intrinsics())
        ext = depth_profile.get_extrinsics_to(color_profile)
        self.extrinsics_depth_to_color = (
            np.asarray(ext.rotation, dtype=np.float64).reshape(3, 3).T,  # column-major in rs
            np.asarray(ext.translation, dtype=np.float64).reshape(3),
        )
        self._align = rs.align(rs.stream.color)
        self._filters = self.build_filters()
        self._pipeline = pipeline

    def stop(self) -> None:
        """Stop streaming (errors from an unplugged device are ignored)."""
        pipeline, self._pipeline = self._pipeline, None
        self.connected = False
        if pipeline is not None:
            with contextlib.suppress(RuntimeError):  # already gone with an unplugged device
                pipeline.stop()

    @property
    def intrinsics(self) -> CameraIntrinsics | None:
        """Colour intrinsics (also those of the aligned depth) once started."""
        return self._intrinsics

    # -- frames ---------------------------------------------------------------------------

    def read(self) -> RGBDFrame:
        """Wait for one frameset, filter, align and convert; raises on timeout or unplug."""
        if self._pipeline is None or self._intrinsics is None:
            raise CameraDriverError("camera is not started")
        timeout_ms = int(self.config.frame_timeout_s * 1000)
        frames = self._pipeline.wait_for_frames(timeout_ms)
        for block in self._filters:
            frames = block.process(frames).as_frameset()
        aligned = self._align.process(frames)
        color_frame = aligned.get_color_frame()
        depth_frame = aligned.get_depth_frame()
        if not color_frame or not depth_frame:
            raise CameraDriverError("frameset without colour or depth after alignment")
        rgb = np.asanyarray(color_frame.get_data())
        raw = np.asanyarray(depth_frame.get_data())
        if rgb.ndim != 3 or raw.shape != rgb.shape[:2]:
            raise CameraDriverError(
                f"expected colour HxWx3 and aligned depth HxW of the same size, got "
                f"{rgb.shape} and {raw.shape}"
            )
        depth_mm = depth_to_mm(raw, self._depth_scale_m)
        self.frames_read += 1
        return RGBDFrame(rgb, depth_mm, self._intrinsics, stamp_ns=self.stamp_ns())

    def poll(self) -> RGBDFrame | None:
        """One step of the capture loop: (re)connect when due, else read a frame.

        Never raises for device problems: they become events, and the next attempt waits
        with exponential back-off (reconnect_initial_s doubling up to reconnect_max_s).
        """
        now = self.monotonic()
        if not self.connected:
            if now < self._next_attempt:
                return None
            try:
                self.start()
            except (CameraDriverError, RuntimeError) as exc:
                self._schedule_retry(now, f"camera unavailable: {exc}")
                return None
            self.connected = True
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._backoff_s = self.config.reconnect_initial_s
            source = self.config.rosbag_filename or self.config.serial_no or "first device"
            self._emit("info", "connected", f"streaming from {source}")
        try:
            return self.read()
        except (CameraDriverError, RuntimeError) as exc:
            self.stop()
            if self.config.playback and "didn't arrive" in str(exc):
                self._schedule_retry(now, "recording finished or stalled; restarting it")
            else:
                self._schedule_retry(now, f"camera lost: {exc}")
            return None

    def _schedule_retry(self, now: float, message: str) -> None:
        delay = self._backoff_s
        self._next_attempt = now + delay
        self._backoff_s = min(self._backoff_s * 2.0, self.config.reconnect_max_s)
        self._emit("error", "disconnected", f"{message}; retrying in {delay:.1f} s")

    def run(
        self,
        stop: threading.Event,
        on_frame: Callable[[RGBDFrame], None],
        idle_sleep_s: float = 0.05,
    ) -> None:
        """Capture loop for a thread: poll until `stop` is set, handing frames to on_frame."""
        try:
            while not stop.is_set():
                frame = self.poll()
                if frame is not None:
                    on_frame(frame)
                else:
                    stop.wait(idle_sleep_s)
        finally:
            self.stop()


def camera_static_transforms(
    camera_name: str = "camera",
    extrinsics_depth_to_color: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[RigidTransform]:
    """The static TF tree realsense-ros publishes, rooted at <camera_name>_link.

    <name>_link -> <name>_depth_frame -> <name>_depth_optical_frame and
    <name>_link -> <name>_color_frame -> <name>_color_optical_frame. <name>_link coincides
    with the depth frame; the colour frame sits at the depth->colour extrinsics (R, t with
    p_color = R p_depth + t in optical axes), expressed in the body axes of the link.
    """
    link = f"{camera_name}_link"
    T_body_optical = RigidTransform.from_xyz_rpy((0, 0, 0), OPTICAL_RPY, "body", "optical")
    m_color = np.eye(4)
    if extrinsics_depth_to_color is not None:
        rotation, translation = extrinsics_depth_to_color
        T_color_depth = np.eye(4)
        T_color_depth[:3, :3] = rotation
        T_color_depth[:3, 3] = translation
        T_depth_color = np.linalg.inv(T_color_depth)  # colour-optical in depth-optical axes
        m_color = T_body_optical.matrix @ T_depth_color @ T_body_optical.inverse().matrix
    depth_frame = f"{camera_name}_depth_frame"
    color_frame = f"{camera_name}_color_frame"
    return [
        RigidTransform(np.eye(4), link, depth_frame),
        RigidTransform(T_body_optical.matrix, depth_frame, f"{camera_name}_depth_optical_frame"),
        RigidTransform(m_color, link, color_frame),
        RigidTransform(T_body_optical.matrix, color_frame, f"{camera_name}_color_optical_frame"),
    ]
