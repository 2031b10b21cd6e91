"""The demo judges grounding against the scene's truth for any task of the task family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialbot_ros.sim.demo import expected_object, run_demo
from spatialbot_ros.sim.evaluation import task_family
from spatialbot_ros.sim.scene import three_teacups_scene


def test_expected_object_follows_the_task_not_a_constant() -> None:
    scene = three_teacups_scene(1)
    family = {t.text: t.expected for t in task_family(scene)}
    assert expected_object(scene, "grasp the middle teacup") == family["grasp the middle cup"]
    assert expected_object(scene, "Grasp the leftmost mug.") == family["grasp the leftmost cup"]
    assert expected_object(scene, "grasp the leftmost cup") != expected_object(
        scene, "grasp the rightmost cup"
    )
    assert expected_object(scene, "grasp the cup next to the window") is None


@pytest.mark.slow
def test_demo_with_another_task_grasps_and_checks_that_object(tmp_path: Path) -> None:
    report = run_demo(tmp_path, seed=1, task="grasp the leftmost teacup", frames=2)
    assert report["grounding"]["expected_object"] == expected_object(
        three_teacups_scene(1), "grasp the leftmost cup"
    )
    assert report["grounding"]["correct"] is True
    assert report["success"] is True
    assert json.loads((tmp_path / "report.json").read_text())["success"] is True


@pytest.mark.slow
def test_demo_refuses_a_question_with_its_answer(tmp_path: Path) -> None:
    report = run_demo(tmp_path, seed=0, task="how many cups are there?", frames=2)
    assert report["success"] is False
    assert "grasp tasks" in report["error"]
    assert "answer" in report["error"]
