"""The core and the engine port import and work without ROS, torch or hardware libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

BLOCKED = (
    "rclpy",
    "torch",
    "pyrealsense2",
    "mujoco",
    "transformers",
    "rosbags",
    "cv_bridge",
    "tf2_ros",
    "message_filters",
    "rosidl_runtime_py",
)

# Runs in a fresh interpreter: a meta-path finder makes every blocked package unimportable,
# as on a machine where it is not installed, before anything of the package is imported.
SCRIPT = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    BLOCKED = set(sys.argv[1].split(","))

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked by the isolation test")
            return None

    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]

    import numpy as np
    import spatialbot_ros.core as core
    import spatialbot_ros.vlm.base  # the engine port; engines themselves load lazily

    imported = ["spatialbot_ros.core", "spatialbot_ros.vlm.base"]
    for info in pkgutil.walk_packages(core.__path__, "spatialbot_ros.core."):
        importlib.import_module(info.name)
        imported.append(info.name)

    # Work, not only import: the codec and Image conversion must not reach for a blocked one.
    from spatialbot_ros.core.image_msgs import image_to_depth_mm, numpy_to_image_fields

    class Msg:
        pass

    depth = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    msg = Msg()
    msg.__dict__.update(numpy_to_image_fields(depth, "16UC1"))
    ok = bool((core.decode_depth(core.encode_depth(image_to_depth_mm(msg))) == depth).all())
    leaked = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
    print(json.dumps({"imported": imported, "leaked": leaked, "round_trip": ok}))
    """
)


def run_isolated(blocked: tuple[str, ...]) -> dict[str, object]:
    """Run SCRIPT with `blocked` packages unimportable; return its JSON report."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(blocked)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"isolated import failed:\n{proc.stderr}"
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_core_imports_and_works_without_ros_torch_or_hardware_libraries() -> None:
    report = run_isolated(BLOCKED)
    assert report["leaked"] == []
    assert report["round_trip"] is True
    imported = report["imported"]
    assert isinstance(imported, list)
    assert "spatialbot_ros.core.image_msgs" in imported
    assert "spatialbot_ros.core.depth_codec" in imported


def test_core_works_without_opencv_too() -> None:
    # OpenCV only speeds the codec up and handles distortion; the numpy fallback must carry.
    report = run_isolated((*BLOCKED, "cv2"))
    assert report["leaked"] == []
    assert report["round_trip"] is True


def test_the_blocker_really_blocks() -> None:
    # Guard against a blocker that blocks nothing: block numpy and the import must fail.
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, "numpy"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "numpy is blocked by the isolation test" in proc.stderr
