"""rosbags typestores for the ROS 2 distributions a bag may come from (Humble, Jazzy, ...)."""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["DISTROS", "distro_of_bag", "typestore_for"]

DISTROS = ("humble", "iron", "jazzy", "kilted")

# Humble's rosbag2 does not write `ros_distro` into metadata.yaml; Iron and later do.
_DEFAULT_WITHOUT_METADATA = "humble"


@cache
def typestore_for(distro: str) -> Any:
    """The rosbags typestore with the standard message definitions of `distro`."""
    from rosbags.typesys import Stores, get_typestore

    key = distro.lower()
    if key not in DISTROS:
        raise ValueError(f"expected a ROS 2 distro in {DISTROS}, got {distro!r}")
    return get_typestore(getattr(Stores, f"ROS2_{key.upper()}"))


def distro_of_bag(path: Any) -> str:
    """The distro that recorded a rosbag2 directory, from metadata.yaml (Humble when unstated)."""
    from pathlib import Path

    metadata = Path(path) / "metadata.yaml"
    if not metadata.is_file():
        return _DEFAULT_WITHOUT_METADATA
    for line in metadata.read_text(errors="replace").splitlines():
        stripped = line.strip()
        if stripped.startswith("ros_distro:"):
            value = stripped.split(":", 1)[1].strip().strip("'\"").lower()
            return value if value in DISTROS else "jazzy"
    return _DEFAULT_WITHOUT_METADATA
