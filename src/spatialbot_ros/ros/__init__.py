"""rclpy nodes: thin shells that convert messages and call the plain classes in pipeline/.

The only subpackage (with launch/) that imports rclpy, tf2_ros, message_filters and moveit.
Importing this package itself needs none of them; each node module imports rclpy at the top.
"""

__all__: list[str] = []
