"""package.xml: parses with catkin_pkg, and declares every third-party import of src/ and launch/.

An import is accounted for when its rosdep key is a run dependency in package.xml, or when it
is an optional pip extra of setup.py (listed below with the extra that installs it).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[1]

# import name -> rosdep key (rosdistro rosdep/*.yaml, or a ROS package name)
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "scipy": "python3-scipy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tqdm": "python3-tqdm",
    "matplotlib": "python3-matplotlib",
    "torch": "python3-torch",
    "transformers": "python3-transformers-pip",
    "PIL": "python3-pil",
    "pyrealsense2": "python3-pyrealsense2-pip",
    "rosbags": "python3-rosbags-pip",
    "moveit": "moveit_py",
    "ament_index_python": "ament_index_python",
}
ROS_PACKAGES_IMPORTED_BY_NAME = {
    "shape_msgs",
    "rclpy",
    "rcl_interfaces",
    "rosidl_runtime_py",
    "builtin_interfaces",
    "std_msgs",
    "std_srvs",
    "sensor_msgs",
    "geometry_msgs",
    "vision_msgs",
    "visualization_msgs",
    "trajectory_msgs",
    "action_msgs",
    "control_msgs",
    "moveit_msgs",
    "message_filters",
    "tf2_ros",
    "launch",
    "launch_ros",
}
# import name -> pip distribution in setup.py's extras_require (optional, not in package.xml)
OPTIONAL_PIP = {
    "sounddevice": "sounddevice",
    "mujoco": "mujoco",
    "ur_analytic_ik": "ur-analytic-ik",
    "rosbags_image": "rosbags-image",
    "mcap": "mcap",
    "mcap_ros2": "mcap-ros2-support",
}


@pytest.fixture(scope="module")
def package():
    return parse_package(str(ROOT / "package.xml"))


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "launch").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "spatialbot_ros":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_package_xml_is_valid_format_3(package):
    package.validate()
    assert package.package_format == 3
    assert package.name == "spatialbot_ros"
    assert package.get_build_type() == "ament_python"


def test_version_matches_setup_py(package):
    setup_py = (ROOT / "setup.py").read_text()
    assert f'version="{package.version}"' in setup_py


def test_moveit_py_is_conditional_on_distro(package):
    (dep,) = [d for d in package.exec_depends if d.name == "moveit_py"]
    assert dep.condition == "$ROS_DISTRO != humble"
    dep.evaluate_condition({"ROS_DISTRO": "humble"})
    assert dep.evaluated_condition is False
    dep.evaluate_condition({"ROS_DISTRO": "jazzy"})
    assert dep.evaluated_condition is True


def test_every_import_is_declared_or_an_optional_extra(package):
    run_deps = {d.name for d in package.exec_depends + package.run_depends}
    extras = (ROOT / "setup.py").read_text()
    missing = []
    for module, files in sorted(_third_party_imports().items()):
        if module in OPTIONAL_PIP:
            if not re.search(rf'"{re.escape(OPTIONAL_PIP[module])}[<>=~!"]', extras):
                missing.append(f"{module}: optional, but {OPTIONAL_PIP[module]} is in no extra")
            continue
        key = ROSDEP_KEYS.get(module, module if module in ROS_PACKAGES_IMPORTED_BY_NAME else None)
        if key is None:
            missing.append(
                f"{module} (imported by {sorted(files)[0]}): no rosdep key known; add "
                "it to ROSDEP_KEYS and package.xml, or to OPTIONAL_PIP and setup.py"
            )
        elif key not in run_deps:
            missing.append(f"{module}: package.xml lacks <exec_depend>{key}</exec_depend>")
    assert not missing, "\n".join(missing)


def test_launch_and_test_tools_are_declared(package):
    run_deps = {d.name for d in package.exec_depends}
    test_deps = {d.name for d in package.test_depends}
    assert {"robot_state_publisher", "xacro", "ros2bag", "launch_ros"} <= run_deps
    assert {
        "python3-pytest",
        "launch_testing",
        "launch_testing_ros",
        "python3-catkin-pkg-modules",
    } <= test_deps


def test_marker_file_and_data_files_exist():
    assert (ROOT / "resource" / "spatialbot_ros").is_file()
    assert list((ROOT / "launch").glob("*.launch.py"))
    assert list((ROOT / "config").glob("*.yaml"))
