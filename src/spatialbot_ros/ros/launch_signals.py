"""SIGTERM to `ros2 launch` shuts the nodes down as Ctrl-C does, instead of orphaning them.

ROS 2 launch (Humble to Jazzy) installs no Python handler for SIGTERM, so `kill <launch pid>`,
`systemctl stop`, `docker stop` or `timeout` end the launch process at once and leave every node
it started running (ros2/launch#666). Add `shutdown_on_sigterm()` to a launch description: the
first SIGTERM emits launch's Shutdown event (each process gets SIGINT, then SIGTERM and SIGKILL
after launch's timeouts, exactly the Ctrl-C path); a second SIGTERM falls back to launch's own
immediate exit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import launch.logging
from launch.actions import LogInfo, OpaqueFunction
from launch.events import Shutdown
from launch.launch_context import LaunchContext

__all__ = ["install_sigterm_shutdown", "shutdown_on_sigterm"]

SignalHandler = Callable[[int], None]
# The launch service's signal manager keeps its handlers on the innermost active manager, a
# private class attribute; there is no public way to replace launch's SIGTERM handler.
_CURRENT_MANAGER_ATTR = "_AsyncSafeSignalManager__current"


def _current_signal_manager() -> Any:
    """The signal manager of the running launch service, or None on launch versions without one."""
    try:
        from launch.utilities.signal_management import AsyncSafeSignalManager
    except ImportError:
        return None
    manager = getattr(AsyncSafeSignalManager, _CURRENT_MANAGER_ATTR, None)
    return manager if callable(getattr(manager, "handle", None)) else None


def _noop_handler(signum: int, frame: Any) -> None:
    """Python-level SIGTERM handler; the launch loop sees the signal through its wakeup socket."""


def install_sigterm_shutdown(context: LaunchContext) -> bool:
    """Route SIGTERM of this launch process to launch's Shutdown event; False when not possible."""
    if threading.current_thread() is not threading.main_thread():
        return False  # signal.signal works in the main thread only (launch_testing threads)
    manager = _current_signal_manager()
    if manager is None:
        return False
    previous: list[SignalHandler | None] = [None]
    received = [False]

    def on_sigterm(signum: int) -> None:
        if received[0] or context.is_shutdown:
            # Already shutting down (Ctrl-C, or a SIGTERM before): launch's own quick exit.
            if previous[0] is not None:
                previous[0](signum)
            return
        received[0] = True
        launch.logging.get_logger("launch").warning(
            "SIGTERM: shutting down the launched processes as on Ctrl-C (SIGTERM again: exit now)"
        )
        context.emit_event_sync(Shutdown(reason="SIGTERM", due_to_sigint=False))

    previous[0] = manager.handle(signal.SIGTERM, on_sigterm)
    # Python writes a signal to the launch loop's wakeup socket only when a Python handler is
    # installed for it; with the default action SIGTERM would still end the process at once.
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _noop_handler)
    return True


def _install_action(context: LaunchContext, *args: Any, **kwargs: Any) -> list[Any]:
    """OpaqueFunction body: install the handler, say so when this launch version cannot."""
    if install_sigterm_shutdown(context):
        return []
    return [LogInfo(msg="SIGTERM is not handled on this launch version; stop it with Ctrl-C")]


def shutdown_on_sigterm() -> OpaqueFunction:
    """Launch action: after it runs, SIGTERM shuts the launched processes down like Ctrl-C."""
    return OpaqueFunction(function=_install_action)
