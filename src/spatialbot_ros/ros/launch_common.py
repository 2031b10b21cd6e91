"""What both launch files share: package paths, the robot description, backend choice."""

from __future__ import annotations

import os
from typing import Any

from ament_index_python.packages import get_package_share_directory
from launch.substitutions import Command, LaunchConfiguration, PythonExpression
from launch_ros.parameter_descriptions import ParameterValue

__all__ = [
    "PACKAGE",
    "arg",
    "backend_unless_dry_run",
    "engine_parameters",
    "robot_description",
    "share",
]

PACKAGE = "spatialbot_ros"


def share(*parts: str) -> str:
    """A path in this package's installed share folder."""
    return os.path.join(get_package_share_directory(PACKAGE), *parts)


def arg(name: str) -> LaunchConfiguration:
    """The value of launch argument `name`."""
    return LaunchConfiguration(name)


def backend_unless_dry_run(backend: Any) -> ParameterValue:
    """'dry_run' when the dry_run argument is true, else `backend` (a string or substitution)."""
    return ParameterValue(
        PythonExpression(
            ["'dry_run' if '", arg("dry_run"), "'.lower() == 'true' else '", backend, "'"]
        ),
        value_type=str,
    )


def engine_parameters() -> dict[str, Any]:
    """The SpatialBot node's engine and robot-model parameters from the launch arguments."""
    return {
        "engine": arg("engine"),
        "model_path": arg("model_path"),
        "dtype": arg("dtype"),
        "device": arg("device"),
        "trust_remote_code": ParameterValue(arg("trust_remote_code"), value_type=bool),
        "ur_type": arg("ur_type"),
    }


def robot_description(use_nominal_extrinsics: Any) -> ParameterValue:
    """The URDF from xacro with the launch arguments (the one robot model of the package)."""
    return ParameterValue(
        Command(
            [
                "xacro ",
                share("urdf", "spatialbot_ur5.urdf.xacro"),
                " ur_type:=",
                arg("ur_type"),
                " camera_mount:=",
                arg("camera_mount"),
                " camera_xyz:='",
                arg("camera_xyz"),
                "'",
                " camera_rpy:='",
                arg("camera_rpy"),
                "'",
                " use_nominal_extrinsics:=",
                use_nominal_extrinsics,
            ]
        ),
        value_type=str,
    )
