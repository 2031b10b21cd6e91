"""replay.launch.py ends with a clear message when `ros2 bag play` fails, instead of idling.

Needs ROS 2 and the installed package (colcon build); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2 (rclpy is not installed)")
# Not plain "launch": the repository's launch/ folder imports as a namespace package.
pytest.importorskip("launch.actions", reason="needs ROS 2 launch")

# `ros2 launch spatialbot_ros replay.launch.py bag:=<missing>`, as a LaunchService in a child.
RUNNER = """
import os, sys
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
path = os.path.join(get_package_share_directory("spatialbot_ros"), "launch", "replay.launch.py")
replay = IncludeLaunchDescription(
    PythonLaunchDescriptionSource(path),
    launch_arguments={"bag": sys.argv[1], "task": "grasp the cup", "play_delay_s": "0.1"}.items(),
)
service = LaunchService()
service.include_launch_description(LaunchDescription([replay]))
sys.exit(service.run())
"""


def _installed() -> bool:
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        get_package_share_directory("spatialbot_ros")
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
def test_missing_bag_ends_the_launch_with_the_reason(tmp_path: Path) -> None:
    if not _installed():
        pytest.skip("spatialbot_ros is not installed in the ROS environment (colcon build)")
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER))
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get("ROS_DOMAIN_ID", "0"))
    runner = subprocess.Popen(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "no_such_bag")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        output, _ = runner.communicate(timeout=90.0)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)
        output, _ = runner.communicate()
        tail = output.decode(errors="replace")[-3000:]
        pytest.fail(f"expected the launch to end after the failed bag play, got:\n{tail}")
    text = output.decode(errors="replace")
    assert "ros2 bag play failed (exit code" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    for node in ("spatialbot_node", "grasp_node"):
        assert re.search(rf"\[{node}-\d+\]: process has finished cleanly", text), text[-3000:]
