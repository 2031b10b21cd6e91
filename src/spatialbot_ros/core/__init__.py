"""ROS-free, torch-free core: RGB-D frames, SpatialBot depth codec, Depth API, geometry."""

from spatialbot_ros.core.camera_model import (
    deproject_depth,
    deproject_pixels,
    project_points,
    undistort_pixels,
)
from spatialbot_ros.core.depth_api import (
    DepthStats,
    PointDepth,
    box_depth_stats,
    clip_box_px,
    depth_at_norm,
    depth_at_pixel,
    norm_to_pixel,
    valid_depth_mask,
)
from spatialbot_ros.core.depth_codec import (
    MAX_DEPTH_MM,
    decode_depth,
    depth_m_to_mm,
    depth_to_mm,
    encode_depth,
)
from spatialbot_ros.core.errors import (
    DepthRangeError,
    IntrinsicsError,
    InvalidImageError,
    NoDepthError,
    PointOutsideImageError,
    SizeMismatchError,
    SpatialBotRosError,
    TransformError,
    UnsupportedEncodingError,
)
from spatialbot_ros.core.frame import RGBDFrame, validate_depth_mm, validate_rgb
from spatialbot_ros.core.image_msgs import (
    compressed_image_to_rgb,
    image_to_depth_mm,
    image_to_numpy,
    image_to_rgb,
    make_image,
    numpy_to_image_fields,
)
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "MAX_DEPTH_MM",
    "CameraIntrinsics",
    "DepthRangeError",
    "DepthStats",
    "IntrinsicsError",
    "InvalidImageError",
    "NoDepthError",
    "PointDepth",
    "PointOutsideImageError",
    "RGBDFrame",
    "RigidTransform",
    "SizeMismatchError",
    "SpatialBotRosError",
    "TransformError",
    "UnsupportedEncodingError",
    "box_depth_stats",
    "clip_box_px",
    "compressed_image_to_rgb",
    "decode_depth",
    "deproject_depth",
    "deproject_pixels",
    "depth_at_norm",
    "depth_at_pixel",
    "depth_m_to_mm",
    "depth_to_mm",
    "encode_depth",
    "image_to_depth_mm",
    "image_to_numpy",
    "image_to_rgb",
    "make_image",
    "norm_to_pixel",
    "numpy_to_image_fields",
    "project_points",
    "undistort_pixels",
    "valid_depth_mask",
    "validate_depth_mm",
    "validate_rgb",
]
