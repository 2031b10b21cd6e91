"""The default grasp planner the nodes, replay, demo and evaluation use (UR5, analytic IK)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["HOME_Q", "make_grasp_planner"]

# A UR5 pose looking down at the table in front of the base: the IK seed and sim start.
HOME_Q = (0.0, -1.75, 1.75, -1.57, -1.57, 0.0)


def make_grasp_planner(
    q_current: Sequence[float] | None = None,
    ur_type: str = "ur5",
    config: Any = None,
    safety: Any = None,
) -> Callable[[npt.NDArray[np.float64]], Any]:
    """points_base_m (N, 3) -> GraspPlan | GraspRefusal, with core.grasp and URKinematics."""
    from spatialbot_ros.core.grasp import GraspConfig, plan_grasp
    from spatialbot_ros.core.kinematics import URKinematics

    kinematics = URKinematics(ur_type=ur_type)
    grasp_config = config if config is not None else GraspConfig()
    limits = safety
    if limits is None:
        from spatialbot_ros.core.safety import SafetyLimits

        limits = SafetyLimits()
    q0 = np.asarray(q_current if q_current is not None else HOME_Q, dtype=np.float64)

    def planner(points_base_m: npt.NDArray[np.float64]) -> Any:
        return plan_grasp(points_base_m, grasp_config, kinematics, limits, q0)

    return planner
