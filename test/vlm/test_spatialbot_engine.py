"""SpatialBot engine on a tiny remote-code model loaded like SpatialBot-3B (transformers, real)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tiny_model import build_tiny_bunny, set_script

from spatialbot_ros.core import (
    CameraIntrinsics,
    RGBDFrame,
    box_depth_stats,
    deproject_pixels,
    depth_at_norm,
    encode_depth,
)
from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.vlm import base
from spatialbot_ros.vlm.model_loading import ModelLoadError
from spatialbot_ros.vlm.spatialbot_engine import (
    SpatialBotConfig,
    SpatialBotConfigError,
    SpatialBotEngine,
    make_spatialbot_engine,
)

INTR = CameraIntrinsics(64, 48, 60.0, 60.0, 31.5, 23.5)
CUP_BOX_NORM = (0.25, 0.25, 0.75, 0.75)  # pixels x 16..48, y 12..36


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bunny(tmp_path_factory.mktemp("tiny_bunny"))


def make(config: dict[str, Any]) -> SpatialBotEngine:
    """The registered factory, typed as the concrete engine."""
    engine = make_spatialbot_engine(config)
    assert isinstance(engine, SpatialBotEngine)
    return engine


@pytest.fixture(scope="module")
def loaded_engine(model_dir: Path) -> SpatialBotEngine:
    return make({"model_path": str(model_dir), "trust_remote_code": True, "device": "cpu"})


@pytest.fixture
def engine(loaded_engine: SpatialBotEngine) -> Iterator[SpatialBotEngine]:
    yield loaded_engine
    set_script(loaded_engine.loaded.model, loaded_engine.loaded.tokenizer, None)


def script(engine: SpatialBotEngine, *segments: str) -> None:
    set_script(engine.loaded.model, engine.loaded.tokenizer, list(segments))


@pytest.fixture(scope="module")
def frame() -> RGBDFrame:
    """Table at 900 mm with a cup (600 mm) filling the centre of the box, a hole in a corner."""
    rng = np.random.default_rng(3)
    depth = np.full((48, 64), 900, np.uint16) + rng.integers(0, 5, (48, 64)).astype(np.uint16)
    depth[16:32, 22:42] = 600
    depth[0:4, 0:4] = 0
    rgb = rng.integers(0, 255, (48, 64, 3)).astype(np.uint8)
    return RGBDFrame(rgb, depth, INTR)


def test_loads_through_automodel_with_remote_code(loaded_engine: SpatialBotEngine) -> None:
    model = loaded_engine.loaded.model
    assert type(model).__module__.startswith("transformers_modules")  # the remote code
    assert model.dtype == torch.float32
    assert loaded_engine.loaded.device == "cpu"
    assert model.get_vision_tower().device.type == "cpu"
    assert base._REGISTRY["spatialbot"] is make_spatialbot_engine
    assert isinstance(loaded_engine, base.GroundingEngine)


def test_built_by_name_through_the_registry(model_dir: Path, frame: RGBDFrame) -> None:
    assert "spatialbot" in base.available_engines()
    engine = base.make_engine(
        "spatialbot", {"model_path": model_dir, "trust_remote_code": True, "device": "cpu"}
    )
    assert isinstance(engine, SpatialBotEngine)
    assert engine.name == "spatialbot"
    assert engine.run(frame, "How many cups are there?").engine == "spatialbot"


def test_module_import_does_not_import_torch() -> None:
    code = (
        "import sys, spatialbot_ros.vlm.spatialbot_engine, spatialbot_ros.vlm.tool_loop; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": src})


def test_both_images_rgb_first_then_encoded_depth(
    engine: SpatialBotEngine, frame: RGBDFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = engine.loaded.model
    seen: list[Any] = []
    original = model.process_images

    def spy(images: list[Any], cfg: Any) -> Any:
        seen.extend(images)
        return original(images, cfg)

    monkeypatch.setattr(model, "process_images", spy)
    ids, images = engine._inputs(frame, "How many cups are there?")
    assert len(seen) == 2
    np.testing.assert_array_equal(np.asarray(seen[0]), frame.rgb)
    np.testing.assert_array_equal(np.asarray(seen[1]), encode_depth(frame.depth_mm))
    assert tuple(images.shape) == (2, 3, model.config.image_size, model.config.image_size)
    assert images.dtype == model.dtype
    assert ids.count(-201) == 1
    assert ids.count(-202) == 1
    assert ids.index(-202) == ids.index(-201) + 1
    tok = engine.loaded.tokenizer
    before = tok.decode(ids[: ids.index(-201)])
    after = tok.decode(ids[ids.index(-202) + 1 :])
    assert before.endswith("USER: ")
    assert after == "How many cups are there? ASSISTANT:"


def test_process_images_pads_to_square_with_the_mean_colour(engine: SpatialBotEngine) -> None:
    from PIL import Image

    model = engine.loaded.model
    black = Image.fromarray(np.zeros((16, 64, 3), np.uint8), "RGB")  # wide: pad top and bottom
    pixels = model.process_images([black], model.config)[0]
    mean_level = (127 / 255 - 0.5) / 0.5  # int(0.5 * 255) normalised
    size = model.config.image_size
    assert float(pixels[:, 0, :].mean()) == pytest.approx(mean_level, abs=1e-3)
    assert float(pixels[:, size // 2, :].mean()) == pytest.approx(-1.0, abs=1e-3)


def test_grounding_end_to_end_with_depth_calls(engine: SpatialBotEngine, frame: RGBDFrame) -> None:
    script(engine, " Depth(0.5,0.5)", " [0.25, 0.25, 0.75, 0.75]")
    result = engine.run(frame, "grasp the middle teacup")
    assert result.status == "ok", result.error
    assert result.kind == "grasp"
    assert result.trace[0].text.endswith("this sentence describes: middle teacup")
    assert [t.role for t in result.trace] == ["user", "assistant", "api", "assistant"]
    assert result.depth_calls[0].depth_mm == depth_at_norm(frame.depth_mm, 0.5, 0.5).depth_mm
    target = result.target
    assert target is not None
    assert target.label == "middle teacup"
    assert target.bbox_norm == pytest.approx(CUP_BOX_NORM)
    assert target.bbox_px == pytest.approx((16.0, 12.0, 48.0, 36.0))
    assert target.depth_mm == box_depth_stats(frame.depth_mm, (16, 12, 48, 36))
    # The point is at the box centre and on the cup (600 mm), not the table behind it.
    expected = deproject_pixels(INTR, [[31.5, 23.5]], [0.6])[0]
    assert target.xyz_camera_m == pytest.approx(tuple(expected), abs=1e-9)
    assert set(result.timings_ms) >= {"preprocess", "generate", "postprocess", "total"}
    assert result.as_dict()["target"]["xyz_camera_m"] == pytest.approx(list(expected))


def test_pixel_box_and_swapped_corners(engine: SpatialBotEngine, frame: RGBDFrame) -> None:
    script(engine, " The cup is at [48, 36, 16, 12].")
    result = engine.run(frame, "pick up the red cup on the left")
    assert result.status == "ok", result.error
    assert result.target is not None
    assert result.target.label == "red cup on the left"
    assert result.target.bbox_norm == pytest.approx(CUP_BOX_NORM)


@pytest.mark.parametrize(
    ("task", "segments", "answer"),
    [
        (
            "Which is closer, the cup or the bowl?",
            [" Depth(0.5,0.5)", " Depth(0.1,0.1)", " The cup."],
            "The cup.",
        ),
        ("What is the depth value of point <0.5,0.5>?", [" Depth(0.5,0.5)", " 600"], "600"),
        ("Is the gripper touching the cup?", [" No."], "No."),
        ("How many cups are there?", [" 1"], "1"),
        (
            "Is the cup left of the bowl?",
            [" Depth(0.5,0.5)", " Depth(0.2,0.3)", " Depth(0.8,0.3)", " Depth(0.5,0.9)", " Yes."],
            "Yes.",
        ),
    ],
)
def test_questions_are_answered_as_text(
    engine: SpatialBotEngine, frame: RGBDFrame, task: str, segments: list[str], answer: str
) -> None:
    script(engine, *segments)
    result = engine.run(frame, task)
    assert result.status == "ok", result.error
    assert result.kind == "question"
    assert result.target is None
    assert result.trace[0].text == task
    assert result.answer == answer
    n_calls = sum("Depth(" in s for s in segments)
    assert len(result.depth_calls) == n_calls
    for call in result.depth_calls:
        assert call.depth_mm == depth_at_norm(frame.depth_mm, call.x, call.y).depth_mm


def test_garbage_output_of_random_weights_is_an_error_result(
    engine: SpatialBotEngine, frame: RGBDFrame
) -> None:
    result = engine.run(frame, "grasp the middle teacup")  # unscripted: random weights
    assert result.status == "error"
    assert result.error is not None
    assert "expected a bounding box" in result.error
    assert result.target is None


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([" [nan, 0.2, 0.3, 0.4]"], "expected a bounding box"),
        ([" [0.3, 0.3, 0.3, 0.9]"], "expected a bounding box"),  # zero width
        ([" Depth(0.5,"], "expected a bounding box"),
        ([" [0.0, 0.0, 0.05, 0.05]"], "no usable depth"),  # only the hole
    ],
)
def test_unusable_boxes_give_error_results(
    engine: SpatialBotEngine, frame: RGBDFrame, segments: list[str], message: str
) -> None:
    script(engine, *segments)
    result = engine.run(frame, "grasp the cup")
    assert result.status == "error"
    assert message in (result.error or "")


def test_empty_answer_is_an_error(engine: SpatialBotEngine, frame: RGBDFrame) -> None:
    script(engine, "")
    result = engine.run(frame, "How many cups are there?")
    assert result.status == "error"
    assert result.error == "model returned an empty answer"


def test_unparseable_and_too_long_tasks(engine: SpatialBotEngine, frame: RGBDFrame) -> None:
    assert engine.run(frame, "").status == "error"
    long_task = "grasp the " + "very " * 200 + "red cup"
    result = engine.run(frame, long_task)
    assert result.status == "error"
    assert "cannot parse task" in (result.error or "")


def test_free_form_question_goes_to_the_model(engine: SpatialBotEngine, frame: RGBDFrame) -> None:
    script(engine, " Blue.")
    result = engine.run(frame, "What color is the sky?")  # no parser form for this one
    assert result.status == "ok", result.error
    assert result.kind == "question"
    assert result.answer == "Blue."
    assert any("free-form question" in note for note in result.notes)
    script(engine, " [0.1, 0.1, 0.2, 0.2]")
    not_a_question = engine.run(frame, "do the thing with the widget")
    assert not_a_question.status == "error"
    assert "cannot parse task" in (not_a_question.error or "")


def test_model_exception_never_escapes_run(
    engine: SpatialBotEngine, frame: RGBDFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(engine.loaded.model, "process_images", boom)
    result = engine.run(frame, "grasp the cup")
    assert result.status == "error"
    assert "RuntimeError: CUDA out of memory" in (result.error or "")


def test_padded_box_coordinates_map_back(model_dir: Path, frame: RGBDFrame) -> None:
    base_engine = make({"model_path": str(model_dir), "trust_remote_code": True})
    engine = SpatialBotEngine(SpatialBotConfig(box_coords="padded"), loaded=base_engine.loaded)
    # 64x48 padded to 64x64: rows shift by 8 px; the cup box in padded coordinates:
    script(engine, f" [0.25, {20 / 64}, 0.75, {44 / 64}]")
    try:
        result = engine.run(frame, "grasp the cup")
    finally:
        set_script(engine.loaded.model, engine.loaded.tokenizer, None)
    assert result.status == "ok", result.error
    assert result.target is not None
    assert result.target.bbox_norm == pytest.approx(CUP_BOX_NORM)


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        ({}, ModelLoadError, "expected model_path"),
        (
            {"model_path": "/nonexistent/SpatialBot-3B"},
            ModelLoadError,
            "/nonexistent/SpatialBot-3B",
        ),
        ({"model_path": "x", "device": "tpu"}, SpatialBotConfigError, "device"),
        ({"model_path": "x", "dtype": "int8"}, SpatialBotConfigError, "dtype"),
        ({"model_path": "x", "max_new_tokens": 0}, SpatialBotConfigError, "max_new_tokens"),
        ({"model_path": "x", "trust_remote_code": "yes"}, SpatialBotConfigError, "trust_remote"),
    ],
)
def test_bad_config_raises_clear_errors(
    config: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as info:
        make_spatialbot_engine(config)
    assert isinstance(info.value, SpatialBotRosError)


def test_directory_without_config_or_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=re.escape("config.json")):
        make_spatialbot_engine({"model_path": str(tmp_path)})
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=re.escape(str(tmp_path))):
        make_spatialbot_engine({"model_path": str(tmp_path), "device": "cpu"})


def test_remote_code_needs_trust(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="trust_remote_code"):
        make_spatialbot_engine({"model_path": str(model_dir), "device": "cpu"})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_half_precision(model_dir: Path, frame: RGBDFrame, dtype: str) -> None:
    engine = make(
        {"model_path": str(model_dir), "trust_remote_code": True, "device": "cuda", "dtype": dtype}
    )
    model = engine.loaded.model
    assert model.dtype == getattr(torch, dtype)
    assert model.device.type == "cuda"
    assert model.get_vision_tower().device.type == "cuda"
    script(engine, " Depth(0.5,0.5)", " [0.25, 0.25, 0.75, 0.75]")
    try:
        result = engine.run(frame, "grasp the middle teacup")
    finally:
        set_script(model, engine.loaded.tokenizer, None)
    assert result.status == "ok", result.error
    assert result.target is not None
    assert result.target.bbox_norm == pytest.approx(CUP_BOX_NORM)
    assert result.depth_calls[0].depth_mm == depth_at_norm(frame.depth_mm, 0.5, 0.5).depth_mm
