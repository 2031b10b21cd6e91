"""spatialbot_ros: SpatialBot depth-aware grounding and UR5 grasping, ROS 2 and offline."""

__version__ = "0.1.0"
