"""declare_parameters on a real rclpy node: values from overrides, runtime changes refused.

The nodes read their parameters once; `ros2 param set` used to report success and change
nothing. Needs rclpy; skipped without it.
"""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2 (rclpy is not installed)")

import rclpy
from rclpy.parameter import Parameter

from spatialbot_ros.ros.conversions import declare_parameters

SPEC = {
    "sync_slop_s": (0.05, "largest stamp difference"),
    "busy_policy": ("queue", "queue or reject"),
}


def test_parameters_take_overrides_and_refuse_runtime_changes() -> None:
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node(
            "declare_parameters_test",
            context=context,
            parameter_overrides=[Parameter("busy_policy", value="reject")],
        )
        values = declare_parameters(node, SPEC)
        assert values == {"sync_slop_s": 0.05, "busy_policy": "reject"}
        descriptor = node.describe_parameter("sync_slop_s")
        assert descriptor.read_only
        assert descriptor.description.startswith("largest stamp difference")
        results = node.set_parameters([Parameter("sync_slop_s", value=-1.0)])
        assert not results[0].successful
        assert node.get_parameter("sync_slop_s").value == 0.05
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
