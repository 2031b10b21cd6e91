"""Static transforms from a bag's /tf_static (and /tf): look up T_base_camera without tf2."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.transforms import RigidTransform

__all__ = ["TransformTree", "read_bag_transforms"]


class TransformTree:
    """A tree of T_parent_child transforms, keyed by child frame (as tf2 keeps them)."""

    def __init__(self, transforms: Iterable[RigidTransform] = ()) -> None:
        """Start with `transforms` (later ones for the same child replace earlier ones)."""
        self._by_child: dict[str, RigidTransform] = {}
        for tr in transforms:
            self.add(tr)

    def __len__(self) -> int:
        """Number of transforms held."""
        return len(self._by_child)

    def add(self, transform: RigidTransform) -> None:
        """Add or replace the transform into `transform.child_frame`."""
        self._by_child[transform.child_frame] = transform

    def _chain_to_root(self, frame: str) -> list[RigidTransform]:
        chain: list[RigidTransform] = []
        seen = {frame}
        while frame in self._by_child:
            tr = self._by_child[frame]
            chain.append(tr)
            frame = tr.parent_frame
            if frame in seen:
                raise TransformError(f"expected a tree, got a cycle through {frame!r}")
            seen.add(frame)
        return chain

    def lookup(self, parent: str, child: str) -> RigidTransform:
        """T_parent_child, composed through the tree; raises TransformError if not connected."""
        if parent == child:
            return RigidTransform.identity(parent)
        up_child = self._chain_to_root(child)
        up_parent = self._chain_to_root(parent)
        root_child = up_child[-1].parent_frame if up_child else child
        root_parent = up_parent[-1].parent_frame if up_parent else parent
        if root_child != root_parent:
            raise TransformError(
                f"expected a transform chain {parent} -> {child}, got none (frames known: "
                f"{', '.join(sorted(self._by_child)) or 'none'})"
            )
        T_root_child = RigidTransform.identity(root_child)
        for tr in reversed(up_child):
            T_root_child = T_root_child @ tr
        T_root_parent = RigidTransform.identity(root_parent)
        for tr in reversed(up_parent):
            T_root_parent = T_root_parent @ tr
        return T_root_parent.inverse() @ T_root_child


def read_bag_transforms(
    reader: Any, topics: tuple[str, ...] = ("/tf_static", "/tf")
) -> TransformTree:
    """All transforms on `topics` of an open rosbags AnyReader (later ones win)."""
    tree = TransformTree()
    conns = [c for c in reader.connections if c.topic in topics]
    if not conns:
        return tree
    for conn, _, raw in reader.messages(connections=conns):
        msg = reader.deserialize(raw, conn.msgtype)
        for ts in msg.transforms:
            tree.add(RigidTransform.from_ros_transform(ts))
    return tree
