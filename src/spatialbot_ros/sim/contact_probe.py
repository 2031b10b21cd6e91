"""Contact from rendered depth, as SpatialBot judges it: gripper and object depths agree.

During the approach the camera renders depth with the gripper in view. Each finger pad is
projected into the image from the arm's joint angles (forward kinematics, as the real robot
knows them); where a pad overlaps the target's box and is visible, the depth of the pad's
pixels is compared with the object's depth at the same pixels in the reference frame (taken
before the arm moved in). Agreement within `tolerance_mm` is contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.camera_model import project_points
from spatialbot_ros.core.frame import RGBDFrame

__all__ = ["DepthContactProbe", "PadReading"]


@dataclass(frozen=True)
class PadReading:
    """One finger pad in one rendered frame."""

    u: float
    v: float
    pad_depth_mm: float  # from kinematics
    seen_depth_mm: float  # rendered depth at the pad's pixel (min over a small window)
    object_depth_mm: float  # reference frame depth there (0: no object behind the pad)
    in_box: bool
    visible: bool


class DepthContactProbe:
    """Callable contact check for GraspExecutor: (world, object, progress) -> (gap mm, contact)."""

    def __init__(
        self,
        camera: Any,
        reference: RGBDFrame,
        box_px: Sequence[float],
        kinematics: Any,
        *,
        tolerance_mm: float = 12.0,
        window_px: int = 3,
    ) -> None:
        """Hold the camera, the frame without the arm and the target's pixel box."""
        from spatialbot_ros.core.kinematics import GripperGeometry

        self.camera = camera
        self.reference = reference
        self.box_px = tuple(float(v) for v in box_px)
        self.kinematics = kinematics
        self.gripper = GripperGeometry()
        self.tolerance_mm = tolerance_mm
        self.window_px = window_px
        self.T_camera_base = camera.camera.T_base_camera.inverse().matrix
        self.readings: list[list[PadReading]] = []

    def pads_camera_m(self, world: Any) -> npt.NDArray[np.float64]:
        """Pad centres (2, 3) in the camera frame from the arm's measured joints and opening."""
        from spatialbot_ros.sim.world import GRIPPER_CLOSED_POS

        T_base_tool0 = self.kinematics.fk_matrix(world.arm_q())
        travel = float(world.data.qpos[world.finger_qpos])
        opening = max(0.0, 2.0 * (GRIPPER_CLOSED_POS - travel))
        pads_tool0 = self.gripper.fingertip_offsets_tool0_m(opening)
        pads_base = (T_base_tool0[:3, :3] @ pads_tool0.T).T + T_base_tool0[:3, 3]
        pads_cam = (self.T_camera_base[:3, :3] @ pads_base.T).T + self.T_camera_base[:3, 3]
        return np.asarray(pads_cam, dtype=np.float64)

    def __call__(self, world: Any, object_name: str, progress: float) -> tuple[float | None, bool]:
        """Render depth now and compare pad and object depths where they overlap."""
        depth_now = self.camera.render_depth_mm()
        pads = self.pads_camera_m(world)
        uv = project_points(self.camera.intrinsics, pads)
        h, w = depth_now.shape
        x1, y1, x2, y2 = self.box_px
        r = self.window_px
        readings: list[PadReading] = []
        gaps: list[float] = []
        for (u, v), pad in zip(uv, pads, strict=True):
            if not (np.isfinite(u) and np.isfinite(v)):
                continue
            iu, iv = round(float(u)), round(float(v))
            if not (0 <= iu < w and 0 <= iv < h):
                continue
            win_now = depth_now[max(0, iv - r) : iv + r + 1, max(0, iu - r) : iu + r + 1]
            win_ref = self.reference.depth_mm[
                max(0, iv - r) : iv + r + 1, max(0, iu - r) : iu + r + 1
            ]
            seen = float(win_now[win_now > 0].min()) if np.any(win_now > 0) else 0.0
            obj = float(np.median(win_ref[win_ref > 0])) if np.any(win_ref > 0) else 0.0
            pad_mm = float(pad[2]) * 1000.0
            in_box = x1 <= u <= x2 and y1 <= v <= y2
            # Hidden behind something nearer (e.g. the cup itself): no evidence either way.
            visible = seen > 0 and seen >= pad_mm - 25.0
            readings.append(PadReading(float(u), float(v), pad_mm, seen, obj, in_box, visible))
            if in_box and visible and obj > 0:
                gaps.append(abs(seen - obj))
        self.readings.append(readings)
        if not gaps:
            return None, False
        gap = min(gaps)
        return gap, gap <= self.tolerance_mm
