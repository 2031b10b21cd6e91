"""rclpy-side helpers shared by the nodes: message factory, tf2 lookups, QoS, parameters, spin."""

from __future__ import annotations

import array
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import numpy as np
import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.pipeline.ros_messages import MessageFactory

__all__ = [
    "ParameterSpec",
    "declare_parameters",
    "log_at",
    "make_tf_lookup",
    "parse_json_parameter",
    "publish_if_ok",
    "qos_by_name",
    "rclpy_factory",
    "reliable_qos",
    "run_node",
    "sensor_qos",
    "spin_until_shutdown",
    "status_qos",
]

SPIN_WAKE_S = 0.2
ParameterSpec = Mapping[str, tuple[Any, str]]
"""Parameter name -> (default value, description)."""


@cache
def _message_class(type_name: str) -> Any:
    from rosidl_runtime_py.utilities import get_message

    return get_message(type_name)


def _new(type_name: str, **fields: Any) -> Any:
    return _message_class(type_name)(**fields)


def _array(values: np.ndarray) -> Any:
    # rclpy accepts numpy only for fixed-size arrays; lists work for both fixed and unbounded.
    return values.tolist()


def _byte_buffer(raw: Any) -> Any:
    # array('B') is assigned to uint8[] fields without the per-element check a bytes/list gets;
    # frombytes copies the buffer once (a memoryview of the pixels, or bytes).
    data = array.array("B")
    data.frombytes(raw)
    return data


def rclpy_factory() -> MessageFactory:
    """A MessageFactory building rclpy messages (classes found by rosidl_runtime_py)."""
    return MessageFactory(new=_new, array=_array, byte_buffer=_byte_buffer)


def sensor_qos() -> QoSProfile:
    """Best-effort, keep-last-5: what realsense-ros publishes images with."""
    return qos_profile_sensor_data


def reliable_qos(depth: int = 10) -> QoSProfile:
    """Reliable, volatile: tasks and results must not be lost."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def status_qos() -> QoSProfile:
    """Reliable, transient-local (latched): a late subscriber still sees 'ready'."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=10,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


def qos_by_name(name: str) -> QoSProfile:
    """realsense-ros style QoS names: SENSOR_DATA (best effort) or DEFAULT (reliable, 10)."""
    key = name.strip().upper()
    if key == "SENSOR_DATA":
        return sensor_qos()
    if key in ("DEFAULT", "SYSTEM_DEFAULT", "RELIABLE"):
        return reliable_qos()
    raise ValueError(f"expected QoS SENSOR_DATA or DEFAULT, got {name!r}")


def subscribe_rgbd(
    node: Node,
    topics: tuple[str, str, str],
    callback: Callable[[Any, Any, Any], object],
    *,
    slop_s: float,
    queue_size: int = 10,
    callback_group: Any = None,
) -> tuple[list[Any], Any]:
    """Colour, aligned depth and camera_info (topics in that order) paired by one
    ApproximateTimeSynchronizer with sensor-data QoS; returns (subscribers, synchronizer).

    camera_info is reliable in realsense-ros; a best-effort reader matches it as well.
    """
    import message_filters
    from rclpy.callback_groups import ReentrantCallbackGroup
    from sensor_msgs.msg import CameraInfo, Image

    group = callback_group if callback_group is not None else ReentrantCallbackGroup()
    qos = sensor_qos()
    subs = [
        message_filters.Subscriber(node, msg_type, topic, qos_profile=qos, callback_group=group)
        for msg_type, topic in zip((Image, Image, CameraInfo), topics, strict=True)
    ]
    sync = message_filters.ApproximateTimeSynchronizer(subs, queue_size=queue_size, slop=slop_s)
    sync.registerCallback(callback)
    return subs, sync


def declare_parameters(node: Node, spec: ParameterSpec) -> dict[str, Any]:
    """Declare every parameter, read-only, with its description; return the values in effect."""
    values: dict[str, Any] = {}
    for name, (default, description) in spec.items():
        # The nodes read their parameters once, at start. Read-only makes `ros2 param set`
        # refuse a change that would otherwise report success and do nothing; launch
        # arguments, YAML files and --ros-args -p still set them at start.
        descriptor = ParameterDescriptor(
            description=f"{description} (read at start)", read_only=True
        )
        values[name] = node.declare_parameter(name, default, descriptor).value
    return values


def parse_json_parameter(text: str, name: str) -> dict[str, Any]:
    """A dict-valued setting passed as a JSON string parameter ('' means empty)."""
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"parameter {name} must be a JSON object, got {text!r}")
    return value


def make_tf_lookup(buffer: Any, timeout_s: float) -> Callable[[str, str, int], RigidTransform]:
    """(target, source, stamp_ns) -> T_target_source from a tf2_ros.Buffer, waiting timeout_s."""
    from rclpy.duration import Duration
    from rclpy.time import Time

    timeout = Duration(seconds=timeout_s)

    def lookup(target: str, source: str, stamp_ns: int) -> RigidTransform:
        msg = buffer.lookup_transform(target, source, Time(nanoseconds=stamp_ns), timeout=timeout)
        return RigidTransform.from_ros_transform(msg)

    return lookup


def spin_until_shutdown(
    node: Node, executor: Any = None, on_close: Callable[[], None] | None = None
) -> None:
    """Spin until Ctrl-C/SIGTERM or rclpy shutdown; then clean up without a traceback."""
    from rclpy import executors

    # ExternalShutdownException (rclpy >= Humble): spin ended by a signal or rclpy.shutdown().
    shutdown_errors: tuple[type[BaseException], ...] = (KeyboardInterrupt,)
    external = getattr(executors, "ExternalShutdownException", None)
    if external is not None:
        shutdown_errors = (KeyboardInterrupt, external)
    if executor is None:
        executor = executors.SingleThreadedExecutor()
    try:
        executor.add_node(node)
        # Not executor.spin(): under Jazzy an executor blocked in its wait set sometimes
        # misses the wake-up of a Ctrl-C and never returns (seen in 2 of 6 runs); waking
        # every 0.2 s to re-check the context makes shutdown certain.
        while rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_WAKE_S)
    except shutdown_errors:
        pass
    except Exception:
        # rclpy's executors race with a signal-triggered shutdown and can raise RCLError
        # ("the given context is not valid") instead; after shutdown that is not an error.
        if rclpy.ok():
            raise
    finally:
        # Ctrl-C in a terminal signals the whole process group, and launch forwards another
        # SIGINT: a second one must not interrupt the (bounded) clean-up with a traceback.
        _ignore_further_interrupts()
        if on_close is not None:
            on_close()
        executor.shutdown()
        node.destroy_node()
        _try_shutdown()


def _ignore_further_interrupts() -> None:
    with contextlib.suppress(ValueError):  # not the main thread: signals are not ours
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def log_at(logger: Any, level: str, text: str) -> None:
    """Log `text` at "info", "warn" or "error" through a fixed call site per severity.

    rclpy remembers the severity of each calling line and raises ValueError when one line
    logs at two severities, so a `{level: logger.method}[level](text)` dispatch breaks.
    """
    if level == "info":
        logger.info(text)
    elif level == "warn":
        logger.warning(text)
    else:
        logger.error(text)


def publish_if_ok(publisher: Any, msg: Any) -> bool:
    """Publish unless rclpy is shutting down (worker threads may outlive the context)."""
    if not rclpy.ok():
        return False
    try:
        publisher.publish(msg)
    except Exception:  # the context went away between the check and the call
        if rclpy.ok():
            raise
        return False
    return True


def _try_shutdown() -> None:
    try_shutdown = getattr(rclpy, "try_shutdown", None)  # Humble's rclpy lacks it
    if try_shutdown is not None:
        try_shutdown()
    elif rclpy.ok():
        rclpy.shutdown()


def run_node(
    make_node: Callable[[], Node], args: list[str] | None = None, multithreaded: bool = False
) -> int:
    """init, build the node, spin until shutdown; the exit status for a console script.

    A node that cannot start (bad parameter, missing backend or model) says why in one line
    and exits 1, without a traceback; Ctrl-C and SIGTERM exit 0.
    """
    rclpy.init(args=args)
    try:
        node = make_node()
    except (SpatialBotRosError, ValueError, RuntimeError, ImportError) as exc:
        print(f"[spatialbot_ros] cannot start: {exc}", file=sys.stderr)
        _try_shutdown()
        return 1
    except KeyboardInterrupt:
        _try_shutdown()
        return 0
    executor = None
    if multithreaded:
        from rclpy.executors import MultiThreadedExecutor

        executor = MultiThreadedExecutor()
    spin_until_shutdown(node, executor, on_close=getattr(node, "close", None))
    return 0
