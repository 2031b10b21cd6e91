"""Parsers for SpatialBot's output: bounding boxes `[x1, y1, x2, y2]` and `Depth(x, y)` calls.

Pure string/number code (no torch), shared by the engine and the tool loop.  Boxes come back
normalised to [0, 1] of the RGB image (top-left then bottom-right, as SpatialBot writes them);
pixel boxes are recognised by any coordinate above 1 and divided by the image size.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = [
    "DEPTH_CALL_RE",
    "BoxParseError",
    "DepthCallText",
    "ParsedBox",
    "find_depth_calls",
    "first_depth_call",
    "padded_norm_to_image_norm",
    "parse_bbox",
    "strip_partial_depth_call",
]

# A number as a model writes it: 12, 0.5, .5, 1e-3, with an optional sign; nan/inf are caught
# so they can be rejected with a clear reason instead of silently skipped.
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_SEP = r"\s*[,;]\s*|\s+"
_BOX_RE = re.compile(
    rf"\[\s*({_NUM})(?:{_SEP})({_NUM})(?:{_SEP})({_NUM})(?:{_SEP})({_NUM})\s*\]", re.IGNORECASE
)
DEPTH_CALL_RE = re.compile(rf"Depth\s*\(\s*<?\s*({_NUM})\s*,\s*({_NUM})\s*>?\s*\)", re.IGNORECASE)
_PARTIAL_CALL_RE = re.compile(r"Depth\s*\([^)]*$", re.IGNORECASE)

MIN_BOX_SIDE_NORM = 1e-3  # a box thinner than this (after clipping) is degenerate


class BoxParseError(SpatialBotRosError, ValueError):
    """Model output holds no usable `[x1, y1, x2, y2]` box."""


@dataclass(frozen=True)
class ParsedBox:
    """A box parsed from model text, normalised to [0, 1] of the image, x1 < x2, y1 < y2."""

    bbox_norm: tuple[float, float, float, float]
    units: Literal["normalised", "pixels"]
    text: str  # the matched substring, for the trace
    clipped: bool  # True when a coordinate lay outside the image and was clipped


@dataclass(frozen=True)
class DepthCallText:
    """One `Depth(x, y)` call found in model text: normalised point and where it sits."""

    x: float
    y: float
    text: str  # the exact substring, e.g. "Depth( 0.51, 0.40 )"
    start: int
    end: int
    x_text: str  # the coordinates as the model wrote them, echoed in the API answer
    y_text: str

    @property
    def canonical(self) -> str:
        """The call without spaces, as the API turn echoes it: `Depth(0.51,0.40)`."""
        return f"Depth({self.x_text},{self.y_text})"


def _to_float(token: str) -> float:
    return float(token.lower().replace("infinity", "inf"))


def parse_bbox(text: str, width: int, height: int) -> ParsedBox:
    """The first usable `[x1, y1, x2, y2]` in `text`, normalised to [0, 1] of a WxH image.

    Accepts normalised or pixel coordinates (pixels when any value exceeds 1), any spacing and
    comma/semicolon/space separators, swapped corners; clips to the image.  Rejects NaN/inf,
    boxes with no area inside the image, and text with no box (BoxParseError says why).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    reasons: list[str] = []
    for match in _BOX_RE.finditer(text):
        values = [_to_float(g) for g in match.groups()]
        if not all(math.isfinite(v) for v in values):
            reasons.append(f"{match.group(0)!r} has non-finite coordinates")
            continue
        units: Literal["normalised", "pixels"] = (
            "pixels" if any(abs(v) > 1.0 for v in values) else "normalised"
        )
        x1, y1, x2, y2 = values
        if units == "pixels":
            x1, x2, y1, y2 = x1 / width, x2 / width, y1 / height, y2 / height
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        cx1, cy1 = min(max(x1, 0.0), 1.0), min(max(y1, 0.0), 1.0)
        cx2, cy2 = min(max(x2, 0.0), 1.0), min(max(y2, 0.0), 1.0)
        if cx2 - cx1 < MIN_BOX_SIDE_NORM or cy2 - cy1 < MIN_BOX_SIDE_NORM:
            reasons.append(f"{match.group(0)!r} has no area inside the image")
            continue
        clipped = (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2)
        return ParsedBox((cx1, cy1, cx2, cy2), units, match.group(0), clipped)
    detail = "; ".join(reasons) if reasons else "no [x1, y1, x2, y2] found"
    raise BoxParseError(
        f"expected a bounding box [x1, y1, x2, y2] in model output, got {text!r} ({detail})"
    )


def padded_norm_to_image_norm(
    bbox_norm: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float]:
    """Map a box normalised to the mean-colour padded square back to the WxH image, clipped."""
    side = float(max(width, height))
    off_x, off_y = (side - width) / 2.0, (side - height) / 2.0
    x1, y1, x2, y2 = bbox_norm
    out = (
        (x1 * side - off_x) / width,
        (y1 * side - off_y) / height,
        (x2 * side - off_x) / width,
        (y2 * side - off_y) / height,
    )
    c = tuple(min(max(v, 0.0), 1.0) for v in out)
    return (c[0], c[1], c[2], c[3])


def find_depth_calls(text: str) -> list[DepthCallText]:
    """Every complete `Depth(x, y)` call in `text`, in order (coordinates may be out of range)."""
    return [_call(m) for m in DEPTH_CALL_RE.finditer(text)]


def first_depth_call(text: str, start: int = 0) -> DepthCallText | None:
    """The first complete `Depth(x, y)` call at or after character `start`, or None."""
    m = DEPTH_CALL_RE.search(text, start)
    return None if m is None else _call(m)


def _call(m: re.Match[str]) -> DepthCallText:
    x_text, y_text = m.group(1), m.group(2)
    return DepthCallText(
        _to_float(x_text), _to_float(y_text), m.group(0), m.start(), m.end(), x_text, y_text
    )


def strip_partial_depth_call(text: str) -> tuple[str, bool]:
    """Remove a trailing, unfinished `Depth(...` (cut off by the token limit); say if one was."""
    m = _PARTIAL_CALL_RE.search(text)
    if m is None:
        return text, False
    return text[: m.start()].rstrip(), True
