"""SpatialBench-format evaluation: load a dataset, run an engine, score like the reference.

Layout (as the public SpatialBench release and the reference eval script expect):

    DIR/positional.json, existence.json, counting.json, reach.json, size.json (+ others)
    DIR/<folder>/<name>.<ext>        the RGB image an entry's "image" names ("folder/name.ext")
    DIR/<folder>_d/<name>.png        its depth image, 16-bit, millimetres

Each JSON file is a list of entries {"id", "image" (str or list), "question", "answer"}; the
depth path is derived exactly as the reference does: first path component + "_d", then the
file name up to its first "." + ".png".  Entries whose id starts with "grounding" hold
"objects": [{phrase: [x1, y1, x2, y2]}, ...] and expand into one box question per phrase.

Scoring reproduces the reference arithmetic (bunny/eval/eval_spatialbench.py of
BAAI-DCAI/SpatialBot), per file name:

- reach.json, size.json: entries in (positive, negative) pairs; per pair
  accuracy = [gt_pos in resp_pos] + [gt_neg in resp_neg], plus 1 more when both are right;
  score = sum / (3 * pairs).  (The reference lists size.json again under plain accuracy; that
  branch is unreachable, so size is scored in pairs.)
- positional.json: plain substring accuracy.
- existence.json: pairs; a pair scores 1 only when both answers are right; score = sum / pairs.
- counting.json: 100 - mean(|int(resp) - int(gt)| / int(gt) * 100), no clipping (a wild count
  can drive the score below 0, as in the reference).

Where the reference would crash this module decides, and says so: a counting response int()
cannot read is read as its first integer, and as an error of 100 % when it has none; an odd
number of entries in a paired file raises ValueError.  Files the reference does not score
(depth.json, proximity.json, ...) get substring accuracy; grounding gets IoU >= 0.5 accuracy;
both are marked as project rules in the table.  An engine error scores as an empty response.

Camera intrinsics are not part of SpatialBench; for engines that deproject depth, each entry
may carry "intrinsics": {fx, fy, cx, cy}, else DIR/intrinsics.json, else a RealSense-like
69 degree horizontal field of view is assumed (noted in the report).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.vlm.base import GroundingEngine

__all__ = [
    "BenchReport",
    "BenchSample",
    "CategoryScore",
    "SampleResult",
    "SpatialBenchError",
    "depth_path_for",
    "format_table",
    "load_spatialbench",
    "main_bench_eval",
    "run_bench_eval",
    "score_category",
    "score_counting",
    "score_existence_pairs",
    "score_reach_size_pairs",
    "score_substring",
]

REFERENCE_FILES = ("positional.json", "existence.json", "counting.json", "reach.json", "size.json")
GROUNDING_PROMPT = (
    "Please provide the bounding box coordinate of the object this sentence describes: "
)
DEFAULT_HFOV_DEG = 69.0


class SpatialBenchError(SpatialBotRosError, ValueError):
    """A dataset that does not follow the SpatialBench layout, or answers that cannot be scored."""


@dataclass(frozen=True)
class BenchSample:
    """One question: its images (RGB + depth paths), the question and the ground truth."""

    id: str
    category: str  # the JSON file's stem: positional, existence, counting, reach, size, ...
    image_path: Path
    depth_path: Path
    question: str
    answer: Any
    intrinsics: Mapping[str, float] | None = None


@dataclass(frozen=True)
class SampleResult:
    """An engine's response to one sample and whether it matches the ground truth."""

    id: str
    category: str
    question: str
    answer: Any
    response: str
    correct: bool
    status: str
    error: str | None = None
    time_ms: float = 0.0


@dataclass(frozen=True)
class CategoryScore:
    """Score of one category, in the reference's units."""

    category: str
    method: str  # "pairs(acc+acc_plus)/3", "substring", "pairs(both)", "100-MRE", ...
    score: float  # points (or 100 - mean relative error for counting)
    full: float  # maximum points (100 for counting)
    percent: float
    samples: int
    engine_errors: int
    reference: bool  # scored as the reference scorer does (False: project rule)


@dataclass
class BenchReport:
    """Per-category scores, per-sample results and notes of one evaluation run."""

    dataset_dir: str
    engine: str
    scores: list[CategoryScore] = field(default_factory=list)
    samples: list[SampleResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "dataset_dir": self.dataset_dir,
            "engine": self.engine,
            "scores": [asdict(s) for s in self.scores],
            "samples": [{**asdict(s), "answer": _jsonable(s.answer)} for s in self.samples],
            "notes": list(self.notes),
        }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


# ---------------------------------------------------------------------------------------------
# Loading


def depth_path_for(dataset_dir: Path, image: str) -> Path:
    """The depth image beside an RGB image, derived exactly as the reference derives it."""
    folder = image.split("/", maxsplit=1)[0] + "_d"
    stem = image.rsplit("/", maxsplit=1)[-1].split(".", maxsplit=1)[0]
    return dataset_dir / folder / (stem + ".png")


def load_spatialbench(
    dataset_dir: str | Path, categories: Sequence[str] | None = None
) -> dict[str, list[BenchSample]]:
    """Samples per category (file stem), in file order; grounding entries expanded per phrase."""
    root = Path(dataset_dir)
    if not root.is_dir():
        raise SpatialBenchError(f"expected a SpatialBench directory, got {str(root)!r}")
    files = sorted(root.glob("*.json"))
    files = [f for f in files if f.name != "intrinsics.json"]
    if categories:
        wanted = {c.removesuffix(".json") for c in categories}
        files = [f for f in files if f.stem in wanted]
        missing = wanted - {f.stem for f in files}
        if missing:
            raise SpatialBenchError(
                f"expected {sorted(c + '.json' for c in missing)} in {root}, got none"
            )
    if not files:
        raise SpatialBenchError(f"expected question files (*.json) in {root}, got none")
    out: dict[str, list[BenchSample]] = {}
    for path in files:
        try:
            entries = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SpatialBenchError(f"cannot read {path}: {exc}") from exc
        if not isinstance(entries, list):
            raise SpatialBenchError(
                f"expected {path.name} to hold a JSON list, got {type(entries).__name__}"
            )
        samples: list[BenchSample] = []
        for idx, entry in enumerate(entries):
            samples.extend(_entry_samples(root, path, idx, entry))
        out[path.stem] = samples
    return out


def _entry_samples(root: Path, path: Path, idx: int, entry: Any) -> list[BenchSample]:
    if not isinstance(entry, Mapping) or "image" not in entry:
        raise SpatialBenchError(
            f"{path.name}[{idx}]: expected an object with 'image', got {entry!r}"
        )
    images = entry["image"] if isinstance(entry["image"], list) else [entry["image"]]
    if not images or not all(isinstance(i, str) for i in images):
        raise SpatialBenchError(f"{path.name}[{idx}]: expected image path(s), got {images!r}")
    image = images[0]  # the engines take one RGB-D pair
    sample_id = str(entry.get("id", idx))
    intr = entry.get("intrinsics")
    common = {
        "category": path.stem,
        "image_path": root / image,
        "depth_path": depth_path_for(root, image),
        "intrinsics": intr if isinstance(intr, Mapping) else None,
    }
    if sample_id.split("_", maxsplit=1)[0] == "grounding":
        out = []
        k = 0
        for obj_boxes in entry.get("objects", []):
            for phrase, box in dict(obj_boxes).items():
                out.append(
                    BenchSample(
                        id=f"{sample_id}_{k}",
                        question=GROUNDING_PROMPT + phrase,
                        answer=box,
                        **common,
                    )
                )
                k += 1
        return out
    for key in ("question", "answer"):
        if key not in entry:
            raise SpatialBenchError(
                f"{path.name}[{idx}]: expected key {key!r}, got {sorted(entry)}"
            )
    return [
        BenchSample(
            id=sample_id,
            question=str(entry["question"]),
            answer=entry["answer"],
            **common,
        )
    ]


def _default_intrinsics(width: int, height: int) -> CameraIntrinsics:
    f = (width / 2.0) / math.tan(math.radians(DEFAULT_HFOV_DEG) / 2.0)
    return CameraIntrinsics(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)


def load_frame(
    sample: BenchSample, dataset_intrinsics: Mapping[str, float] | None = None
) -> tuple[RGBDFrame, str]:
    """RGB-D frame of a sample and where its intrinsics came from."""
    import cv2

    bgr = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SpatialBenchError(f"cannot read RGB image {sample.image_path}")
    rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
    raw = cv2.imread(str(sample.depth_path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise SpatialBenchError(f"cannot read depth image {sample.depth_path}")
    depth = _depth_mm(raw, sample.depth_path)
    h, w = depth.shape
    if rgb.shape[:2] != (h, w):
        rgb = np.asarray(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    spec = sample.intrinsics or dataset_intrinsics
    if spec is not None:
        intr = CameraIntrinsics(
            w, h, float(spec["fx"]), float(spec["fy"]), float(spec["cx"]), float(spec["cy"])
        )
        source = "entry" if sample.intrinsics else "intrinsics.json"
    else:
        intr = _default_intrinsics(w, h)
        source = f"assumed {DEFAULT_HFOV_DEG:.0f} deg horizontal field of view"
    return RGBDFrame(rgb=rgb, depth_mm=depth, intrinsics=intr), source


def _depth_mm(raw: npt.NDArray[Any], path: Path) -> npt.NDArray[np.uint16]:
    if raw.ndim == 2 and raw.dtype == np.uint16:
        return np.ascontiguousarray(raw)
    if raw.ndim == 3 and raw.dtype == np.uint8 and raw.shape[2] == 3:
        # Already in SpatialBot's 3-channel encoding (OpenCV gives BGR): decode it.
        from spatialbot_ros.core.depth_codec import decode_depth

        return np.ascontiguousarray(decode_depth(np.ascontiguousarray(raw[:, :, ::-1])))
    raise SpatialBenchError(
        f"expected depth {path} as a 16-bit single-channel PNG in mm, got "
        f"{raw.dtype} with shape {raw.shape}"
    )


# ---------------------------------------------------------------------------------------------
# Scoring (the reference's arithmetic)


def _hit(gt: Any, response: str) -> bool:
    return str(gt) in response


def _pairs(responses: Sequence[tuple[str, Any]], name: str) -> list[tuple[bool, bool]]:
    if len(responses) % 2:
        raise SpatialBenchError(
            f"expected {name} answers in positive/negative pairs (an even count), "
            f"got {len(responses)}"
        )
    return [
        (_hit(responses[j][1], responses[j][0]), _hit(responses[j + 1][1], responses[j + 1][0]))
        for j in range(0, len(responses), 2)
    ]


def score_reach_size_pairs(responses: Sequence[tuple[str, Any]]) -> tuple[float, float]:
    """(score, full) for reach/size: per pair acc_pos + acc_neg + [both], out of 3."""
    score = 0
    full = 0
    for pos_ok, neg_ok in _pairs(responses, "reach/size"):
        score += int(pos_ok) + int(neg_ok) + int(pos_ok and neg_ok)
        full += 3
    return float(score), float(full)


def score_existence_pairs(responses: Sequence[tuple[str, Any]]) -> tuple[float, float]:
    """(score, full) for existence: a pair scores 1 only when both answers are right."""
    pairs = _pairs(responses, "existence")
    return float(sum(1 for p, n in pairs if p and n)), float(len(pairs))


def score_substring(responses: Sequence[tuple[str, Any]]) -> tuple[float, float]:
    """(score, full): ground truth as a substring of the response, one point each."""
    return float(sum(_hit(gt, r) for r, gt in responses)), float(len(responses))


def _read_count(response: str) -> int | None:
    try:
        return int(response)  # what the reference does
    except ValueError:
        m = re.search(r"-?\d+", response)
        return int(m.group()) if m else None


def score_counting(responses: Sequence[tuple[str, Any]]) -> tuple[float, float]:
    """(100 - mean relative error in %, 100); no clipping, as in the reference."""
    if not responses:
        return 0.0, 100.0
    errors = []
    for response, gt in responses:
        truth = int(gt)
        if truth == 0:
            raise SpatialBenchError("expected counting ground truths > 0, got 0")
        value = _read_count(response)
        errors.append(100.0 if value is None else abs(value - truth) / truth * 100.0)
    return 100.0 - sum(errors) / len(errors), 100.0


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score_category(
    name: str, responses: Sequence[tuple[str, Any]]
) -> tuple[float, float, str, bool]:
    """(score, full, method, reference?) for a category (file stem) and (response, gt) pairs."""
    file = name if name.endswith(".json") else name + ".json"
    if file in ("reach.json", "size.json"):
        return (*score_reach_size_pairs(responses), "pairs (acc+acc_plus)/3", True)
    if file == "positional.json":
        return (*score_substring(responses), "substring", True)
    if file == "existence.json":
        return (*score_existence_pairs(responses), "pairs (both right)", True)
    if file == "counting.json":
        return (*score_counting(responses), "100 - mean rel. error %", True)
    return (*score_substring(responses), "substring (project rule)", False)


# ---------------------------------------------------------------------------------------------
# Running


def _grounding_correct(sample: BenchSample, result: Any, frame: RGBDFrame) -> bool:
    target = getattr(result, "target", None)
    box = sample.answer
    if target is None or not isinstance(box, Sequence) or len(box) != 4:
        return False
    gt = [float(v) for v in box]
    # Normalised ground truth is compared with the normalised box, pixels with pixels.
    pred = list(target.bbox_norm) if max(gt) <= 1.0 else list(target.bbox_px)
    return _iou(pred, gt) >= 0.5


def run_bench_eval(
    dataset_dir: str | Path,
    engine: GroundingEngine,
    categories: Sequence[str] | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Run every sample through `engine` and score each category as the reference does."""
    root = Path(dataset_dir)
    data = load_spatialbench(root, categories)
    intr_file = root / "intrinsics.json"
    dataset_intr = json.loads(intr_file.read_text()) if intr_file.is_file() else None
    report = BenchReport(dataset_dir=str(root), engine=getattr(engine, "name", "?"))
    sources: set[str] = set()
    total = sum(len(v) if limit is None else min(limit, len(v)) for v in data.values())
    done = 0
    for category, all_samples in data.items():
        samples = all_samples
        if limit is not None:
            samples = all_samples[: limit - (limit % 2) if category in _PAIRED else limit]
        pairs: list[tuple[str, Any]] = []
        grounding_hits = 0
        errors = 0
        for sample in samples:
            t = time.perf_counter()
            try:
                frame, source = load_frame(sample, dataset_intr)
            except SpatialBotRosError as exc:
                raise SpatialBenchError(f"sample {sample.id}: {exc}") from exc
            sources.add(source)
            result = engine.run(frame, sample.question)
            ok_status = result.status == "ok"
            response = result.answer if ok_status else ""
            errors += int(not ok_status)
            if isinstance(sample.answer, list):
                correct = ok_status and _grounding_correct(sample, result, frame)
                grounding_hits += int(correct)
            else:
                correct = _hit(sample.answer, response)
            pairs.append((response, sample.answer))
            report.samples.append(
                SampleResult(
                    id=sample.id,
                    category=category,
                    question=sample.question,
                    answer=sample.answer,
                    response=response,
                    correct=correct,
                    status=result.status,
                    error=result.error,
                    time_ms=(time.perf_counter() - t) * 1e3,
                )
            )
            done += 1
            if progress is not None:
                progress(done, total)
        if samples and all(isinstance(s.answer, list) for s in samples):
            score, full, method, ref = (
                float(grounding_hits),
                float(len(samples)),
                "IoU>=0.5 (project rule)",
                False,
            )
        else:
            score, full, method, ref = score_category(category, pairs)
        percent = score if category == "counting" else (100.0 * score / full if full else 0.0)
        report.scores.append(
            CategoryScore(category, method, score, full, percent, len(samples), errors, ref)
        )
    for s in sorted(sources):
        report.notes.append(f"intrinsics: {s}")
    return report


_PAIRED = frozenset({"reach", "size", "existence"})


def format_table(report: BenchReport) -> str:
    """Plain-text table, one row per category, like the reference's printed scores."""
    lines = [
        f"SpatialBench-format evaluation of {report.dataset_dir} with engine {report.engine!r}",
        f"{'category':<12}{'method':<28}{'n':>5}{'score':>10}{'full':>8}{'%':>9}{'errors':>8}",
    ]
    for s in report.scores:
        lines.append(
            f"{s.category:<12}{s.method:<28}{s.samples:>5}{s.score:>10.2f}{s.full:>8.0f}"
            f"{s.percent:>9.2f}{s.engine_errors:>8}"
        )
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)


def main_bench_eval(args: Any) -> int:
    """CLI body for `spatialbot bench-eval DIR --engine NAME`: prints the table, 0 on success.

    `args` needs `dataset_dir` and `engine`; optional `engine_config` (a mapping or a YAML/JSON
    path), `categories` (list), `limit` (int), `output` (path for the JSON report).
    """
    from spatialbot_ros.vlm.base import make_engine

    config: Any = getattr(args, "engine_config", None) or {}
    if isinstance(config, (str, Path)):
        text = Path(config).read_text()
        if str(config).endswith((".yaml", ".yml")):
            import yaml

            config = yaml.safe_load(text) or {}
        else:
            config = json.loads(text)
    try:
        engine = make_engine(str(args.engine), config)
        report = run_bench_eval(
            args.dataset_dir,
            engine,
            categories=getattr(args, "categories", None),
            limit=getattr(args, "limit", None),
        )
    except (SpatialBotRosError, ValueError) as exc:
        print(f"bench-eval: {exc}")
        return 2
    print(format_table(report))
    output = getattr(args, "output", None)
    if output:
        Path(output).write_text(json.dumps(report.as_dict(), indent=2))
    return 0
