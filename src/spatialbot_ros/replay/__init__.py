"""ROS 2 bag replay without ROS: read RGB-D bags, run tasks, write results and result bags."""

from spatialbot_ros.replay.errors import (
    BagReadError,
    MissingTopicError,
    ReplayError,
    SyncError,
    UnsupportedMessageError,
)
from spatialbot_ros.replay.reader import (
    REALSENSE_TOPICS,
    BagFrameReader,
    BagInfo,
    CameraTopics,
    TaskMessage,
)
from spatialbot_ros.replay.runner import ReplayOptions, ReplaySummary, run_replay
from spatialbot_ros.replay.writer import BagWriter, ResultTopics

__all__ = [
    "REALSENSE_TOPICS",
    "BagFrameReader",
    "BagInfo",
    "BagReadError",
    "BagWriter",
    "CameraTopics",
    "MissingTopicError",
    "ReplayError",
    "ReplayOptions",
    "ReplaySummary",
    "ResultTopics",
    "SyncError",
    "TaskMessage",
    "UnsupportedMessageError",
    "run_replay",
]
