"""Tests for the SpatialBench loader and the reference scorer's arithmetic."""

from __future__ import annotations

import json
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from spatialbot_ros.sim.synthetic import SyntheticScene, make_scene
from spatialbot_ros.vlm.base import make_engine
from spatialbot_ros.vlm.spatialbench import (
    GROUNDING_PROMPT,
    SpatialBenchError,
    depth_path_for,
    format_table,
    load_spatialbench,
    main_bench_eval,
    run_bench_eval,
    score_category,
    score_counting,
    score_existence_pairs,
    score_reach_size_pairs,
    score_substring,
)

# ---------------------------------------------------------------------------------------------
# Hand-made answer sets with scores worked out by hand from the reference arithmetic.


def test_reach_and_size_pairs_score_acc_plus_acc_plus() -> None:
    responses = [
        ("Yes, it can.", "Yes"), ("No.", "No"),  # both right: 1 + 1 + 1 = 3
        ("Yes", "Yes"), ("Yes", "No"),  # one right: 1 + 0 + 0 = 1
        ("No", "Yes"), ("Yes", "No"),  # none: 0
        ("no", "No"), ("No", "No"),  # case matters: "No" not in "no" -> 0 + 1 + 0 = 1
    ]  # fmt: skip
    assert score_reach_size_pairs(responses) == (5.0, 12.0)
    score, full, method, ref = score_category("size", responses)
    assert (score, full, ref) == (5.0, 12.0, True)
    assert method.startswith("pairs")
    assert score_category("reach.json", responses)[:2] == (5.0, 12.0)


def test_existence_pairs_need_both_right() -> None:
    responses = [("Yes", "Yes"), ("No", "No"), ("Yes", "Yes"), ("Yes", "No"), ("No", "Yes"),
                 ("No", "No")]  # fmt: skip
    assert score_existence_pairs(responses) == (1.0, 3.0)


def test_positional_is_plain_substring_accuracy() -> None:
    responses = [("It is on the left.", "left"), ("right", "left"), ("Yes", "Yes")]
    assert score_substring(responses) == (2.0, 3.0)
    assert score_category("positional", responses)[:2] == (2.0, 3.0)


def test_counting_is_100_minus_mean_relative_error_without_clipping() -> None:
    # errors 0 %, 25 %, 100 % -> 100 - 41.666... = 58.333...
    score, full = score_counting([("2", 2), ("3", "4"), ("10", "5")])
    assert full == 100.0
    assert score == pytest.approx(100.0 - 125.0 / 3.0)
    # A wild count: error 400 % -> score -300, as the reference computes (no clipping).
    assert score_counting([("5", "1")])[0] == pytest.approx(-300.0)
    # int() reads " 3 "; other text: first integer; none at all: 100 % error.
    assert score_counting([(" 3 ", "3")])[0] == 100.0
    assert score_counting([("There are 3 cups.", "3")])[0] == 100.0
    assert score_counting([("many", "3")])[0] == 0.0


def test_unscorable_inputs_raise() -> None:
    with pytest.raises(SpatialBenchError, match="even count"):
        score_reach_size_pairs([("Yes", "Yes")])
    with pytest.raises(SpatialBenchError, match="> 0"):
        score_counting([("1", "0")])


def test_other_files_are_substring_scored_and_marked_as_project_rule() -> None:
    score, full, method, ref = score_category("depth", [("1200 mm", "1200")])
    assert (score, full, ref) == (1.0, 1.0, False)
    assert "project" in method


def test_depth_path_is_derived_like_the_reference() -> None:
    root = Path("/data/sb")
    assert depth_path_for(root, "positional/img_01.jpg") == root / "positional_d/img_01.png"
    # Only up to the first dot of the file name, as the reference splits it.
    assert depth_path_for(root, "size/a.b.jpg") == root / "size_d/a.png"


# ---------------------------------------------------------------------------------------------
# A tiny dataset written to tmp_path, run end to end through the geometric engine.


def _write_scene(root: Path, folder: str, name: str, scene: SyntheticScene) -> str:
    (root / folder).mkdir(exist_ok=True)
    (root / f"{folder}_d").mkdir(exist_ok=True)
    cv2.imwrite(str(root / folder / f"{name}.png"), scene.frame.rgb[:, :, ::-1])
    cv2.imwrite(str(root / f"{folder}_d" / f"{name}.png"), scene.frame.depth_mm)
    return f"{folder}/{name}.png"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticScene]:
    root = tmp_path_factory.mktemp("spatialbench")
    scene = make_scene(
        31, n_objects=3, camera="front", noise_mm=2.0, hole_fraction=0.02,
        colors=["red", "blue", "green"],
    )  # fmt: skip
    four = make_scene(32, n_objects=4, camera="left", noise_mm=2.0)
    intr = scene.frame.intrinsics
    (root / "intrinsics.json").write_text(
        json.dumps({"fx": intr.fx, "fy": intr.fy, "cx": intr.cx, "cy": intr.cy})
    )
    red, blue, green = scene.objects
    img = {f: _write_scene(root, f, "0", scene) for f in
           ("positional", "existence", "counting", "reach", "size", "grounding")}  # fmt: skip
    img4 = _write_scene(root, "counting", "1", four)
    left = "Yes" if red.center_px[0] < blue.center_px[0] else "No"
    taller = "Yes" if red.height_m > blue.height_m else "No"
    shorter = "No" if taller == "Yes" else "Yes"
    files = {
        "positional": [
            {"id": "p0", "image": img["positional"], "answer": left,
             "question": "Is the red cup to the left of the blue cup?"},
        ],
        "existence": [
            {"id": "e0", "image": img["existence"], "question": "Is there a red cup?",
             "answer": "Yes"},
            {"id": "e1", "image": img["existence"], "question": "Is there a yellow cup?",
             "answer": "No"},
        ],
        "counting": [
            {"id": "c0", "image": img["counting"], "question": "How many cups are there?",
             "answer": "3"},
            {"id": "c1", "image": img4, "question": "How many cups are there?", "answer": 4},
        ],
        "size": [
            {"id": "s0", "image": img["size"], "answer": taller,
             "question": "Is the red cup taller than the blue cup?"},
            {"id": "s1", "image": img["size"], "answer": shorter,
             "question": "Is the blue cup taller than the red cup?"},
        ],
        "reach": [
            {"id": "r0", "image": img["reach"], "answer": "Yes",
             "question": "Is the gripper touching the red cup?"},
            {"id": "r1", "image": img["reach"], "answer": "No",
             "question": "Is the gripper touching the green cup?"},
        ],
        "grounding": [
            {"id": "grounding_0", "image": img["grounding"],
             "objects": [{"green cup": [v / s for v, s in
                                        zip(green.bbox_px, (640, 480, 640, 480), strict=True)]}]},
        ],
    }  # fmt: skip
    assert abs(red.height_m - blue.height_m) > 0.015  # the size answers are unambiguous
    for name, entries in files.items():
        (root / f"{name}.json").write_text(json.dumps(entries))
    return root, scene


def test_loader_reads_the_layout(dataset: tuple[Path, SyntheticScene]) -> None:
    root, _ = dataset
    data = load_spatialbench(root)
    assert sorted(data) == ["counting", "existence", "grounding", "positional", "reach", "size"]
    assert [s.id for s in data["grounding"]] == ["grounding_0_0"]
    assert data["grounding"][0].question == GROUNDING_PROMPT + "green cup"
    assert data["counting"][1].depth_path == root / "counting_d" / "1.png"
    with pytest.raises(SpatialBenchError, match="missing"):
        load_spatialbench(root, ["missing"])
    with pytest.raises(SpatialBenchError, match="directory"):
        load_spatialbench(root / "nope")


def test_end_to_end_with_the_geometric_engine(dataset: tuple[Path, SyntheticScene]) -> None:
    root, _ = dataset
    report = run_bench_eval(root, make_engine("geometric"))
    by = {s.category: s for s in report.scores}
    assert by["positional"].percent == 100.0
    assert by["existence"].percent == 100.0
    assert by["counting"].percent == pytest.approx(100.0)
    assert by["size"].percent == 100.0
    # No gripper in these scenes: both reach questions are engine errors, scored as empty.
    assert by["reach"].engine_errors == 2
    assert (by["reach"].score, by["reach"].full) == (0.0, 3.0)
    assert by["grounding"].percent == 100.0
    assert not by["grounding"].reference
    assert all(s.reference for c, s in by.items() if c != "grounding")
    assert "intrinsics: intrinsics.json" in report.notes
    table = format_table(report)
    assert "counting" in table
    assert "100 - mean rel. error %" in table
    assert json.loads(json.dumps(report.as_dict()))["engine"] == "geometric"


def test_main_bench_eval_prints_and_writes_json(
    dataset: tuple[Path, SyntheticScene], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = dataset
    out = tmp_path / "report.json"
    args = types.SimpleNamespace(
        dataset_dir=str(root), engine="geometric", engine_config=None,
        categories=["counting", "existence"], limit=None, output=str(out),
    )  # fmt: skip
    assert main_bench_eval(args) == 0
    printed = capsys.readouterr().out
    assert "existence" in printed
    assert "positional" not in printed
    assert sorted(s["category"] for s in json.loads(out.read_text())["scores"]) == [
        "counting", "existence",
    ]  # fmt: skip
    args.engine = "no-such-engine"
    assert main_bench_eval(args) == 2


def test_default_intrinsics_are_noted(tmp_path: Path) -> None:
    scene = make_scene(33, n_objects=2)
    img = _write_scene(tmp_path, "counting", "0", scene)
    (tmp_path / "counting.json").write_text(
        json.dumps([{"id": 0, "image": img, "question": "How many cups?", "answer": "2"}])
    )
    report = run_bench_eval(tmp_path, make_engine("geometric"))
    assert any("assumed 69 deg" in n for n in report.notes)
    # The count needs no metric scale, so it is right even with assumed intrinsics.
    assert report.scores[0].percent == pytest.approx(100.0)
    # A depth image that is not 16-bit is rejected with a clear message.
    cv2.imwrite(str(tmp_path / "counting_d" / "0.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(SpatialBenchError, match="16-bit"):
        run_bench_eval(tmp_path, make_engine("geometric"))
