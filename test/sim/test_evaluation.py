"""The evaluation's task family: each task is well posed and names the right object."""

from __future__ import annotations

import pytest

from spatialbot_ros.sim.evaluation import task_family
from spatialbot_ros.sim.scene import SceneObject, SceneSpec, generate_scene


def _row(radii: tuple[float, float, float], x: tuple[float, float, float] = (0.5, 0.5, 0.5)):
    # The camera faces the robot: base +y is image right.
    cups = tuple(
        SceneObject(f"cup_{i}", "cup", color, x[i], y, r, 0.09)
        for i, (y, r, color) in enumerate(
            zip((-0.15, 0.0, 0.15), radii, ("red", "green", "blue"), strict=True)
        )
    )
    return SceneSpec(0, cups)


def test_row_of_three_gives_every_family() -> None:
    tasks = {t.text: t.expected for t in task_family(_row((0.03, 0.03, 0.036), (0.38, 0.5, 0.64)))}
    assert tasks["grasp the leftmost cup"] == "cup_0"
    assert tasks["grasp the rightmost cup"] == "cup_2"
    assert tasks["grasp the middle cup"] == "cup_1"
    assert tasks["grasp the second cup from the left"] == "cup_1"
    assert tasks["grasp the nearest cup"] == "cup_2"  # largest x: closest to the camera
    assert tasks["grasp the farthest cup"] == "cup_0"
    assert tasks["grasp the biggest cup"] == "cup_2"
    assert tasks["grasp the red cup"] == "cup_0"


def test_ambiguous_relations_are_left_out() -> None:
    texts = {t.text for t in task_family(_row((0.03, 0.0301, 0.0302)))}
    assert "grasp the biggest cup" not in texts  # sizes within 30 %
    assert "grasp the nearest cup" not in texts  # same distance


@pytest.mark.parametrize("seed", range(20))
def test_generated_scenes_have_tasks_about_existing_cups(seed: int) -> None:
    scene = generate_scene(seed, n_other=0)
    tasks = task_family(scene)
    assert tasks
    names = {o.name for o in scene.cups}
    assert all(t.expected in names for t in tasks)
    assert 2 <= len(scene.cups) <= 6
