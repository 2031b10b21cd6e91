"""The weight-free grounding engine: depth segmentation plus referring-expression relations.

No model, no weights: objects are segmented from depth (`scene_segmentation`), described
(3D centroid, extent, colour name, round/angular shape) and the task's referring expression is
resolved from the camera's viewpoint by `core.relations`.  It is the default engine when no
model is configured, and the reference the SpatialBot engine is compared with.

Categories.  This engine cannot recognise object categories, but it can measure shape from
depth (`scene_segmentation`: footprint round/angular, flat or domed top, height vs width) and
some category words name a shape (`CATEGORY_SHAPES`):

- cup, teacup, mug, glass, can, bottle, jar, tin, cylinder -> "cylinder" (upright, round
  footprint, flat top); box, block, cube, brick, carton -> "box" (angular footprint, flat
  top); ball, sphere -> "ball" (domed top, about as tall as wide).  Only segments of that
  shape class are candidates, before colours, relations and ordinals apply ("the middle cup"
  is the middle of the cup-shaped segments).  A segment with a flat top whose footprint is
  unclear (class "flat": too little side wall visible, e.g. partly hidden) stays a candidate
  for cylinder and box words alike, so a partly hidden cup is not dropped.  A note says which
  filter was applied and what it kept.  This is a necessary condition, not recognition: a can
  and a cup look alike.
- no segment of that class: references ("grasp the ball") come back as an error naming the
  shapes seen, rather than a guess among objects that measurably are not that shape (a grasp
  of the wrong kind of object is worse than none; "the object ..." chooses among all);
  counting answers 0 and existence answers no, with the same note;
- shapes need the right intrinsics: when the unoccluded objects' walls lean against the
  support plane (`SegmentedScene.wall_lean` beyond `max_wall_lean`, 0.1 m/m; right intrinsics
  measure <= 0.053, an assumed 69 deg field of view for a 52 deg camera >= 0.156), the
  filter is off and a note says why (SpatialBench images come without intrinsics);
- object, thing, item, one, or no category: every segmented object is a candidate;
- any other category word (bowl, banana, plate, ...): every object is still a candidate and a
  note says the category could not be checked; when the scene holds objects of clearly
  different shapes (shape classes or footprints differ, or height/width ratios more than
  `shape_aspect_ratio` (4.5) times apart), the category might be what tells them apart: the
  engine says so in the notes *and* in the answer, and picks among all objects by the other
  words of the task.  It never filters by a category whose shape it cannot measure.

3D point.  `xyz_camera_m` is the centroid of the object's visible surface points in the camera
optical frame (not the volumetric centre, which lies about one radius further away).
Depth statistics are over the object's mask (the object's own pixels with depth), not its box,
so table pixels inside the box do not enter them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from spatialbot_ros.core.depth_api import DepthStats, depth_at_norm
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.relations import Candidate, RelationError, Selection, select
from spatialbot_ros.vlm.base import DepthCall, EngineResult, GroundingTarget, Turn, register_engine
from spatialbot_ros.vlm.scene_segmentation import (
    SegmentationConfig,
    SegmentedObject,
    SegmentedScene,
    segment_tabletop,
)
from spatialbot_ros.vlm.task_parser import (
    ObjectRef,
    ParsedTask,
    TaskParseError,
    parse_task,
)

__all__ = ["CATEGORY_SHAPES", "GeometricEngine", "GeometricEngineConfig", "make_geometric_engine"]

# Category words whose shape class depth can measure (see the module docstring).
CATEGORY_SHAPES: dict[str, str] = {
    **dict.fromkeys(
        ("cup", "teacup", "mug", "glass", "can", "bottle", "jar", "tin", "cylinder"), "cylinder"
    ),
    **dict.fromkeys(("box", "block", "cube", "brick", "carton"), "box"),
    **dict.fromkeys(("ball", "sphere"), "ball"),
}
_SHAPE_TEXT = {
    "cylinder": "cup-shaped (upright, round footprint, flat top)",
    "box": "box-shaped (angular footprint, flat top)",
    "ball": "ball-shaped (domed top, about as tall as wide)",
}

_NEUTRAL_CATEGORIES = frozenset({"object", "thing", "item", "one"})
_GRIPPER_WORDS = frozenset({"gripper", "robot", "hand", "arm", "end effector", "effector"})


@dataclass(frozen=True)
class GeometricEngineConfig:
    """Settings of the weight-free engine (from YAML: `engine: geometric` + these keys)."""

    max_task_chars: int = 500
    shape_aspect_ratio: float = 4.5  # height/width ratios this far apart = different shapes
    touch_tolerance_m: float = 0.015  # 3D gap under which two objects count as touching
    max_wall_lean: float = 0.1  # scene wall lean (m/m) beyond which shapes are not trusted
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> GeometricEngineConfig:
        """Build from a YAML-style mapping; unknown keys raise ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known - {"name", "engine"})
        if unknown:
            raise ValueError(f"expected geometric engine keys {sorted(known)}, got {unknown}")
        kwargs: dict[str, Any] = {k: v for k, v in config.items() if k in known}
        seg = kwargs.get("segmentation")
        if isinstance(seg, Mapping):
            seg_known = {f.name for f in fields(SegmentationConfig)}
            bad = sorted(set(seg) - seg_known)
            if bad:
                raise ValueError(f"expected segmentation keys {sorted(seg_known)}, got {bad}")
            kwargs["segmentation"] = SegmentationConfig(**dict(seg))
        return cls(**kwargs)


class _TaskError(Exception):
    """Internal: a task that cannot be answered; becomes status='error'."""


class GeometricEngine:
    """Segment tabletop objects from depth and resolve spatial referring expressions."""

    name = "geometric"

    def __init__(self, config: GeometricEngineConfig | None = None) -> None:
        """Keep the config; nothing heavy to load."""
        self.config = config or GeometricEngineConfig()

    # -- entry point -------------------------------------------------------------------------

    def run(self, frame: RGBDFrame, task: str) -> EngineResult:
        """Ground `task` in `frame`; every failure comes back as status='error'."""
        t0 = time.perf_counter()
        result = EngineResult(task=str(task), engine=self.name, status="ok")
        result.trace.append(Turn("user", str(task)))
        try:
            parsed = parse_task(task, max_chars=self.config.max_task_chars)
        except TaskParseError as exc:
            return self._error(result, str(exc), t0)
        result.kind = parsed.kind
        result.timings_ms["parse"] = (time.perf_counter() - t0) * 1e3
        try:
            self._run_parsed(frame, parsed, result)
        except _TaskError as exc:
            return self._error(result, str(exc), t0)
        except (SpatialBotRosError, ValueError) as exc:
            return self._error(result, f"{type(exc).__name__}: {exc}", t0)
        except Exception as exc:  # the port promises never to raise
            return self._error(result, f"internal error {type(exc).__name__}: {exc}", t0)
        result.trace.append(Turn("assistant", result.answer))
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        return result

    def _error(self, result: EngineResult, message: str, t0: float) -> EngineResult:
        result.status = "error"
        result.error = message
        result.target = None
        result.answer = result.answer or message
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        return result

    # -- dispatch ----------------------------------------------------------------------------

    def _run_parsed(self, frame: RGBDFrame, parsed: ParsedTask, result: EngineResult) -> None:
        if parsed.question_type == "depth" and not parsed.refs:
            self._depth_at_points(frame, parsed, result)
            return
        t = time.perf_counter()
        try:
            scene = segment_tabletop(frame, self.config.segmentation)
        except SpatialBotRosError as exc:
            raise _TaskError(f"cannot segment the scene: {exc}") from exc
        result.timings_ms["segment"] = (time.perf_counter() - t) * 1e3
        result.notes.append(
            f"segmented {len(scene.objects)} object(s) on a support plane "
            f"({scene.plane.inliers} px, rms {scene.plane.rms_m * 1000:.1f} mm)"
        )
        t = time.perf_counter()
        qtype = parsed.question_type
        if qtype is None:
            self._ground(frame, scene, parsed, result)
        elif qtype == "depth":
            self._depth_of_object(frame, scene, parsed, result)
        elif qtype == "proximity":
            self._proximity(frame, scene, parsed, result)
        elif qtype == "position":
            self._position(frame, scene, parsed, result)
        elif qtype == "existence":
            self._existence(scene, parsed, result)
        elif qtype == "counting":
            self._counting(scene, parsed, result)
        elif qtype == "reach":
            self._reach(frame, scene, parsed, result)
        elif qtype == "size":
            self._size(frame, scene, parsed, result)
        result.timings_ms["resolve"] = (time.perf_counter() - t) * 1e3

    # -- resolution helpers --------------------------------------------------------------------

    def _category_notes(self, scene: SegmentedScene, ref: ObjectRef) -> tuple[list[str], bool]:
        """Notes about categories and whether the category may have been needed (see module doc)."""
        cat = ref.category
        objs = scene.objects
        if cat is None or cat in _NEUTRAL_CATEGORIES or not objs:
            return [], False
        shapes = {(o.shape, o.shape_class) for o in objs}
        aspects = [o.aspect for o in objs if math.isfinite(o.aspect) and o.aspect > 0]
        spread = max(aspects) / min(aspects) if aspects else 1.0
        mixed = len(shapes) > 1 or spread > self.config.shape_aspect_ratio
        if mixed:
            desc = _describe(objs)
            return [
                f"the scene holds objects of different shapes ({desc}); this engine cannot "
                f"recognise which are '{cat}', so it chose among all {len(objs)} objects by "
                "the other words of the task"
            ], True
        return [
            f"cannot recognise '{cat}'; every segmented object (all alike in shape) was "
            "treated as a candidate"
        ], False

    def _shape_filter(
        self, scene: SegmentedScene, ref: ObjectRef, result: EngineResult
    ) -> tuple[list[SegmentedObject], str | None]:
        """Segments whose shape class fits ref's category (all when it names none) + class."""
        cat = ref.category
        cls = CATEGORY_SHAPES.get(cat) if cat is not None else None
        objs = scene.objects
        lean = scene.wall_lean
        if cls is not None and math.isfinite(lean) and abs(lean) > self.config.max_wall_lean:
            note = (
                f"shape filter off: the objects' walls lean {lean:+.2f} m/m against the support "
                "plane (upright walls: ~0), so the camera intrinsics look wrong and shapes "
                f"are not measured; all {len(objs)} segmented objects were taken as '{cat}' "
                "candidates"
            )
            if note not in result.notes:
                result.notes.append(note)
            return list(objs), None
        if cls is None:
            notes, _ = self._category_notes(scene, ref)
            result.notes.extend(n for n in notes if n not in result.notes)
            return list(objs), None
        # A flat top whose footprint the side wall does not show (partly hidden) may be
        # either a cup or a box: kept for both rather than dropping a cup that is there.
        accepted = {cls, "flat"} if cls in ("cylinder", "box") else {cls}
        kept = [o for o in objs if o.shape_class in accepted]
        unclear = [o.index for o in kept if o.shape_class == "flat"]
        if kept:
            note = (
                f"shape filter: '{cat}' taken as {_SHAPE_TEXT[cls]}; kept {len(kept)} of "
                f"{len(objs)} segments (objects {', '.join(str(o.index) for o in kept)}"
                + (
                    f"; {', '.join(map(str, unclear))}: flat top, footprint unclear"
                    if unclear
                    else ""
                )
                + "); shape only, the category itself is not recognised"
            )
        else:
            note = (
                f"shape filter: no {_SHAPE_TEXT[cls]} object found for '{cat}' among "
                f"{len(objs)} segments ({_describe(objs)})"
            )
        if note not in result.notes:
            result.notes.append(note)
        return kept, cls

    @staticmethod
    def _candidates(objects: list[SegmentedObject]) -> list[Candidate]:
        return [
            Candidate(
                index=o.index,
                image_x=o.centroid_px[0],
                image_y=o.centroid_px[1],
                distance_m=o.distance_m,
                size=o.size_m3,
                height_m=o.top_height_m,
                color=o.color,
                xyz_camera_m=o.xyz_camera_m,
            )
            for o in objects
        ]

    def _resolve(
        self, scene: SegmentedScene, ref: ObjectRef, result: EngineResult
    ) -> SegmentedObject:
        """The object `ref` means; notes go into result; RelationError -> _TaskError."""
        if not scene.objects:
            raise _TaskError("found no objects standing on the support plane")
        objs, cls = self._shape_filter(scene, ref, result)
        if not objs:
            raise _TaskError(
                f"no {_SHAPE_TEXT[str(cls)]} object for '{ref.phrase}' among the "
                f"{len(scene.objects)} segmented objects ({_describe(scene.objects)}); "
                "say 'object' to choose among all of them"
            )
        cands = self._candidates(objs)
        anchor = None
        if ref.anchor is not None and ref.anchor_relation is not None:
            anchor_objs, anchor_cls = self._shape_filter(scene, ref.anchor, result)
            if not anchor_objs:
                raise _TaskError(
                    f"cannot find the reference object '{ref.anchor.phrase}': no "
                    f"{_SHAPE_TEXT[str(anchor_cls)]} object among the {len(scene.objects)} "
                    f"segmented objects ({_describe(scene.objects)})"
                )
            anchor_cands = self._candidates(anchor_objs)
            try:
                anchor_sel = self._select(anchor_cands, ref.anchor, None, None)
            except RelationError as exc:
                raise _TaskError(
                    f"cannot find the reference object '{ref.anchor.phrase}': {exc}"
                ) from exc
            anchor = next(c for c in anchor_cands if c.index == anchor_sel.index)
            result.notes.extend(anchor_sel.notes)
        try:
            sel = self._select(cands, ref, anchor, ref.anchor_relation if anchor else None)
        except RelationError as exc:
            raise _TaskError(f"cannot resolve '{ref.phrase}': {exc}") from exc
        result.notes.extend(sel.notes)
        if ref.unknown_words:
            result.notes.append(f"ignored words this engine cannot use: {list(ref.unknown_words)}")
        return next(o for o in objs if o.index == sel.index)

    @staticmethod
    def _select(
        cands: list[Candidate],
        ref: ObjectRef,
        anchor: Candidate | None,
        anchor_relation: str | None,
    ) -> Selection:
        return select(
            cands,
            colors=ref.colors,
            relations=list(ref.relations),
            ordinal=ref.ordinal,
            ordinal_from=ref.ordinal_from,
            anchor=anchor,
            anchor_relation=anchor_relation,
            noun=ref.category or "object",
        )

    def _category_caveat(self, result: EngineResult) -> str:
        for n in result.notes:
            if n.startswith("the scene holds objects of different shapes"):
                return (
                    " (Note: objects of different shapes are present and this engine cannot "
                    "recognise categories; chosen by position, size and colour only.)"
                )
        return ""

    # -- targets -------------------------------------------------------------------------------

    @staticmethod
    def _depth_stats(frame: RGBDFrame, obj: SegmentedObject) -> DepthStats:
        x1, y1, x2, y2 = obj.bbox_px
        sub = frame.depth_mm[y1:y2, x1:x2]
        m = obj.mask[y1:y2, x1:x2]
        vals = sub[m & (sub > 0)].astype(np.float64)
        cu, cv = round(obj.centroid_px[0]), round(obj.centroid_px[1])
        centre_val = float(frame.depth_mm[cv, cu]) if obj.mask[cv, cu] else 0.0
        median = float(np.median(vals))
        return DepthStats(
            center=centre_val if centre_val > 0 else median,
            mean=float(vals.mean()),
            median=median,
            min=float(vals.min()),
            max=float(vals.max()),
            valid_fraction=float(vals.size) / float(max(1, int(m.sum()))),
        )

    def _target(self, frame: RGBDFrame, obj: SegmentedObject, ref: ObjectRef) -> GroundingTarget:
        x1, y1, x2, y2 = obj.bbox_px
        w, h = frame.width, frame.height
        label = ref.phrase
        if obj.color not in ref.colors:
            label = f"{label} ({obj.color})"
        return GroundingTarget(
            label=label,
            bbox_norm=(x1 / w, y1 / h, x2 / w, y2 / h),
            bbox_px=(float(x1), float(y1), float(x2), float(y2)),
            depth_mm=self._depth_stats(frame, obj),
            xyz_camera_m=obj.xyz_camera_m,
            mask=obj.mask,
        )

    def _ground(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        ref = parsed.refs[0]
        obj = self._resolve(scene, ref, result)
        target = self._target(frame, obj, ref)
        result.target = target
        bn = ", ".join(f"{v:.2f}" for v in target.bbox_norm)
        result.answer = (
            f"{target.label}: [{bn}], depth {target.depth_mm.median:.0f} mm"
            + self._category_caveat(result)
        )

    # -- questions -----------------------------------------------------------------------------

    def _depth_at_points(self, frame: RGBDFrame, parsed: ParsedTask, result: EngineResult) -> None:
        answers = []
        for x, y in parsed.points_norm:
            try:
                pd = depth_at_norm(frame.depth_mm, x, y)
            except SpatialBotRosError as exc:
                result.depth_calls.append(DepthCall(x, y, None, "none", str(exc)))
                raise _TaskError(f"no depth at ({x}, {y}): {exc}") from exc
            result.depth_calls.append(DepthCall(x, y, pd.depth_mm, pd.source))
            result.trace.append(Turn("api", f"Depth({x},{y})={pd.depth_mm:.0f}"))
            answers.append(f"{pd.depth_mm:.0f}")
        if not answers:
            raise _TaskError("expected a point like <0.5,0.2> or an object, got neither")
        result.answer = answers[0] if len(answers) == 1 else ", ".join(answers)

    def _depth_of_object(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        ref = parsed.refs[0]
        obj = self._resolve(scene, ref, result)
        result.target = self._target(frame, obj, ref)
        d = result.target.depth_mm
        result.answer = (
            f"The {ref.phrase} is about {d.median:.0f} mm from the camera "
            f"(min {d.min:.0f}, max {d.max:.0f} mm)." + self._category_caveat(result)
        )

    def _pair(
        self, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> tuple[SegmentedObject, SegmentedObject]:
        if len(parsed.refs) < 2:
            raise _TaskError(f"expected two objects to compare, got {len(parsed.refs)}")
        a = self._resolve(scene, parsed.refs[0], result)
        b = self._resolve(scene, parsed.refs[1], result)
        if a.index == b.index:
            raise _TaskError(
                f"'{parsed.refs[0].phrase}' and '{parsed.refs[1].phrase}' resolve to the same "
                "object; cannot compare an object with itself"
            )
        return a, b

    def _proximity(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        a, b = self._pair(scene, parsed, result)
        pa, pb = parsed.refs[0].phrase, parsed.refs[1].phrase
        want_near = parsed.comparison != "farthest"
        a_wins = (a.distance_m < b.distance_m) == want_near
        word = "closer" if want_near else "farther"
        if abs(a.distance_m - b.distance_m) < 0.01:
            result.notes.append(
                f"the two distances differ by {abs(a.distance_m - b.distance_m) * 1000:.0f} mm "
                "only; the answer is uncertain"
            )
        win_obj, win_phrase = (a, pa) if a_wins else (b, pb)
        result.target = self._target(frame, win_obj, parsed.refs[0 if a_wins else 1])
        if parsed.yes_no:
            result.answer = (
                f"Yes, the {pa} is {word} ({a.distance_m:.2f} m vs {b.distance_m:.2f} m)."
                if a_wins
                else f"No, the {pb} is {word}."
            )
        else:
            result.answer = f"The {win_phrase} is {word} to the camera."
        result.answer += self._category_caveat(result)

    def _position(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        comp = parsed.comparison
        if len(parsed.refs) == 1:
            obj = self._resolve(scene, parsed.refs[0], result)
            result.target = self._target(frame, obj, parsed.refs[0])
            u, v = obj.centroid_px
            side = "left" if u < frame.width / 2 else "right"
            vside = "top" if v < frame.height / 2 else "bottom"
            phrase = parsed.refs[0].phrase
            if comp in ("left", "right"):
                yes = side == comp
            elif comp in ("top", "bottom"):
                yes = vside == comp
            elif comp == "middle":
                yes = abs(u - frame.width / 2) < frame.width / 6
                side = "middle" if yes else side
            else:
                result.answer = f"The {phrase} is on the {side} of the image."
                return
            result.answer = (
                f"Yes, the {phrase} is on the {comp} of the image."
                if yes
                else f"No, the {phrase} is on the {side if comp != 'top' else vside} of the image."
            )
            return
        a, b = self._pair(scene, parsed, result)
        pa, pb = parsed.refs[0].phrase, parsed.refs[1].phrase
        relations = _relations_between(a, b)
        result.target = self._target(frame, a, parsed.refs[0])
        truth_text = " and ".join(relations)
        if comp is None:
            result.answer = f"The {pa} is {truth_text} the {pb}."
        else:
            phrase = _RELATION_TEXT.get(comp, comp)
            yes = phrase in relations
            result.answer = (
                f"Yes, the {pa} is {phrase} the {pb}."
                if yes
                else f"No, the {pa} is {truth_text} the {pb}."
            )
        result.answer += self._category_caveat(result)

    def _matching(
        self, scene: SegmentedScene, ref: ObjectRef, result: EngineResult
    ) -> list[SegmentedObject]:
        objs, _ = self._shape_filter(scene, ref, result)
        if ref.colors:
            objs = [o for o in objs if o.color in ref.colors]
        return objs

    def _existence(self, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult) -> None:
        ref = parsed.refs[0]
        cat = ref.category
        if cat is not None and cat not in CATEGORY_SHAPES and cat not in _NEUTRAL_CATEGORIES:
            result.notes.append(f"cannot recognise '{cat}': no category recognition")
            result.answer = (
                f"I cannot tell whether there is a {ref.phrase}: this engine sees "
                f"{len(scene.objects)} object(s) but cannot recognise categories."
            )
            return
        matches = self._matching(scene, ref, result)
        if matches and (ref.relations or ref.ordinal is not None):
            try:
                self._resolve(scene, ref, result)
            except _TaskError:
                matches = []
        result.answer = (
            f"Yes, there is a {ref.phrase} ({len(matches)} matching)."
            if matches
            else f"No, there is no {ref.phrase}."
        ) + self._category_caveat(result)

    def _counting(self, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult) -> None:
        ref = parsed.refs[0]
        matches = self._matching(scene, ref, result)
        # The bare number: the reference scorer reads the answer with int().
        result.answer = str(len(matches))
        result.notes.append(
            f"counted {len(matches)} of {len(scene.objects)} segmented objects"
            + (f" with colour {'/'.join(ref.colors)}" if ref.colors else "")
        )

    def _gripper(self, scene: SegmentedScene) -> SegmentedObject:
        hovering = [o for o in scene.objects if o.bottom_height_m > 0.03]
        if not hovering:
            raise _TaskError(
                "expected the gripper as an object hovering above the table, found none"
            )
        return max(hovering, key=lambda o: o.bottom_height_m)

    def _reach(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        if len(parsed.refs) >= 2:
            first = parsed.refs[0]
            if first.category in _GRIPPER_WORDS:
                a = self._gripper(scene)
                b = self._resolve(scene, parsed.refs[1], result)
            else:
                a, b = self._pair(scene, parsed, result)
        else:
            a = self._gripper(scene)
            b = self._resolve(scene, parsed.refs[0], result)
        if a.index == b.index:
            raise _TaskError("the gripper and the object resolve to the same segment")
        gap = _min_gap_m(frame, a, b)
        touching = gap <= self.config.touch_tolerance_m
        result.notes.append(
            f"smallest 3D gap between the two segments: {gap * 1000:.0f} mm "
            f"(touching below {self.config.touch_tolerance_m * 1000:.0f} mm); the gripper is "
            "taken to be the segment hovering highest above the table"
        )
        result.target = self._target(frame, b, parsed.refs[-1])
        phrase = parsed.refs[-1].phrase
        result.answer = (
            f"Yes, it is touching the {phrase} (gap {gap * 1000:.0f} mm)."
            if touching
            else f"No, it is not touching the {phrase} (gap {gap * 1000:.0f} mm)."
        )

    def _size(
        self, frame: RGBDFrame, scene: SegmentedScene, parsed: ParsedTask, result: EngineResult
    ) -> None:
        if len(parsed.refs) == 1:
            ref = parsed.refs[0]
            obj = self._resolve(scene, ref, result)
            result.target = self._target(frame, obj, ref)
            result.answer = (
                f"The {ref.phrase} is about {obj.width_m * 100:.0f} cm wide and "
                f"{obj.top_height_m * 100:.0f} cm tall." + self._category_caveat(result)
            )
            return
        a, b = self._pair(scene, parsed, result)
        pa, pb = parsed.refs[0].phrase, parsed.refs[1].phrase
        comp = parsed.comparison or "biggest"
        by_size: tuple[Callable[[SegmentedObject], float], bool, str] = (
            lambda o: o.size_m3,
            True,
            "bigger",
        )
        keys: dict[str, tuple[Callable[[SegmentedObject], float], bool, str]] = {
            "biggest": by_size,
            "smallest": (lambda o: o.size_m3, False, "smaller"),
            "tallest": (lambda o: o.top_height_m, True, "taller"),
            "shortest": (lambda o: o.top_height_m, False, "shorter"),
        }
        fn, larger, word = keys.get(comp, by_size)
        a_wins = (fn(a) > fn(b)) == larger
        va, vb = fn(a), fn(b)
        if abs(va - vb) <= 0.1 * max(abs(va), abs(vb)):
            result.notes.append(f"the two objects are within 10 % on '{word}'; uncertain")
        result.target = self._target(frame, a if a_wins else b, parsed.refs[0 if a_wins else 1])
        if parsed.yes_no:
            result.answer = (
                f"Yes, the {pa} is {word} than the {pb}."
                if a_wins
                else f"No, the {pa} is not {word} than the {pb}."
            )
        else:
            result.answer = f"The {pa if a_wins else pb} is {word}."
        result.answer += self._category_caveat(result)


_RELATION_TEXT = {
    "left": "to the left of",
    "right": "to the right of",
    "above": "above",
    "below": "below",
    "behind": "behind",
    "in_front_of": "in front of",
}


def _describe(objects: list[SegmentedObject]) -> str:
    """'0: cylinder red, 1: box blue' for notes and errors."""
    return ", ".join(f"{o.index}: {o.shape_class} {o.color}" for o in objects)


def _relations_between(a: SegmentedObject, b: SegmentedObject) -> list[str]:
    """How a lies relative to b from the camera: left/right always, depth order if clear."""
    rel = ["to the left of" if a.centroid_px[0] < b.centroid_px[0] else "to the right of"]
    if abs(a.distance_m - b.distance_m) > 0.03:
        rel.append("behind" if a.distance_m > b.distance_m else "in front of")
    # "above"/"below": higher top above the support plane, when clearly so.
    if a.bottom_height_m > b.top_height_m - 0.005:
        rel.append("above")
    elif b.bottom_height_m > a.top_height_m - 0.005:
        rel.append("below")
    return rel


def _min_gap_m(frame: RGBDFrame, a: SegmentedObject, b: SegmentedObject) -> float:
    """Smallest 3D distance between the visible points of two objects (subsampled), metres."""
    from scipy.spatial import cKDTree

    def points(o: SegmentedObject) -> np.ndarray:
        v, u = np.nonzero(o.mask & (frame.depth_mm > 0))
        if v.size > 4000:
            step = v.size // 4000 + 1
            v, u = v[::step], u[::step]
        z = frame.depth_mm[v, u].astype(np.float64) * 1e-3
        intr = frame.intrinsics
        return np.column_stack(((u - intr.cx) / intr.fx * z, (v - intr.cy) / intr.fy * z, z))

    pa, pb = points(a), points(b)
    if pa.size == 0 or pb.size == 0:
        return float("inf")
    d, _ = cKDTree(pb).query(pa, k=1)
    return float(np.min(d))


@register_engine("geometric")
def make_geometric_engine(config: Mapping[str, Any]) -> GeometricEngine:
    """Factory used by `make_engine("geometric", config)`."""
    return GeometricEngine(GeometricEngineConfig.from_mapping(config))
