"""The SpatialBot engine: SpatialBot-3B (remote code) + Depth API tool loop -> EngineResult.

Grasp/point tasks become the reference's bounding-box question for the task's object phrase;
the box is parsed, its depth statistics come from the Depth API over the real depth map and
the target point is deprojected into the camera's optical frame.  Questions are asked as text;
every `Depth(x, y)` the model emits is answered from the depth map (vlm/tool_loop.py).
torch/transformers are imported only when the engine is built.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from spatialbot_ros.core.camera_model import deproject_pixels
from spatialbot_ros.core.depth_api import (
    DEFAULT_SEARCH_RADIUS_PX,
    DepthStats,
    box_depth_stats,
    depth_at_norm,
)
from spatialbot_ros.core.depth_codec import encode_depth
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.vlm.base import DepthCall, EngineResult, GroundingTarget, Turn, register_engine
from spatialbot_ros.vlm.model_loading import LoadedModel, load_model
from spatialbot_ros.vlm.output_parsing import ParsedBox, padded_norm_to_image_norm, parse_bbox
from spatialbot_ros.vlm.prompt import (
    IMAGE_SPLIT,
    build_prompt,
    grounding_question,
    join_prompt_ids,
)
from spatialbot_ros.vlm.task_parser import TaskParseError, parse_task
from spatialbot_ros.vlm.tool_loop import LoopResult, run_tool_loop

__all__ = [
    "SpatialBotConfig",
    "SpatialBotConfigError",
    "SpatialBotEngine",
    "make_spatialbot_engine",
    "target_from_box",
]

ENGINE_NAME = "spatialbot"


class SpatialBotConfigError(SpatialBotRosError, ValueError):
    """A SpatialBot engine config value of the wrong type or out of range."""


@dataclass(frozen=True)
class SpatialBotConfig:
    """Engine settings, as read from YAML (`engine: spatialbot`)."""

    model_path: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    trust_remote_code: bool = False
    max_new_tokens: int = 128
    max_depth_rounds: int = 4
    depth_search_radius_px: int = DEFAULT_SEARCH_RADIUS_PX
    max_task_chars: int = 500
    # What the model's normalised boxes refer to: the RGB image (DESIGN §1) or the mean-colour
    # padded square it actually saw; "padded" maps them back to the image.
    box_coords: Literal["image", "padded"] = "image"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SpatialBotConfig:
        """Validate a config mapping; keys other engines use are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in known}
        choices = {
            "device": ("auto", "cpu", "cuda"),
            "dtype": ("auto", "float16", "bfloat16", "float32"),
            "box_coords": ("image", "padded"),
        }
        for key, allowed in choices.items():
            if key in values and values[key] not in allowed:
                raise SpatialBotConfigError(f"expected {key} in {allowed}, got {values[key]!r}")
        if "trust_remote_code" in values and not isinstance(values["trust_remote_code"], bool):
            raise SpatialBotConfigError(
                f"expected trust_remote_code true/false, got {values['trust_remote_code']!r}"
            )
        minimum = {
            "max_new_tokens": 1,
            "max_depth_rounds": 0,
            "depth_search_radius_px": 0,
            "max_task_chars": 1,
        }
        for key, low in minimum.items():
            if key in values:
                value = values[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < low:
                    raise SpatialBotConfigError(
                        f"expected {key} an integer >= {low}, got {value!r}"
                    )
        if values.get("model_path") is not None:
            values["model_path"] = str(values["model_path"])
        return cls(**values)


def target_from_box(
    frame: RGBDFrame, box: ParsedBox, label: str, search_radius_px: int
) -> GroundingTarget:
    """Box -> depth statistics (Depth API) and a 3D point at the box centre, optical frame.

    The point's depth is the median over the central half of the box, where the object is,
    so background inside the box's corners does not pull it back (full-box median otherwise).
    Raises NoDepthError when the box holds no valid depth.
    """
    w, h = frame.width, frame.height
    x1, y1, x2, y2 = box.bbox_norm
    bbox_px = (x1 * w, y1 * h, x2 * w, y2 * h)
    stats = box_depth_stats(frame.depth_mm, bbox_px, search_radius_px)
    cx, cy = (bbox_px[0] + bbox_px[2]) / 2.0, (bbox_px[1] + bbox_px[3]) / 2.0
    hw, hh = (bbox_px[2] - bbox_px[0]) / 4.0, (bbox_px[3] - bbox_px[1]) / 4.0
    depth_mm = _inner_median(frame, (cx - hw, cy - hh, cx + hw, cy + hh), stats, search_radius_px)
    # Pixel centres sit at +0.5 of the continuous box coordinates; deproject uses centres.
    xyz = deproject_pixels(frame.intrinsics, [[cx - 0.5, cy - 0.5]], [depth_mm / 1000.0])[0]
    return GroundingTarget(
        label=label,
        bbox_norm=box.bbox_norm,
        bbox_px=bbox_px,
        depth_mm=stats,
        xyz_camera_m=(float(xyz[0]), float(xyz[1]), float(xyz[2])),
    )


def _inner_median(
    frame: RGBDFrame,
    inner_px: tuple[float, float, float, float],
    stats: DepthStats,
    search_radius_px: int,
) -> float:
    try:
        return box_depth_stats(frame.depth_mm, inner_px, search_radius_px).median
    except SpatialBotRosError:  # inner box empty of depth or of area: fall back to the full box
        return stats.median


class SpatialBotEngine:
    """GroundingEngine running SpatialBot through transformers with the Depth API loop."""

    name = ENGINE_NAME

    def __init__(self, config: SpatialBotConfig, loaded: LoadedModel | None = None) -> None:
        """Load the model now (ModelLoadError names the path) unless `loaded` is given."""
        self.config = config
        self.loaded = loaded or load_model(
            config.model_path, config.device, config.dtype, config.trust_remote_code
        )

    # -- GroundingEngine -----------------------------------------------------------------------
    def run(self, frame: RGBDFrame, task: str) -> EngineResult:
        """Ground `task` in `frame`; every failure is an error result, never an exception."""
        t0 = time.perf_counter()
        result = EngineResult(task=task, engine=self.name, status="error")
        try:
            self._run(frame, task, result)
        except Exception as exc:  # the port's contract: run() never raises
            result.status = "error"
            result.error = f"SpatialBot engine failed: {type(exc).__name__}: {exc}"
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1000.0
        return result

    def _run(self, frame: RGBDFrame, task: str, result: EngineResult) -> None:
        text = task.strip() if isinstance(task, str) else task
        try:
            parsed = parse_task(task, max_chars=self.config.max_task_chars)
            kind, phrase = parsed.kind, parsed.object_phrase.strip()
        except TaskParseError as exc:
            # A free-form question (SpatialBench asks many the parser has no form for) still
            # goes to the model as text; anything else is reported as unparseable.
            within = isinstance(text, str) and 0 < len(text) <= self.config.max_task_chars
            if not (within and text.endswith("?")):
                result.error = f"cannot parse task: {exc}"
                return
            kind, phrase = "question", ""
            result.notes.append(f"task parser: {exc}; asked the model as a free-form question")
        result.kind = kind
        grounding = kind in ("grasp", "point")
        label = phrase or task.strip()
        question = grounding_question(label) if grounding else task.strip()
        result.trace.append(Turn("user", question))

        t = time.perf_counter()
        prompt_ids, images = self._inputs(frame, question)
        result.timings_ms["preprocess"] = (time.perf_counter() - t) * 1000.0
        t = time.perf_counter()
        loop = run_tool_loop(
            self.loaded.model,
            self.loaded.tokenizer,
            prompt_ids,
            images,
            lambda x, y: self._depth_call(frame, x, y),
            max_new_tokens=self.config.max_new_tokens,
            max_depth_rounds=self.config.max_depth_rounds,
        )
        result.timings_ms["generate"] = (time.perf_counter() - t) * 1000.0
        self._record_loop(result, loop)
        if not grounding:
            if not loop.answer:
                result.error = "model returned an empty answer"
                return
            result.status = "ok"
            return
        t = time.perf_counter()
        box = self._find_box(loop, frame)
        if box is None:
            result.error = (
                f"expected a bounding box [x1, y1, x2, y2] for {label!r} in the model output, "
                f"got {loop.answer[:200]!r}"
            )
            return
        try:
            result.target = target_from_box(frame, box, label, self.config.depth_search_radius_px)
        except SpatialBotRosError as exc:
            result.error = f"box {list(box.bbox_norm)} for {label!r} has no usable depth: {exc}"
            return
        finally:
            result.timings_ms["postprocess"] = (time.perf_counter() - t) * 1000.0
        if box.clipped:
            result.notes.append(f"box {box.text} clipped to the image")
        result.status = "ok"

    # -- helpers -------------------------------------------------------------------------------
    def _inputs(self, frame: RGBDFrame, question: str) -> tuple[list[int], Any]:
        """Prompt ids (chunk0 + [-201, -202] + chunk1) and the processed RGB + depth images."""
        from PIL import Image

        model, tokenizer = self.loaded.model, self.loaded.tokenizer
        chunks = [tokenizer(c).input_ids for c in build_prompt(question).split(IMAGE_SPLIT)]
        prompt_ids = join_prompt_ids(chunks)
        rgb = Image.fromarray(np.ascontiguousarray(frame.rgb), "RGB")
        depth = Image.fromarray(encode_depth(frame.depth_mm), "RGB")
        images = model.process_images([rgb, depth], model.config)
        device = getattr(model, "device", None)
        if isinstance(images, list):
            images = [im.to(dtype=model.dtype, device=device) for im in images]
        else:
            images = images.to(dtype=model.dtype, device=device)
        return prompt_ids, images

    def _depth_call(self, frame: RGBDFrame, x: float, y: float) -> DepthCall:
        """Answer one `Depth(x, y)` from the frame's depth map (the Depth API)."""
        try:
            point = depth_at_norm(frame.depth_mm, x, y, self.config.depth_search_radius_px)
        except SpatialBotRosError as exc:
            return DepthCall(x, y, None, "none", str(exc))
        return DepthCall(x, y, point.depth_mm, point.source)

    def _find_box(self, loop: LoopResult, frame: RGBDFrame) -> ParsedBox | None:
        """The box from the final answer, else from the latest earlier turn that has one."""
        texts = [loop.answer, *reversed(loop.assistant_texts)]
        for text in texts:
            try:
                box = parse_bbox(text, frame.width, frame.height)
            except SpatialBotRosError:
                continue
            if self.config.box_coords == "padded":
                norm = padded_norm_to_image_norm(box.bbox_norm, frame.width, frame.height)
                box = ParsedBox(norm, box.units, box.text, box.clipped)
            return box
        return None

    @staticmethod
    def _record_loop(result: EngineResult, loop: LoopResult) -> None:
        result.answer = loop.answer
        result.trace.extend(loop.turns)
        result.depth_calls.extend(loop.depth_calls)
        result.notes.extend(loop.notes)
        s = loop.stats
        result.notes.append(
            f"tokens: prompt {s.prompt_positions}, prefill {s.prefill_tokens}, "
            f"decode {s.decode_tokens}, Depth API rounds {s.rounds}"
        )


@register_engine(ENGINE_NAME)
def make_spatialbot_engine(config: Mapping[str, Any]) -> SpatialBotEngine:
    """Registry factory: validate the config and load the model (errors name the path)."""
    return SpatialBotEngine(SpatialBotConfig.from_mapping(config))
