"""A minimal stand-in for rclpy, message_filters, tf2_ros and message packages.

Just enough of their API for the nodes in spatialbot_ros.ros to be constructed and driven in
a test without ROS: parameters come from overrides, publishers record what they publish,
subscriptions and services keep their callbacks so the test can call them. Message classes
are rosbags classes (with defaults filled), so the nodes' own conversions run for real.
"""

from __future__ import annotations

import sys
import types
from typing import Any, ClassVar

from spatialbot_ros.pipeline.ros_types import default_message

__all__ = ["FakeNode", "install"]

MESSAGES = {
    "std_msgs.msg": ["String", "Empty", "Int16MultiArray"],
    "sensor_msgs.msg": ["Image", "CameraInfo"],
    "geometry_msgs.msg": ["PoseStamped", "TransformStamped"],
    "vision_msgs.msg": ["Detection2DArray", "Detection3DArray"],
    "visualization_msgs.msg": ["MarkerArray"],
}


class _Param:
    def __init__(self, value: Any) -> None:
        self.value = value


class _Logger:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def info(self, text: str) -> None:
        self.lines.append(f"INFO {text}")

    def warning(self, text: str) -> None:
        self.lines.append(f"WARN {text}")

    def error(self, text: str) -> None:
        self.lines.append(f"ERROR {text}")


class _Publisher:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.sent: list[Any] = []

    def publish(self, msg: Any) -> None:
        self.sent.append(msg)

    def get_subscription_count(self) -> int:
        return 1


class _Time:
    def __init__(self, nanoseconds: int) -> None:
        self.nanoseconds = nanoseconds


class _Clock:
    def __init__(self, node: FakeNode) -> None:
        self.node = node

    def now(self) -> _Time:
        return _Time(self.node.now_ns)


class FakeNode:
    """rclpy.node.Node look-alike; class attribute `overrides` sets parameter values."""

    overrides: ClassVar[dict[str, Any]] = {}
    now_ns = 0

    def __init__(self, name: str, **_: Any) -> None:
        self.name = name
        self.log_lines: list[str] = []
        self.publishers: dict[str, _Publisher] = {}
        self.subscriptions: dict[str, Any] = {}
        self.services: dict[str, Any] = {}
        self.destroyed = False

    def declare_parameter(self, name: str, default: Any, descriptor: Any = None) -> _Param:
        assert descriptor is not None, f"{name} declared without a descriptor"
        assert descriptor.description, f"{name} lacks a description"
        # Nodes read parameters once; a runtime `ros2 param set` must be refused, not ignored.
        assert descriptor.read_only, f"{name} is read at start but not declared read-only"
        return _Param(self.overrides.get(name, default))

    def get_logger(self) -> _Logger:
        return _Logger(self.log_lines)

    def get_clock(self) -> _Clock:
        return _Clock(self)

    def _name(self, topic: str) -> str:
        return topic.replace("~", f"/{self.name}") if topic.startswith("~") else topic

    def create_publisher(self, msg_type: Any, topic: str, qos: Any) -> _Publisher:
        pub = _Publisher(self._name(topic))
        self.publishers[pub.topic] = pub
        return pub

    def create_subscription(
        self, msg_type: Any, topic: str, callback: Any, qos: Any, **_: Any
    ) -> Any:
        self.subscriptions[self._name(topic)] = callback
        return callback

    def create_service(self, srv_type: Any, name: str, callback: Any, **_: Any) -> Any:
        self.services[self._name(name)] = callback
        return callback

    def destroy_node(self) -> None:
        self.destroyed = True


def _message_class(type_name: str) -> Any:
    def make(**fields: Any) -> Any:
        return default_message(type_name, **fields)

    make.__name__ = type_name.rsplit("/", 1)[-1]
    return make


class _Subscriber:
    def __init__(self, node: Any, msg_type: Any, topic: str, **kwargs: Any) -> None:
        self.topic = topic
        self.kwargs = kwargs


class _Synchronizer:
    instances: ClassVar[list[_Synchronizer]] = []

    def __init__(self, subs: list[_Subscriber], queue_size: int, slop: float) -> None:
        self.subs, self.queue_size, self.slop = subs, queue_size, slop
        self.callbacks: list[Any] = []
        _Synchronizer.instances.append(self)

    def registerCallback(self, callback: Any) -> None:
        self.callbacks.append(callback)


class _Buffer:
    def lookup_transform(self, target: str, source: str, stamp: Any, timeout: Any = None) -> Any:
        raise LookupError(f'"{target}" passed to lookupTransform does not exist')


class _Broadcaster:
    """Static TF goes to a '/tf_static' recorder on the node."""

    def __init__(self, node: FakeNode) -> None:
        self.publisher = node.publishers.setdefault("/tf_static", _Publisher("/tf_static"))

    def sendTransform(self, transforms: list[Any]) -> None:
        self.publisher.sent.extend(transforms)


class _Executor:
    """Spins through the fake rclpy.spin, so a test can make spinning end as it likes."""

    def __init__(self, *_: Any, **__: Any) -> None:
        self.nodes: list[Any] = []
        self.shut_down = False

    def add_node(self, node: Any) -> None:
        self.nodes.append(node)

    def spin(self) -> None:
        for node in self.nodes:
            sys.modules["rclpy"].spin(node)

    def spin_once(self, timeout_sec: float | None = None) -> None:
        self.spin()

    def shutdown(self) -> None:
        self.shut_down = True


class _Trigger:
    class Request:
        pass

    class Response:
        success = False
        message = ""


def install(monkeypatch: Any) -> None:
    """Put the fake modules into sys.modules for this test (and drop cached node modules)."""
    modules: dict[str, types.ModuleType] = {}

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        for key, value in attrs.items():
            setattr(mod, key, value)
        modules[name] = mod
        return mod

    state = {"ok": True}
    module(
        "rclpy",
        init=lambda args=None: state.update(ok=True),
        ok=lambda: state["ok"],
        shutdown=lambda: state.update(ok=False),
        try_shutdown=lambda: state.update(ok=False),
        spin=lambda node: None,
        spin_once=lambda node, timeout_sec=None: None,
    )
    module("rclpy.node", Node=FakeNode)
    module(
        "rclpy.qos",
        QoSProfile=lambda **kw: kw,
        DurabilityPolicy=types.SimpleNamespace(
            VOLATILE="volatile", TRANSIENT_LOCAL="transient_local"
        ),
        HistoryPolicy=types.SimpleNamespace(KEEP_LAST="keep_last"),
        ReliabilityPolicy=types.SimpleNamespace(RELIABLE="reliable", BEST_EFFORT="best_effort"),
        qos_profile_sensor_data={"reliability": "best_effort"},
    )
    module(
        "rclpy.callback_groups",
        MutuallyExclusiveCallbackGroup=object,
        ReentrantCallbackGroup=object,
    )
    module(
        "rclpy.executors",
        MultiThreadedExecutor=_Executor,
        SingleThreadedExecutor=_Executor,
        ExternalShutdownException=type("ExternalShutdownException", (Exception,), {}),
    )
    module("rclpy.duration", Duration=lambda seconds=0.0: seconds)
    module("rclpy.time", Time=lambda nanoseconds=0: nanoseconds)
    module("rclpy.utilities", remove_ros_args=list)
    module("rcl_interfaces")
    module(
        "rcl_interfaces.msg",
        ParameterDescriptor=lambda description="", read_only=False: types.SimpleNamespace(
            description=description, read_only=read_only
        ),
    )
    module("rosidl_runtime_py")
    module("rosidl_runtime_py.utilities", get_message=_message_class)
    module("message_filters", Subscriber=_Subscriber, ApproximateTimeSynchronizer=_Synchronizer)
    module("tf2_ros")
    module("tf2_ros.buffer", Buffer=_Buffer)
    module("tf2_ros.transform_listener", TransformListener=lambda buffer, node: None)
    module("tf2_ros.static_transform_broadcaster", StaticTransformBroadcaster=_Broadcaster)
    module("std_srvs")
    module("std_srvs.srv", Trigger=_Trigger)
    for package, names in MESSAGES.items():
        pkg = package.split(".")[0]
        module(pkg)
        module(package, **{n: _message_class(f"{pkg}/msg/{n}") for n in names})
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    _Synchronizer.instances.clear()
