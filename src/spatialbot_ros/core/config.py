"""Config dataclasses from YAML or ROS parameters: one rule for unknown keys and lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

__all__ = ["dataclass_from_mapping"]

T = TypeVar("T")


def dataclass_from_mapping(
    cls: type[T],
    values: Mapping[str, Any],
    what: str,
    error: type[Exception] = ValueError,
) -> T:
    """Build the frozen config `cls` from `values`.

    Unknown keys raise `error` naming them (in YAML they are typos, and a typo must not
    silently leave a safety limit at its default); YAML/parameter lists become tuples for
    the fields declared as tuples.
    """
    if not is_dataclass(cls):
        raise TypeError(f"expected a dataclass type, got {cls!r}")
    declared = {f.name: str(f.type) for f in fields(cls)}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise error(f"unknown {what} keys {unknown}; expected some of {sorted(declared)}")
    kwargs = {
        key: tuple(value)
        if isinstance(value, list) and declared[key].startswith(("tuple", "Tuple"))
        else value
        for key, value in values.items()
    }
    return cls(**kwargs)
