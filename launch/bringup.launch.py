"""Bring up the robot side: camera, SpatialBot node, grasp node, robot_state_publisher.

    ros2 launch spatialbot_ros bringup.launch.py engine:=spatialbot \
        model_path:=/models/SpatialBot-3B trust_remote_code:=true dry_run:=false
    ros2 launch spatialbot_ros bringup.launch.py --show-args

camera:=spatialbot runs this package's pyrealsense2 node, camera:=realsense2_camera the official
driver (same topics), camera:=none expects the topics from elsewhere. The camera pose is the
hand-eye calibration, base_link -> camera_link (eye_to_hand) or tool0 -> camera_link
(eye_in_hand), as "x y z" metres and "roll pitch yaw" radians.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spatialbot_ros.ros.launch_common import (
    PACKAGE,
    arg,
    backend_unless_dry_run,
    engine_parameters,
    robot_description,
    share,
)
from spatialbot_ros.ros.launch_signals import shutdown_on_sigterm

ARGUMENTS = {
    "camera": ("spatialbot", "camera driver: spatialbot (pyrealsense2), realsense2_camera, none"),
    "serial_no": ("", "RealSense serial number (empty: first device)"),
    "color_profile": ("640x480x30", "colour stream WIDTHxHEIGHTxFPS"),
    "depth_profile": ("640x480x30", "depth stream WIDTHxHEIGHTxFPS"),
    "engine": ("geometric", "grounding engine: geometric (no weights) or spatialbot"),
    "model_path": ("", "local SpatialBot model directory (engine spatialbot)"),
    "dtype": ("auto", "model dtype: auto, float16, bfloat16, float32"),
    "device": ("auto", "model device: auto, cpu or cuda"),
    "trust_remote_code": ("false", "allow the model directory's Python code (SpatialBot needs it)"),
    "ur_type": ("ur5", "robot: ur5 or ur5e"),
    "camera_mount": ("eye_to_hand", "eye_to_hand (fixed stand) or eye_in_hand (on the wrist)"),
    "camera_xyz": ("auto", "hand-eye translation 'x y z' in metres ('auto': URDF default)"),
    "camera_rpy": ("auto", "hand-eye rotation 'roll pitch yaw' in radians ('auto': URDF default)"),
    "dry_run": ("true", "true: plan and report grasps without moving the robot"),
    "motion_backend": ("move_group", "when dry_run is false: move_group (any distro) or moveit_py"),
    "gripper_backend": ("gripper_action", "when dry_run is false: gripper_action or dry_run"),
    "launch_grasp_node": ("true", "start the grasp node"),
    "launch_voice_node": ("false", "start the voice node (needs an ASR model)"),
    "asr_model_path": ("", "local transformers ASR model directory for the voice node"),
    "use_sim_time": ("false", "use /clock (bag replay, simulation)"),
    "log_level": ("info", "ROS log level of our nodes"),
}


def _equals(name: str, value: str) -> IfCondition:
    return IfCondition(PythonExpression(["'", arg(name), f"' == '{value}'"]))


def _as_bool(name: str) -> ParameterValue:
    return ParameterValue(arg(name), value_type=bool)


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments and the nodes."""
    use_sim_time = _as_bool("use_sim_time")
    ros_args = ["--ros-args", "--log-level", arg("log_level")]
    # A camera node publishes the frames below camera_link from its own calibration; without
    # one, the URDF's nominal D435 extrinsics stand in.
    nominal = PythonExpression(["'true' if '", arg("camera"), "' == 'none' else 'false'"])
    actions: list = [
        DeclareLaunchArgument(n, default_value=d, description=t) for n, (d, t) in ARGUMENTS.items()
    ]
    actions += [
        # kill -TERM of the launch stops the nodes like Ctrl-C (Jazzy's launch would orphan them).
        shutdown_on_sigterm(),
        Node(
            package="robot_state_publisher",
            executable="robot_state_publisher",
            parameters=[
                {"robot_description": robot_description(nominal), "use_sim_time": use_sim_time}
            ],
            output="screen",
        ),
        Node(
            package=PACKAGE,
            executable="camera_node",
            namespace="camera",
            name="camera",
            parameters=[
                share("config", "camera.yaml"),
                {
                    "serial_no": arg("serial_no"),
                    "rgb_camera.color_profile": arg("color_profile"),
                    "depth_module.depth_profile": arg("depth_profile"),
                    "use_sim_time": use_sim_time,
                },
            ],
            arguments=ros_args,
            output="screen",
            condition=_equals("camera", "spatialbot"),
        ),
        Node(
            package="realsense2_camera",
            executable="realsense2_camera_node",
            namespace="camera",
            name="camera",
            parameters=[
                {
                    "serial_no": arg("serial_no"),
                    "enable_color": True,
                    "enable_depth": True,
                    "align_depth.enable": True,
                    "rgb_camera.color_profile": arg("color_profile"),
                    "depth_module.depth_profile": arg("depth_profile"),
                    "use_sim_time": use_sim_time,
                }
            ],
            output="screen",
            condition=_equals("camera", "realsense2_camera"),
        ),
        Node(
            package=PACKAGE,
            executable="spatialbot_node",
            name="spatialbot",
            parameters=[
                share("config", "spatialbot_node.yaml"),
                {**engine_parameters(), "use_sim_time": use_sim_time},
            ],
            arguments=ros_args,
            output="screen",
        ),
        Node(
            package=PACKAGE,
            executable="grasp_node",
            name="grasp",
            parameters=[
                share("config", "grasp_node.yaml"),
                {
                    "motion_backend": backend_unless_dry_run(arg("motion_backend")),
                    "gripper_backend": backend_unless_dry_run(arg("gripper_backend")),
                    "ur_type": arg("ur_type"),
                    "use_sim_time": use_sim_time,
                },
            ],
            arguments=ros_args,
            output="screen",
            condition=IfCondition(arg("launch_grasp_node")),
        ),
        Node(
            package=PACKAGE,
            executable="voice_node",
            name="voice",
            parameters=[
                share("config", "voice_node.yaml"),
                {"model_path": arg("asr_model_path"), "use_sim_time": use_sim_time},
            ],
            arguments=ros_args,
            output="screen",
            condition=IfCondition(arg("launch_voice_node")),
        ),
    ]
    return LaunchDescription(actions)
