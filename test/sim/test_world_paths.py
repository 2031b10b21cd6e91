"""The sim finds the project URDF in a checkout and in a colcon-style install tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spatialbot_ros.sim import world


def test_checkout_urdf_is_found() -> None:
    path = world.default_urdf_path()
    assert path.name == "spatialbot_ur5.urdf"
    assert path.is_file()


def test_colcon_install_layout_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # install/spatialbot_ros/lib/python3.X/site-packages/spatialbot_ros/sim/world.py
    prefix = tmp_path / "install" / "spatialbot_ros"
    module = prefix / "lib" / "python3.12" / "site-packages" / "spatialbot_ros" / "sim" / "world.py"
    module.parent.mkdir(parents=True)
    module.write_text("")
    urdf = prefix / "share" / "spatialbot_ros" / "urdf" / "spatialbot_ur5.urdf"
    urdf.parent.mkdir(parents=True)
    shutil.copyfile(world.default_urdf_path(), urdf)
    monkeypatch.setattr(world, "__file__", str(module))
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert world.default_urdf_path() == urdf


def test_missing_urdf_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "a" / "b" / "c" / "d" / "world.py"
    module.parent.mkdir(parents=True)
    monkeypatch.setattr(world, "__file__", str(module))
    monkeypatch.setattr("sys.prefix", str(tmp_path / "prefix"))
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    with pytest.raises(FileNotFoundError, match=r"spatialbot_ur5\.urdf"):
        world.default_urdf_path()
