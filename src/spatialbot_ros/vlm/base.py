"""The grounding-engine port: one interface, results as plain data, engines chosen by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from spatialbot_ros.core.depth_api import DepthStats
from spatialbot_ros.core.frame import RGBDFrame

__all__ = [
    "DepthCall",
    "EngineResult",
    "GroundingEngine",
    "GroundingTarget",
    "Turn",
    "available_engines",
    "make_engine",
    "register_engine",
]

TaskKind = Literal["grasp", "point", "question", "unknown"]


@dataclass(frozen=True)
class DepthCall:
    """One Depth API call the engine resolved: normalised point, answer in mm or an error."""

    x: float
    y: float
    depth_mm: float | None
    source: str = "pixel"  # "pixel" | "neighbourhood" | "none"
    error: str | None = None


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation trace: the user prompt, a model turn or an API answer."""

    role: Literal["user", "assistant", "api"]
    text: str


@dataclass(frozen=True)
class GroundingTarget:
    """The object a task refers to, in the image and in the camera's optical frame."""

    label: str
    bbox_norm: tuple[float, float, float, float]  # x1, y1, x2, y2 in [0, 1]
    bbox_px: tuple[float, float, float, float]  # same box in pixels
    depth_mm: DepthStats
    xyz_camera_m: tuple[float, float, float]
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)  # HxW bool, optional

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the mask is left out)."""
        return {
            "label": self.label,
            "bbox_norm": [float(v) for v in self.bbox_norm],
            "bbox_px": [float(v) for v in self.bbox_px],
            "depth_mm": self.depth_mm.as_dict(),
            "xyz_camera_m": [float(v) for v in self.xyz_camera_m],
        }


@dataclass
class EngineResult:
    """What an engine returns for one task or question; engines never raise out of run()."""

    task: str
    engine: str
    status: Literal["ok", "error"]
    kind: TaskKind = "unknown"
    error: str | None = None
    target: GroundingTarget | None = None
    answer: str = ""
    trace: list[Turn] = field(default_factory=list)
    depth_calls: list[DepthCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "task": self.task,
            "engine": self.engine,
            "status": self.status,
            "kind": self.kind,
            "error": self.error,
            "target": self.target.as_dict() if self.target else None,
            "answer": self.answer,
            "trace": [asdict(t) for t in self.trace],
            "depth_calls": [asdict(c) for c in self.depth_calls],
            "notes": list(self.notes),
            "timings_ms": dict(self.timings_ms),
        }


@runtime_checkable
class GroundingEngine(Protocol):
    """Turns an RGB-D frame and a task or question into an EngineResult."""

    name: str

    def run(self, frame: RGBDFrame, task: str) -> EngineResult:
        """Ground `task` in `frame`; errors come back as status='error', never raised."""
        ...


EngineFactory = Callable[[Mapping[str, Any]], GroundingEngine]
_REGISTRY: dict[str, EngineFactory] = {}


def register_engine(name: str) -> Callable[[EngineFactory], EngineFactory]:
    """Decorator: register an engine factory under the name used in YAML (`engine: <name>`)."""

    def wrap(factory: EngineFactory) -> EngineFactory:
        _REGISTRY[name] = factory
        return factory

    return wrap


def available_engines() -> list[str]:
    """Names of the registered engines."""
    _load_builtin_engines()
    return sorted(_REGISTRY)


def make_engine(name: str, config: Mapping[str, Any] | None = None) -> GroundingEngine:
    """Build the engine registered as `name` with its config mapping (from YAML)."""
    _load_builtin_engines()
    if name not in _REGISTRY:
        raise ValueError(f"unknown engine {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](dict(config or {}))


def _load_builtin_engines() -> None:
    # Importing the modules registers them; neither imports torch at module level.
    from spatialbot_ros.vlm import geometric_engine, spatialbot_engine  # noqa: F401
