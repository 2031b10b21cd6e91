"""TransformTree: composes T_parent_child through a tree, as tf2's lookupTransform does."""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.errors import TransformError
from spatialbot_ros.core.transforms import RigidTransform
from spatialbot_ros.replay.tf_lookup import TransformTree


def _t(xyz: tuple[float, float, float], rpy: tuple[float, float, float], parent: str, child: str):
    return RigidTransform.from_xyz_rpy(xyz, rpy, parent, child)


def test_chain_and_reverse_lookup_agree() -> None:
    rng = np.random.default_rng(1)
    a = _t(tuple(rng.normal(size=3)), tuple(rng.normal(size=3)), "base_link", "camera_link")
    b = _t(tuple(rng.normal(size=3)), tuple(rng.normal(size=3)), "camera_link", "optical")
    c = _t(tuple(rng.normal(size=3)), tuple(rng.normal(size=3)), "base_link", "tool0")
    tree = TransformTree([a, b, c])
    got = tree.lookup("base_link", "optical")
    np.testing.assert_allclose(got.matrix, (a @ b).matrix, atol=1e-12)
    across = tree.lookup("tool0", "optical")
    np.testing.assert_allclose(across.matrix, (c.inverse() @ a @ b).matrix, atol=1e-12)
    assert across.parent_frame == "tool0"
    assert across.child_frame == "optical"
    np.testing.assert_allclose(
        tree.lookup("optical", "base_link").matrix, got.inverse().matrix, atol=1e-12
    )


def test_disconnected_frames_raise() -> None:
    tree = TransformTree([_t((0, 0, 1), (0, 0, 0), "map", "odom")])
    with pytest.raises(TransformError, match="base_link -> odom"):
        tree.lookup("base_link", "odom")
