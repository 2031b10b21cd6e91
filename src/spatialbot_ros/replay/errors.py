"""Errors of bag replay: each names the bag, the topic and the time where it went wrong."""

from __future__ import annotations

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = [
    "BagReadError",
    "MissingTopicError",
    "ReplayError",
    "SyncError",
    "UnsupportedMessageError",
]


class ReplayError(SpatialBotRosError):
    """Base class of the errors that stop a replay."""


class BagReadError(ReplayError):
    """The bag cannot be opened or stops being readable (truncated, corrupt, wrong format)."""


class MissingTopicError(ReplayError):
    """A topic replay needs (colour, depth, camera_info) is absent or has no messages."""


class SyncError(ReplayError):
    """Colour and depth never come within the pairing tolerance of each other."""


class UnsupportedMessageError(ReplayError):
    """A message replay cannot convert: unknown image encoding, wrong size, wrong type."""
