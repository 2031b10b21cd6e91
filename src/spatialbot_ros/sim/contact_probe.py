"""Contact judged on rendered depth during a simulated approach, with core.contact's check.

Each check renders the scene camera with the gripper in view and calls
`core.contact.check_contact` with the pad poses from forward kinematics of the measured
joints (as the real robot knows them) and the target's pixel box from grounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spatialbot_ros.core.transforms import RigidTransform

__all__ = ["DepthContactProbe"]


class DepthContactProbe:
    """Callable contact check for GraspExecutor: (world, object, progress) -> (gap mm, contact).

    Readings whose state is "occluded" or "no_data" carry no evidence: they report
    (None, None) and are kept in `readings` for the record.
    """

    def __init__(
        self,
        camera: Any,
        box_px: Sequence[float],
        kinematics: Any,
        *,
        thresholds: Any = None,
    ) -> None:
        """Hold the camera, the target's pixel box and the arm's kinematics."""
        from spatialbot_ros.core.contact import ContactThresholds
        from spatialbot_ros.core.kinematics import GripperGeometry

        self.camera = camera
        x1, y1, x2, y2 = (float(v) for v in box_px)
        self.box_px = (x1, y1, x2, y2)
        self.kinematics = kinematics
        self.gripper = GripperGeometry()
        self.thresholds = thresholds or ContactThresholds()
        self.T_camera_base = camera.camera.T_base_camera.inverse()
        self.readings: list[dict[str, Any]] = []

    @property
    def tolerance_mm(self) -> float:
        """Gap at or below which the check says contact."""
        return float(self.thresholds.contact_mm)

    def opening_m(self, world: Any) -> float:
        """Distance between the pads from the finger joint (0 travel = fully open)."""
        from spatialbot_ros.sim.world import GRIPPER_CLOSED_POS

        travel = float(world.data.qpos[world.finger_qpos])
        return max(0.0, 2.0 * (GRIPPER_CLOSED_POS - travel))

    def __call__(
        self, world: Any, object_name: str, progress: float
    ) -> tuple[float | None, bool | None]:
        """Render depth now and run the contact check for both fingertips."""
        from spatialbot_ros.core.contact import check_contact

        depth_mm = self.camera.render_depth_mm()
        T_base_tool0 = RigidTransform(
            self.kinematics.fk_matrix(world.arm_q()), "base_link", "tool0"
        )
        reading = check_contact(
            depth_mm,
            self.camera.intrinsics,
            self.T_camera_base @ T_base_tool0,
            self.opening_m(world),
            self.box_px,
            gripper=self.gripper,
            thresholds=self.thresholds,
        )
        record = reading.as_dict()
        record["progress"] = progress
        self.readings.append(record)
        if reading.state not in ("contact", "near", "far"):
            return None, None
        return reading.gap_mm, reading.state == "contact"
