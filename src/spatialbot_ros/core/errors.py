"""Exceptions raised by the ROS-free core; adapters turn them into status messages."""

from __future__ import annotations


class SpatialBotRosError(Exception):
    """Base class of every error the package raises on purpose."""


class InvalidImageError(SpatialBotRosError, ValueError):
    """An image array or message has the wrong shape, dtype, size or layout."""


class UnsupportedEncodingError(InvalidImageError):
    """An image encoding the converter does not handle."""


class SizeMismatchError(InvalidImageError):
    """Two images (or an image and its intrinsics) that must match in size do not."""


class IntrinsicsError(SpatialBotRosError, ValueError):
    """Camera intrinsics that cannot be used (zero focal length, bad size, bad K)."""


class DepthRangeError(SpatialBotRosError, ValueError):
    """Depth values outside what the SpatialBot encoding can represent, under the reject policy."""


class NoDepthError(SpatialBotRosError):
    """No valid depth where it was asked for (all zero / NaN in the region)."""


class TransformError(SpatialBotRosError, ValueError):
    """A rigid transform with wrong frames, a non-rigid matrix or a missing link."""


class PointOutsideImageError(SpatialBotRosError, ValueError):
    """A normalised point outside [0, 1] or a pixel outside the image."""
