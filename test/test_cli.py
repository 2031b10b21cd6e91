"""The `spatialbot` command: each subcommand through main(), exit codes and outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "replay"))
from replay_bags import BagSpec, write_bag

from spatialbot_ros.cli import build_parser, main

SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "rosbag2_jazzy_sample"


def test_engines_list_names_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engines", "list"]) == 0
    names = capsys.readouterr().out.split()
    assert "geometric" in names
    assert "spatialbot" in names


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    for cmd in ("demo", "replay", "eval", "record-sim", "bench-eval", "engines"):
        with pytest.raises(SystemExit) as info:
            parser.parse_args([cmd, "--help"])
        assert info.value.code == 0


def test_replay_of_a_broken_bag_exits_2_and_names_the_topic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=2, with_depth=False))
    code = main(
        [
            "replay",
            str(bag),
            "--task",
            "grasp the cup",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "/camera/camera/aligned_depth_to_color/image_raw" in err


def test_replay_with_custom_topic_names(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=2))
    code = main(
        [
            "replay",
            str(bag),
            "--task",
            "grasp the box",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            "--no-bag",
            "--no-images",
            "--no-grasp",
            "--color-topic",
            "/camera/camera/color/image_raw",
            "--slop",
            "0.01",
        ]
    )
    assert code == 0
    assert len((tmp_path / "o" / "results.jsonl").read_text().splitlines()) == 2


def test_bad_camera_pose_is_a_usage_error(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", BagSpec(frames=1))
    with pytest.raises(SystemExit) as info:
        main(
            [
                "replay",
                str(bag),
                "--task",
                "x",
                "--out",
                str(tmp_path / "o"),
                "--camera-pose",
                "1 2 3",
            ]
        )
    assert info.value.code == 2


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"sample bags not present at {SAMPLES}")
def test_replay_sample_bag(tmp_path: Path) -> None:
    code = main(
        [
            "replay",
            str(SAMPLES / "sample_sqlite3_msgzstd"),
            "--task",
            "grasp the second cup from the left",
            "--out",
            str(tmp_path),
            "--max-frames",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    first = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])
    assert "green" in first["target"]["label"]


def test_record_sim_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bag = tmp_path / "sim_bag"
    assert (
        main(
            [
                "record-sim",
                "--out",
                str(bag),
                "--seed",
                "3",
                "--frames",
                "2",
                "--cups",
                "3",
                "--storage",
                "sqlite3",
                "--task",
                "grasp the leftmost cup",
                "--camera-eye",
                "1.0",
                "0.1",
                "0.7",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["messages"] == 2 + 2 * 4
    assert info["truth"]["camera"]["T_base_camera_xyz"] == pytest.approx([1.0, 0.1, 0.7])
    assert main(["replay", str(bag), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    result = json.loads((tmp_path / "o" / "results.jsonl").read_text().splitlines()[0])
    assert result["task"] == "grasp the leftmost cup"
    assert result["target"]["xyz_base_m"] is not None  # camera pose from /tf_static


@pytest.mark.slow
def test_demo_succeeds_and_writes_the_report(tmp_path: Path) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["success"] is True
    assert report["grounding"]["correct"]
    assert report["execution"]["lifted_m"] >= 0.05
    for name in ("annotated.png", "contact_signal.png", "after_lift.png"):
        assert (tmp_path / name).stat().st_size > 5_000
    assert set(report["timings_s"]) >= {"record_bag", "replay", "execute_grasp", "total"}


@pytest.mark.slow
def test_eval_on_three_scenes(tmp_path: Path) -> None:
    assert main(["eval", "--scenes", "3", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in (
        "scenes",
        "grounding_accuracy",
        "grasp_success_rate",
        "median_target_error_mm",
        "contact_accuracy",
    ):
        assert key in summary
    assert summary["scenes"] == 3
    assert summary["grasps"] == 3
    assert summary["grounding_accuracy"] >= 0.8
    assert (tmp_path / "eval.png").is_file()


def test_bench_eval_on_a_one_sample_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    from spatialbot_ros.sim.synthetic import make_scene

    scene = make_scene(31, n_objects=3, camera="front", colors=["red", "blue", "green"])
    (tmp_path / "positional").mkdir()
    (tmp_path / "positional_d").mkdir()
    cv2.imwrite(str(tmp_path / "positional" / "0.png"), scene.frame.rgb[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "positional_d" / "0.png"), scene.frame.depth_mm)
    intr = scene.frame.intrinsics
    (tmp_path / "intrinsics.json").write_text(
        json.dumps({"fx": intr.fx, "fy": intr.fy, "cx": intr.cx, "cy": intr.cy})
    )
    red, blue, _ = scene.objects
    answer = "Yes" if red.center_px[0] < blue.center_px[0] else "No"
    sample = {
        "id": "p0",
        "image": "positional/0.png",
        "answer": answer,
        "question": "Is the red cup to the left of the blue cup?",
    }
    (tmp_path / "positional.json").write_text(json.dumps([sample]))
    report = tmp_path / "report.json"
    assert main(["bench-eval", str(tmp_path), "--output", str(report)]) == 0
    assert "positional" in capsys.readouterr().out
    assert report.is_file()


def test_replay_exits_1_when_tasks_error_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "bag"
    assert main(["record-sim", "--out", str(bag), "--frames", "2", "--cups", "3"]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    code = main(["replay", str(bag), "--task", "grasp " * 400, "--out", str(out), "--no-progress"])
    assert code == 1
    lines = (out / "results.jsonl").read_text().splitlines()
    assert lines
    assert all("characters long" in json.loads(line)["error"] for line in lines)


def test_replay_of_a_missing_bag_says_nothing_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", str(tmp_path / "nope"), "--task", "x", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no results were written" in err
    assert "kept in" not in err
