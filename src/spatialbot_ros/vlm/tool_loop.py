"""The Depth API tool loop: greedy decoding that stops at `Depth(x, y)`, answers, and resumes.

Why a manual greedy loop and not `generate()`: in Bunny the two image ids expand to hundreds of
cache positions, so the KV cache is longer than `input_ids`; `generate()` cannot resume from such
a cache with an appended API turn.  The loop calls the remote code's forward exactly as its
`generate()` does: the prompt once with `images=` and no cache, then one token at a time with
`past_key_values=` (no images), and after a call only the new tokens (the pending token plus the
API turn, see vlm/prompt.py for the layout) with the cache: prompt and images are never
re-encoded.  Greedy = `do_sample=False, num_beams=1, repetition_penalty=1.0`.

`reuse_cache=False` re-prompts from scratch every round (the baseline the bench compares with).
torch is imported lazily; the model and tokenizer are duck-typed (remote code).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from spatialbot_ros.vlm.base import DepthCall, Turn
from spatialbot_ros.vlm.output_parsing import (
    DepthCallText,
    find_depth_calls,
    first_depth_call,
    strip_partial_depth_call,
)
from spatialbot_ros.vlm.prompt import ASSISTANT_SEP, api_answer_text, api_turn

__all__ = ["DepthResolver", "LoopResult", "LoopStats", "StopReason", "run_tool_loop"]

DepthResolver = Callable[[float, float], DepthCall]
StopReason = Literal["eos", "max_new_tokens", "depth_rounds"]


@dataclass
class LoopStats:
    """Token accounting: prefill = positions run through forward other than fed-back tokens."""

    prompt_positions: int = 0  # positions of the first prefill (text + image features)
    prefill_tokens: int = 0
    decode_tokens: int = 0
    forward_calls: int = 0
    rounds: int = 0  # Depth API rounds answered through the model


@dataclass
class LoopResult:
    """What the loop produced: the final answer (calls resolved), turns, calls and stats."""

    answer: str
    assistant_texts: list[str]
    turns: list[Turn]
    depth_calls: list[DepthCall]
    notes: list[str]
    stop_reason: StopReason
    stats: LoopStats = field(default_factory=LoopStats)


class _Stepper:
    """Calls the model's forward with the cache keyword its remote code uses; tracks stats."""

    def __init__(self, model: Any, stats: LoopStats) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.stats = stats
        params = inspect.signature(model.forward).parameters
        self.cache_kw = "past_key_values" if "past_key_values" in params else "cache"
        device = getattr(model, "device", None)
        self.device = device if device is not None else next(model.parameters()).device

    def __call__(
        self, ids: Sequence[int], images: Any, cache: Any, n_fed_back: int = 0
    ) -> tuple[Any, Any]:
        """Run `ids` (batch 1); return the last position's logits and the new cache."""
        torch = self._torch
        kwargs: dict[str, Any] = {
            "input_ids": torch.tensor([list(ids)], dtype=torch.long, device=self.device),
            "use_cache": True,
        }
        if images is not None:
            kwargs["images"] = images
        if cache is not None:
            kwargs[self.cache_kw] = cache
        before = _cache_len(cache)
        with torch.inference_mode():
            out = self.model(**kwargs)
        logits, new_cache = _unpack(out)
        after = _cache_len(new_cache)
        positions = after - before if after is not None and before is not None else len(ids)
        self.stats.forward_calls += 1
        self.stats.decode_tokens += n_fed_back
        self.stats.prefill_tokens += positions - n_fed_back
        return logits, new_cache


def _cache_len(cache: Any) -> int | None:
    if cache is None:
        return 0
    if hasattr(cache, "get_seq_length"):
        return int(cache.get_seq_length())
    try:  # legacy tuple-of-tuples cache: (layers)(key, value) with keys (B, heads, T, dim)
        return int(cache[0][0].shape[-2])
    except (TypeError, IndexError, AttributeError):
        return None


def _unpack(out: Any) -> tuple[Any, Any]:
    if isinstance(out, tuple):
        return out[0][0, -1], out[1] if len(out) > 1 else None
    cache = None
    for key in ("cache", "past_key_values"):
        if key in out and out[key] is not None:
            cache = out[key]
            break
    return out["logits"][0, -1], cache


def run_tool_loop(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    images: Any,
    resolve_depth: DepthResolver,
    *,
    max_new_tokens: int = 128,
    max_depth_rounds: int = 4,
    reuse_cache: bool = True,
) -> LoopResult:
    """Greedy-decode the answer to `prompt_ids`, answering each `Depth(x, y)` with the API.

    `max_new_tokens` bounds each assistant turn; after `max_depth_rounds` answered calls, a
    further call ends generation and is resolved by substitution (with a note).  The returned
    answer never holds an unresolved `Depth(...)`.
    """
    if max_new_tokens < 1 or max_depth_rounds < 0:
        raise ValueError(
            f"expected max_new_tokens >= 1 and max_depth_rounds >= 0, "
            f"got {max_new_tokens} and {max_depth_rounds}"
        )
    stats = LoopStats()
    step = _Stepper(model, stats)
    eos_id = getattr(tokenizer, "eos_token_id", None)
    history: list[int] = []  # every id after the prompt: generated tokens and API turns
    turns: list[Turn] = []
    calls: list[DepthCall] = []
    assistant_texts: list[str] = []
    notes: list[str] = []

    logits, cache = step(prompt_ids, images, None)
    stats.prompt_positions = stats.prefill_tokens
    while True:
        turn_ids: list[int] = []
        text = ""
        call: DepthCallText | None = None
        stop: StopReason = "max_new_tokens"
        for _ in range(max_new_tokens):
            token = int(logits.argmax(-1))
            if eos_id is not None and token == eos_id:
                stop = "eos"
                break
            turn_ids.append(token)
            text = tokenizer.decode(turn_ids, skip_special_tokens=True)
            call = first_depth_call(text)
            if call is not None or ASSISTANT_SEP in text:
                stop = "eos"
                break
            logits, cache = step([token], None, cache, n_fed_back=1)
        history.extend(turn_ids)
        assistant_texts.append(text)
        turns.append(Turn("assistant", text.strip()))
        if call is None:
            break
        if stats.rounds >= max_depth_rounds:
            stop = "depth_rounds"
            notes.append(
                f"Depth API round limit ({max_depth_rounds}) reached; the remaining call(s) "
                "were resolved by substitution in the answer"
            )
            break
        resolved = resolve_depth(call.x, call.y)
        calls.append(resolved)
        answer = api_answer_text(call.canonical, resolved.depth_mm)
        turns.append(Turn("api", answer))
        api_ids = list(tokenizer(api_turn([answer]), add_special_tokens=False).input_ids)
        stats.rounds += 1
        pending = turn_ids[-1:]  # the token that completed the call has not been fed yet
        if reuse_cache:
            logits, cache = step(pending + api_ids, None, cache, n_fed_back=len(pending))
            history.extend(api_ids)
        else:
            history.extend(api_ids)
            logits, cache = step([*prompt_ids, *history], images, None)

    answer_text = assistant_texts[-1] if assistant_texts else ""
    answer_text, substituted = _substitute_calls(answer_text, resolve_depth, calls)
    if substituted and stop != "depth_rounds":
        notes.append(f"{substituted} Depth API call(s) resolved by substitution in the answer")
    answer_text, partial = strip_partial_depth_call(answer_text)
    if partial:
        notes.append("an unfinished Depth( call cut off by the token limit was removed")
    if stop == "max_new_tokens":
        notes.append(f"the answer hit max_new_tokens={max_new_tokens}")
    answer_text = answer_text.replace(ASSISTANT_SEP, "").strip()
    return LoopResult(answer_text, assistant_texts, turns, calls, notes, stop, stats)


def _substitute_calls(
    text: str, resolve_depth: DepthResolver, calls: list[DepthCall]
) -> tuple[str, int]:
    """Replace each complete `Depth(x, y)` in `text` by its value in mm ("unknown" if none)."""
    found = find_depth_calls(text)
    resolved = [resolve_depth(c.x, c.y) for c in found]
    calls.extend(resolved)
    for call, depth in zip(reversed(found), reversed(resolved), strict=True):
        value = "unknown" if depth.depth_mm is None else str(round(depth.depth_mm))
        text = text[: call.start] + value + text[call.end :]
    return text, len(found)
