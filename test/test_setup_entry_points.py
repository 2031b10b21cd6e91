"""Every executable a launch file starts from this package is a console_script of setup.py."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    entries = ast.literal_eval(value)
                    return dict((part.strip() for part in entry.split("=", 1)) for entry in entries)
    raise AssertionError("setup.py declares no console_scripts")


def _is_this_package(value: ast.expr) -> bool:
    # launch files write package="spatialbot_ros" or package=PACKAGE (a constant of that value)
    return (isinstance(value, ast.Constant) and value.value == "spatialbot_ros") or (
        isinstance(value, ast.Name) and value.id == "PACKAGE"
    )


def _launched_executables() -> set[str]:
    found: set[str] = set()
    for launch_file in (ROOT / "launch").glob("*.launch.py"):
        tree = ast.parse(launch_file.read_text())
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            kwargs = {k.arg: k.value for k in call.keywords}
            executable = kwargs.get("executable")
            if (
                "package" in kwargs
                and _is_this_package(kwargs["package"])
                and isinstance(executable, ast.Constant)
            ):
                found.add(str(executable.value))
    return found


def test_launch_files_start_only_declared_executables() -> None:
    launched = _launched_executables()
    assert launched, "expected the launch files to start spatialbot_ros nodes"
    missing = launched - set(_console_scripts())
    assert not missing, f"launch files start {sorted(missing)}, which setup.py does not install"


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_entry_point_targets_exist(name: str) -> None:
    module_name, func = _console_scripts()[name].split(":")
    # ros/ modules import rclpy at the top (no ROS here), so read them instead of importing
    spec = importlib.util.find_spec(module_name)
    assert spec is not None, f"{name}: module {module_name} not found"
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert func in functions, f"{name}: {module_name} has no top-level {func}()"
