"""Language grounding engines behind one port; engine modules load lazily through the registry."""

from spatialbot_ros.vlm.base import (
    DepthCall,
    EngineResult,
    GroundingEngine,
    GroundingTarget,
    Turn,
    available_engines,
    make_engine,
    register_engine,
)

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
