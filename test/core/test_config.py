"""dataclass_from_mapping: typos raise with their names, lists become tuples where declared."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from spatialbot_ros.core.config import dataclass_from_mapping
from spatialbot_ros.core.safety import SafetyError, SafetyLimits


@dataclass(frozen=True)
class Example:
    """A config with a tuple field and a list field."""

    limits_m: tuple[float, float] = (0.0, 1.0)
    names: list[str] | None = None
    speed: float = 0.5


def test_lists_become_tuples_only_for_tuple_fields() -> None:
    cfg = dataclass_from_mapping(Example, {"limits_m": [0.1, 0.2], "names": ["a"]}, "example")
    assert cfg.limits_m == (0.1, 0.2)
    assert cfg.names == ["a"]
    assert cfg.speed == 0.5


def test_unknown_key_names_the_typo_and_the_known_keys() -> None:
    with pytest.raises(ValueError, match=r"unknown example keys \['sped'\].*speed"):
        dataclass_from_mapping(Example, {"sped": 1.0}, "example")


def test_custom_error_type() -> None:
    with pytest.raises(SafetyError, match="unknown safety keys"):
        SafetyLimits.from_mapping({"max_reach": 2.0})


def test_safety_limits_from_yaml_lists() -> None:
    limits = SafetyLimits.from_mapping({"workspace_min_m": [-0.5, -0.5, 0.0]})
    assert limits.workspace_min_m == (-0.5, -0.5, 0.0)


def test_rejects_a_non_dataclass() -> None:
    with pytest.raises(TypeError, match="dataclass"):
        dataclass_from_mapping(dict, {}, "x")
