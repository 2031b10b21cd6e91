"""config/*.yaml against the nodes' parameter declarations (read from source, no ROS needed).

Every parameter a node declares appears in its YAML with a comment above it, and the YAML holds
nothing the node does not declare (a typo there would silently do nothing).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NODES = {
    "camera.yaml": ("camera_node.py", "/camera/camera"),
    "spatialbot_node.yaml": ("spatialbot_node.py", "/spatialbot"),
    "grasp_node.yaml": ("grasp_node.py", "/grasp"),
    "voice_node.yaml": ("voice_node.py", "/voice"),
}


def declared_parameters(node_file: str) -> dict[str, object]:
    """The PARAMETERS dict literal of a node module: name -> default."""
    tree = ast.parse((ROOT / "src" / "spatialbot_ros" / "ros" / node_file).read_text())
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "PARAMETERS":
            value = ast.literal_eval(node.value)
            return {name: spec[0] for name, spec in value.items()}
    raise AssertionError(f"{node_file} has no PARAMETERS literal")


@pytest.mark.parametrize("yaml_name", sorted(NODES))
def test_yaml_matches_declarations(yaml_name):
    node_file, node_key = NODES[yaml_name]
    if not (ROOT / "src" / "spatialbot_ros" / "ros" / node_file).exists():
        pytest.fail(f"{node_file} is missing")
    data = yaml.safe_load((ROOT / "config" / yaml_name).read_text())
    assert list(data) == [node_key]
    params = data[node_key]["ros__parameters"]
    declared = declared_parameters(node_file)
    assert set(params) == set(declared), (
        f"only in YAML: {sorted(set(params) - set(declared))}, "
        f"only in node: {sorted(set(declared) - set(params))}"
    )
    for name, default in declared.items():
        value = params[name]
        assert type(value) is type(default) or (
            isinstance(default, float) and isinstance(value, int)
        ), f"{name}: YAML {value!r} vs declared default {default!r}"


@pytest.mark.parametrize("yaml_name", sorted(NODES))
def test_every_parameter_has_a_comment(yaml_name):
    lines = (ROOT / "config" / yaml_name).read_text().splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if (
            not stripped
            or stripped.startswith("#")
            or line.startswith("/")
            or stripped.endswith("ros__parameters:")
        ):
            continue
        assert lines[i - 1].strip().startswith("#"), f"{yaml_name}: no comment above {stripped!r}"
