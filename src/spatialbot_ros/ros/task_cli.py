"""send_task: publish one typed task, optionally wait for its JSON result and print it.

ros2 run spatialbot_ros send_task "grasp the middle teacup"
ros2 run spatialbot_ros send_task --wait 60 "how far is the red cup?"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import rclpy
from rclpy.node import Node
from std_msgs.msg import String

from spatialbot_ros.ros.conversions import reliable_qos

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line arguments (ROS arguments already removed)."""
    parser = argparse.ArgumentParser(prog="send_task", description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="+", help="the task text, e.g. grasp the middle teacup")
    parser.add_argument("--topic", default="/spatialbot/task", help="task topic")
    parser.add_argument("--result-topic", default="/spatialbot/result", help="JSON result topic")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for the result and print it (0: don't)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="wait up to S seconds for a subscriber before publishing",
    )
    return parser.parse_args(argv)


def main(args: list[str] | None = None) -> int:
    """Entry point; exit status 0 on success, 1 on no subscriber / no or failed result."""
    from rclpy.utilities import remove_ros_args

    argv = remove_ros_args(args if args is not None else sys.argv)[1:]
    options = parse_args(argv)
    task = " ".join(options.task)
    rclpy.init(args=args)
    node = Node("send_task")
    results: list[Any] = []
    try:
        pub = node.create_publisher(String, options.topic, reliable_qos())
        if options.wait > 0:
            node.create_subscription(
                String, options.result_topic, lambda m: results.append(m.data), reliable_qos()
            )
        deadline = time.monotonic() + options.connect_timeout
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
        if pub.get_subscription_count() == 0:
            print(
                f"no subscriber on {options.topic}: is the spatialbot node running?",
                file=sys.stderr,
            )
            return 1
        pub.publish(String(data=task))
        print(f"sent {task!r} to {options.topic}")
        if options.wait <= 0:
            rclpy.spin_once(node, timeout_sec=0.2)  # let the reliable writer deliver
            return 0
        deadline = time.monotonic() + options.wait
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
            for raw in results:
                result = json.loads(raw)
                if result.get("task") == task:
                    print(json.dumps(result, indent=2))
                    return 0 if result.get("status") == "ok" else 1
        print(f"no result on {options.result_topic} within {options.wait} s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        node.destroy_node()
        try_shutdown = getattr(rclpy, "try_shutdown", None)
        if try_shutdown is not None:
            try_shutdown()
        elif rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    sys.exit(main())
