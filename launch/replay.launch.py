"""Replay a RealSense-topic bag through the SpatialBot and grasp nodes (dry run by default).

    ros2 launch spatialbot_ros replay.launch.py bag:=/data/my_bag task:="grasp the middle teacup"

Starts robot_state_publisher (URDF with nominal camera extrinsics and the given camera pose),
the SpatialBot node with the task as `initial_task`, the grasp node, and — once the SpatialBot
node reports its engine ready — `ros2 bag play <bag> --clock`; every node runs on the bag's
clock (use_sim_time). The task runs on the first synchronised frame; the target pose
(/spatialbot/target_pose), the JSON result (/spatialbot/result) and the grasp node's dry-run
plan (/grasp/plan) come out. sqlite3 (Humble) and mcap (Iron+) bags both play.
"""

from __future__ import annotations

from typing import Any

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    LogInfo,
    RegisterEventHandler,
    TimerAction,
)
from launch.conditions import IfCondition, UnlessCondition
from launch.event_handlers import OnProcessExit, OnProcessIO
from launch.events import Shutdown
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

READY_MARKER = b"[ready]"  # logged by the SpatialBot node once its engine is loaded

# name -> (default, description); a None default makes the argument required.
ARGUMENTS: dict[str, tuple[str | None, str]] = {
    "bag": (
        None,
        "rosbag2 directory (or file) with the realsense-ros colour/depth/camera_info topics",
    ),
    "task": ("", "task run once on the first frame, e.g. 'grasp the middle teacup'"),
    "engine": ("geometric", "grounding engine: geometric (no weights) or spatialbot"),
    "model_path": ("", "local SpatialBot model directory (engine spatialbot)"),
    "dtype": ("auto", "model dtype: auto, float16, bfloat16, float32"),
    "device": ("auto", "model device: auto, cpu, cuda"),
    "trust_remote_code": ("false", "allow the model directory's Python code (SpatialBot needs it)"),
    "dry_run": ("true", "true: grasp node plans and reports only (false needs a robot)"),
    "motion_backend": ("move_group", "when dry_run is false: move_group or moveit_py"),
    "ur_type": ("ur5", "robot: ur5 or ur5e"),
    "camera_mount": ("eye_to_hand", "eye_to_hand or eye_in_hand"),
    "camera_xyz": ("auto", "base_link -> camera_link translation 'x y z' (m) of the recording"),
    "camera_rpy": ("auto", "base_link -> camera_link rotation 'roll pitch yaw' (rad)"),
    "rate": ("1.0", "bag playback rate"),
    "loop": ("false", "play the bag in a loop"),
    "play_delay_s": ("1.0", "wait this long after the engine is ready before playing"),
    "launch_grasp_node": ("true", "start the grasp node"),
    "max_frame_age_s": ("5.0", "frames older than this (bag clock) are refused"),
}


def _bag_play(loop: bool) -> ExecuteProcess:
    cmd: list[Any] = ["ros2", "bag", "play", arg("bag"), "--clock", "--rate", arg("rate")]
    if loop:
        cmd.append("--loop")
    return ExecuteProcess(
        cmd=cmd,
        output="screen",
        condition=(IfCondition if loop else UnlessCondition)(arg("loop")),
    )


def _shutdown_if_play_fails(player: ExecuteProcess) -> RegisterEventHandler:
    """End the launch when `ros2 bag play` fails (no such bag, unreadable storage).

    Otherwise the nodes would wait for frames forever after the player's error scrolled by.
    """

    def on_exit(event: Any, context: Any) -> list[Any] | None:
        if event.returncode == 0 or context.is_shutdown:
            return None
        reason = f"ros2 bag play failed (exit code {event.returncode}); shutting down"
        return [LogInfo(msg=reason), EmitEvent(event=Shutdown(reason=reason))]

    return RegisterEventHandler(OnProcessExit(target_action=player, on_exit=on_exit))


def _play_when_ready(spatialbot: Node) -> RegisterEventHandler:
    """Start the bag once, on the SpatialBot node's first '[ready]' log line."""
    started = {"done": False}

    def on_output(event: Any) -> list[Any] | None:
        if started["done"] or READY_MARKER not in event.text:
            return None
        started["done"] = True
        players = [_bag_play(False), _bag_play(True)]
        return [
            LogInfo(msg="spatialbot node ready: playing the bag"),
            *[_shutdown_if_play_fails(p) for p in players],
            TimerAction(period=arg("play_delay_s"), actions=players),
        ]

    return RegisterEventHandler(
        OnProcessIO(target_action=spatialbot, on_stdout=on_output, on_stderr=on_output)
    )


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, the nodes and the bag player."""
    sim_time = {"use_sim_time": True}
    description = robot_description("true")
    spatialbot = Node(
        package=PACKAGE,
        executable="spatialbot_node",
        name="spatialbot",
        parameters=[
            share("config", "spatialbot_node.yaml"),
            {
                **engine_parameters(),
                "initial_task": ParameterValue(arg("task"), value_type=str),
                "max_frame_age_s": ParameterValue(arg("max_frame_age_s"), value_type=float),
                **sim_time,
            },
        ],
        output="screen",
        emulate_tty=True,
    )
    actions: list[Any] = [
        DeclareLaunchArgument(n, description=t)
        if d is None
        else DeclareLaunchArgument(n, default_value=d, description=t)
        for n, (d, t) in ARGUMENTS.items()
    ]
    actions += [
        # kill -TERM of the launch stops the nodes like Ctrl-C (Jazzy's launch would orphan them).
        shutdown_on_sigterm(),
        Node(
            package="robot_state_publisher",
            executable="robot_state_publisher",
            parameters=[{"robot_description": description, **sim_time}],
            output="screen",
        ),
        spatialbot,
        Node(
            package=PACKAGE,
            executable="grasp_node",
            name="grasp",
            parameters=[
                share("config", "grasp_node.yaml"),
                {
                    "motion_backend": backend_unless_dry_run(arg("motion_backend")),
                    "gripper_backend": backend_unless_dry_run("gripper_action"),
                    "ur_type": arg("ur_type"),
                    "auto_execute": True,
                    **sim_time,
                },
            ],
            output="screen",
            condition=IfCondition(arg("launch_grasp_node")),
        ),
        _play_when_ready(spatialbot),
    ]
    return LaunchDescription(actions)
