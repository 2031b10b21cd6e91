"""Builds a tiny SpatialBot-like model directory (remote code, random weights, local tokenizer).

The directory loads exactly like SpatialBot-3B: `AutoModelForCausalLM.from_pretrained(path,
trust_remote_code=True)` and `AutoTokenizer.from_pretrained(path)`.  Used by the tests in
test/vlm and by bench/bench_tool_loop.py.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["REMOTE_CODE", "build_tiny_bunny", "script_config", "set_script"]

REMOTE_CODE = Path(__file__).with_name("tiny_bunny") / "modeling_tiny_bunny.py"

_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions."
)
# Words the prompts, answers and API turns use, so the BPE learns sensible merges for them.
_CORPUS = [
    _SYSTEM,
    "USER: ASSISTANT: API: Depth(0.51,0.40)=875 Depth(0.25, 0.75)=1203 Depth(x,y)",
    "Please provide the bounding box coordinate of the object this sentence describes:",
    "the middle teacup red cup on the left blue bowl gripper touching",
    "[0.12, 0.34, 0.56, 0.78] [12, 34, 56, 78] (0.5,0.2) <0.5,0.2>",
    "What is the depth value of point <0.5,0.2>? Answer directly from depth map.",
    "Which is closer to the camera, the cup or the bowl? Is the cup left or right of the bowl?",
    "How many cups are there? Is the gripper touching the cup? above below yes no",
    "The depth is 875 mm. The left one is closer. There are 3 cups.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 nan",
]
EOS = "<|endoftext|>"


def _load_remote_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tiny_bunny_remote_local", REMOTE_CODE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {REMOTE_CODE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_tokenizer(out_dir: Path) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS
    )
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_bunny(
    out_dir: Path,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 32,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Write config.json (auto_map to the remote code), safetensors weights and a tokenizer."""
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(out_dir)
    remote = _load_remote_module()
    eos_id = int(tokenizer.convert_tokens_to_ids(EOS))
    config = remote.TinyBunnyConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        image_size=image_size,
        patch_size=patch_size,
        vision_hidden_size=16,
        eos_token_id=eos_id,
        bos_token_id=eos_id,
        pad_token_id=eos_id,
        tie_word_embeddings=False,
    )
    config.auto_map = {
        "AutoConfig": "modeling_tiny_bunny.TinyBunnyConfig",
        "AutoModelForCausalLM": "modeling_tiny_bunny.TinyBunnyForCausalLM",
    }
    torch.manual_seed(seed)
    model = remote.TinyBunnyForCausalLM(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    shutil.copy(REMOTE_CODE, out_dir / REMOTE_CODE.name)
    # save_pretrained records the local class's module; point back at the copied remote code.
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["auto_map"] = config.auto_map
    cfg["architectures"] = ["TinyBunnyForCausalLM"]
    cfg_path.write_text(json.dumps(cfg, indent=2))
    return out_dir


def script_config(tokenizer: Any, segments: Sequence[str]) -> dict[str, Any]:
    """Config fields that make the tiny model emit `segments` (one per API round), then EOS."""

    def ids(text: str) -> list[int]:
        return [int(t) for t in tokenizer(text, add_special_tokens=False).input_ids]

    return {
        "script_segments": [ids(s) for s in segments],
        "script_start_ids": ids(" ASSISTANT:"),
        "script_api_ids": ids(" API:"),
    }


def set_script(model: Any, tokenizer: Any, segments: Sequence[str] | None) -> None:
    """Turn the loaded model's scripted generation on (`segments`) or off (None)."""
    if segments is None:
        model.config.script_segments = None
        return
    for key, value in script_config(tokenizer, segments).items():
        setattr(model.config, key, value)
