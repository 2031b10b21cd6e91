"""SIGTERM to a launch with shutdown_on_sigterm() stops its processes like Ctrl-C, none orphaned.

Jazzy's `ros2 launch` dies on SIGTERM without touching its children (ros2/launch#666); the
package's launch files add `shutdown_on_sigterm()`. Needs ROS 2 launch; skipped without it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2 (rclpy is not installed)")
# Not plain "launch": the repository's launch/ folder imports as a namespace package.
pytest.importorskip("launch.actions", reason="needs ROS 2 launch")

from spatialbot_ros.ros import launch_signals

# A launched process that records SIGINT (how launch asks processes to stop) and exits 0.
CHILD = """
import os, signal, sys, time
out = sys.argv[1]
def on_sigint(signum, frame):
    open(os.path.join(out, "sigint"), "w").write("1")
    sys.exit(0)
signal.signal(signal.SIGINT, on_sigint)
open(os.path.join(out, "child_pid"), "w").write(str(os.getpid()))
time.sleep(120)
"""

# Runs a LaunchService in the main thread, as `ros2 launch` does.
RUNNER = """
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import ExecuteProcess
from spatialbot_ros.ros.launch_signals import shutdown_on_sigterm
child, out, handled = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
actions = [shutdown_on_sigterm()] if handled else []
actions.append(ExecuteProcess(cmd=[sys.executable, child, out], output="screen"))
service = LaunchService()
service.include_launch_description(LaunchDescription(actions))
sys.exit(service.run())
"""


def _wait_for(path: Path, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text():
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) counts as ended.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _run_and_sigterm(tmp_path: Path, handled: bool) -> tuple[int | None, int, Path]:
    """Start the runner, SIGTERM it once the child runs; (runner rc or None, child pid, out)."""
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER))
    out = tmp_path / "out"
    out.mkdir()
    flag = "1" if handled else "0"
    log = (tmp_path / "launch.log").open("wb")
    runner = subprocess.Popen(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "child.py"), str(out), flag],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert _wait_for(out / "child_pid", 30.0), "the launched process did not start"
        child_pid = int((out / "child_pid").read_text())
        time.sleep(0.5)  # let the OpaqueFunction run (it precedes the process in the list)
        runner.send_signal(signal.SIGTERM)
        try:
            rc: int | None = runner.wait(timeout=20.0)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, child_pid, out
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()


def test_sigterm_shuts_the_launched_process_down_like_ctrl_c(tmp_path: Path) -> None:
    rc, child_pid, out = _run_and_sigterm(tmp_path, handled=True)
    try:
        assert rc == 0, f"expected the launch to exit 0 after SIGTERM, got {rc}"
        assert (out / "sigint").is_file(), "expected the launched process to get SIGINT"
        deadline = time.monotonic() + 5.0
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid), "expected no orphaned process after SIGTERM"
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_without_the_action_sigterm_orphans_the_process(tmp_path: Path) -> None:
    """The launch behaviour the action exists for; if launch fixes it, the action is moot."""
    rc, child_pid, out = _run_and_sigterm(tmp_path, handled=False)
    try:
        if not _alive(child_pid):
            pytest.skip("this launch version stops its processes on SIGTERM by itself")
        assert rc == -signal.SIGTERM, f"expected launch to die of SIGTERM, got {rc}"
        assert not (out / "sigint").is_file()
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_install_refuses_outside_the_main_thread() -> None:
    """signal.signal works in the main thread only; elsewhere the action just reports False."""
    results: list[bool] = []

    def install() -> None:
        results.append(launch_signals.install_sigterm_shutdown(None))  # type: ignore[arg-type]

    worker = threading.Thread(target=install)
    worker.start()
    worker.join()
    assert results == [False]
