"""The Depth API loop on a tiny remote-code model run by transformers: KV-cache resumption."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tiny_model import build_tiny_bunny, set_script

from spatialbot_ros.core import depth_at_norm, encode_depth
from spatialbot_ros.vlm.base import DepthCall
from spatialbot_ros.vlm.prompt import IMAGE_SPLIT, build_prompt, join_prompt_ids
from spatialbot_ros.vlm.tool_loop import run_tool_loop


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path: Path = build_tiny_bunny(tmp_path_factory.mktemp("tiny_bunny"))
    model: Any = AutoModelForCausalLM.from_pretrained(
        path, trust_remote_code=True, dtype=torch.float32
    )
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
    return model.eval(), tokenizer


@pytest.fixture
def model_tok(tiny: tuple[Any, Any]) -> Iterator[tuple[Any, Any]]:
    model, tok = tiny
    yield model, tok
    set_script(model, tok, None)


@pytest.fixture(scope="module")
def depth_mm() -> np.ndarray:
    rng = np.random.default_rng(7)
    depth = rng.integers(300, 4000, size=(48, 64)).astype(np.uint16)
    depth[0:6, 0:8] = 0  # a hole: answered from the neighbourhood or "unknown"
    return depth


def _inputs(model: Any, tok: Any, depth: np.ndarray, question: str) -> tuple[list[int], Any]:
    from PIL import Image

    chunks = [tok(c).input_ids for c in build_prompt(question).split(IMAGE_SPLIT)]
    rgb = Image.fromarray(np.full((*depth.shape, 3), 90, np.uint8), "RGB")
    dep = Image.fromarray(encode_depth(depth), "RGB")
    images = model.process_images([rgb, dep], model.config).to(model.dtype)
    return join_prompt_ids(chunks), images


def _resolver(depth: np.ndarray) -> Any:
    def resolve(x: float, y: float) -> DepthCall:
        try:
            p = depth_at_norm(depth, x, y)
        except Exception as exc:
            return DepthCall(x, y, None, "none", str(exc))
        return DepthCall(x, y, p.depth_mm, p.source)

    return resolve


POINTS = [(0.25, 0.5), (0.75, 0.5), (0.1, 0.9), (0.6, 0.2)]


@pytest.mark.parametrize("n_calls", [1, 2, 4])
@pytest.mark.parametrize("reuse_cache", [True, False])
def test_scripted_calls_are_answered_from_the_depth_map(
    model_tok: tuple[Any, Any], depth_mm: np.ndarray, n_calls: int, reuse_cache: bool
) -> None:
    model, tok = model_tok
    segments = [f" Depth({x},{y})" for x, y in POINTS[:n_calls]] + [" The cup is closer."]
    set_script(model, tok, segments)
    ids, images = _inputs(model, tok, depth_mm, "Which is closer, the cup or the bowl?")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), reuse_cache=reuse_cache)
    assert out.stop_reason == "eos"
    assert out.answer == "The cup is closer."
    assert "Depth(" not in out.answer
    assert out.stats.rounds == n_calls
    assert [(c.x, c.y) for c in out.depth_calls] == POINTS[:n_calls]
    for call, (x, y) in zip(out.depth_calls, POINTS[:n_calls], strict=True):
        assert call.depth_mm == depth_at_norm(depth_mm, x, y).depth_mm
    api_turns = [t.text for t in out.turns if t.role == "api"]
    assert api_turns == [
        f"API: Depth({x},{y})={round(depth_at_norm(depth_mm, x, y).depth_mm)}"
        for x, y in POINTS[:n_calls]
    ]
    assert [t.role for t in out.turns] == ["assistant", "api"] * n_calls + ["assistant"]


def test_cache_loop_prefills_only_the_api_turns(
    model_tok: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    model, tok = model_tok
    set_script(model, tok, [" Depth(0.25,0.5)", " Depth(0.75,0.5)", " Done."])
    ids, images = _inputs(model, tok, depth_mm, "Which is closer?")
    cached = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), reuse_cache=True)
    fresh = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), reuse_cache=False)
    assert cached.answer == fresh.answer == "Done."
    assert cached.assistant_texts == fresh.assistant_texts
    n_image = 2 * (model.config.image_size // model.config.patch_size) ** 2
    assert cached.stats.prompt_positions == len(ids) - 2 + n_image
    api_tokens = sum(
        len(tok(f"<|endoftext|>USER: {t.text} ASSISTANT:", add_special_tokens=False).input_ids)
        for t in cached.turns
        if t.role == "api"
    )
    assert cached.stats.prefill_tokens == cached.stats.prompt_positions + api_tokens
    assert fresh.stats.prefill_tokens > 2 * cached.stats.prompt_positions
    assert cached.stats.forward_calls > 0


def test_cached_continuation_equals_full_prefill(
    tiny: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    """Feeding an API turn through the cache gives the logits of re-encoding everything."""
    model, tok = tiny
    ids, images = _inputs(model, tok, depth_mm, "How far is the cup?")
    extra = tok(" Depth(0.5,0.5)<|endoftext|>USER: API: Depth(0.5,0.5)=875 ASSISTANT:").input_ids
    with torch.inference_mode():
        first = model(input_ids=torch.tensor([ids]), images=images, use_cache=True)
        cont = model(
            input_ids=torch.tensor([extra]), past_key_values=first.past_key_values, use_cache=True
        )
        full = model(input_ids=torch.tensor([ids + extra]), images=images, use_cache=True)
    torch.testing.assert_close(cont.logits[0, -1], full.logits[0, -1], atol=1e-4, rtol=1e-4)


def test_greedy_loop_matches_reference_generate(
    tiny: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    """Without calls the loop emits what the remote code's generate() emits greedily."""
    model, tok = tiny
    ids, images = _inputs(model, tok, depth_mm, "How many cups are there?")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), max_new_tokens=12)
    gen = model.generate(
        torch.tensor([ids]),
        images=images,
        max_new_tokens=12,
        use_cache=True,
        do_sample=False,
        repetition_penalty=1.0,
    )
    reference = tok.decode(gen[0, len(ids) :], skip_special_tokens=True)
    assert first_turn_or_call(out.assistant_texts[0]) == first_turn_or_call(reference)


def first_turn_or_call(text: str) -> str:
    """Random weights may emit a Depth( call; compare up to it (the loop stops there)."""
    idx = text.find("Depth(")
    return text.strip() if idx < 0 else text[:idx].strip()


def test_round_limit_substitutes_remaining_calls(
    model_tok: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    model, tok = model_tok
    set_script(model, tok, [" Depth(0.25,0.5)", " It is Depth(0.75,0.5) mm.", " never reached"])
    ids, images = _inputs(model, tok, depth_mm, "How far is the bowl?")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), max_depth_rounds=1)
    value = round(depth_at_norm(depth_mm, 0.75, 0.5).depth_mm)
    assert out.stop_reason == "depth_rounds"
    assert out.answer == f"It is {value}"  # generation stops at the call it cannot answer
    assert len(out.depth_calls) == 2
    assert any("round limit (1)" in n for n in out.notes)


def test_zero_rounds_resolves_by_substitution(
    model_tok: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    model, tok = model_tok
    set_script(model, tok, [" Depth(0.25,0.5)"])
    ids, images = _inputs(model, tok, depth_mm, "How far?")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), max_depth_rounds=0)
    assert out.answer == str(round(depth_at_norm(depth_mm, 0.25, 0.5).depth_mm))
    assert out.stats.rounds == 0


def test_call_outside_image_is_answered_unknown(
    model_tok: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    model, tok = model_tok
    set_script(model, tok, [" Depth(1.5,0.5)", " No data there."])
    ids, images = _inputs(model, tok, depth_mm, "How far?")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm))
    assert out.depth_calls[0].depth_mm is None
    assert out.depth_calls[0].error
    assert [t.text for t in out.turns if t.role == "api"] == ["API: Depth(1.5,0.5)=unknown"]
    assert out.answer == "No data there."


def test_truncated_call_is_removed(model_tok: tuple[Any, Any], depth_mm: np.ndarray) -> None:
    model, tok = model_tok
    set_script(model, tok, [" The depth is Depth(0.25,0.5)"])
    ids, images = _inputs(model, tok, depth_mm, "How far?")
    n = len(tok(" The depth is Depth(0.2", add_special_tokens=False).input_ids)
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm), max_new_tokens=n)
    assert out.stop_reason == "max_new_tokens"
    assert out.answer == "The depth is"
    assert "Depth(" not in out.answer
    assert any("unfinished Depth(" in note for note in out.notes)


def test_bad_limits_raise() -> None:
    with pytest.raises(ValueError, match="max_new_tokens"):
        run_tool_loop(None, None, [1], None, lambda x, y: DepthCall(x, y, None), max_new_tokens=0)


@pytest.fixture(scope="module")
def siglip_geometry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """The tiny model with SpatialBot-3B's image geometry: 384 px, patch 14 -> 729 per image."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_bunny(tmp_path_factory.mktemp("siglip"), image_size=384, patch_size=14)
    model: Any = AutoModelForCausalLM.from_pretrained(
        path, trust_remote_code=True, dtype=torch.float32
    )
    return model.eval(), AutoTokenizer.from_pretrained(path, trust_remote_code=True)


@pytest.mark.slow  # builds and runs a second model with 1.5k positions per prefill
def test_four_calls_prefill_within_10_percent_of_one_pass(
    siglip_geometry: tuple[Any, Any], depth_mm: np.ndarray
) -> None:
    model, tok = siglip_geometry
    set_script(model, tok, [f" Depth({x},{y})" for x, y in POINTS] + [" [0.2, 0.3, 0.6, 0.7]"])
    ids, images = _inputs(model, tok, depth_mm, "Please provide the bounding box of the cup")
    out = run_tool_loop(model, tok, ids, images, _resolver(depth_mm))
    assert out.stats.rounds == 4
    assert out.stats.prompt_positions == len(ids) - 2 + 2 * 729
    assert out.stats.prefill_tokens <= 1.1 * out.stats.prompt_positions
