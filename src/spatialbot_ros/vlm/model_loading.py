"""Loading SpatialBot (remote code) from a local directory: dtype, device, vision tower.

Follows the reference README: `AutoModelForCausalLM.from_pretrained(path, torch_dtype=float16
(float32 on CPU), device_map="auto", trust_remote_code=True)` and `AutoTokenizer`.  torch and
transformers are imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = ["LoadedModel", "ModelLoadError", "load_model", "resolve_device", "resolve_dtype"]

DeviceName = Literal["auto", "cpu", "cuda"]
DtypeName = Literal["auto", "float16", "bfloat16", "float32"]


class ModelLoadError(SpatialBotRosError, RuntimeError):
    """The model directory is missing, incomplete or cannot be loaded by transformers."""


@dataclass
class LoadedModel:
    """The model, its tokenizer, where it runs and what was decided while loading."""

    model: Any
    tokenizer: Any
    device: str  # "cpu" | "cuda"
    dtype: Any  # torch.dtype
    notes: list[str] = field(default_factory=list)


def resolve_device(device: str) -> str:
    """ "auto" -> "cuda" when torch sees a GPU, else "cpu"; "cuda" without a GPU is an error."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise ModelLoadError(f'expected device "auto", "cpu" or "cuda", got {device!r}')
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError('expected a CUDA GPU for device "cuda", got none visible to torch')
    return device


def resolve_dtype(dtype: str, device: str) -> tuple[Any, str | None]:
    """float16 on CUDA unless bfloat16/float32 is asked; float32 on CPU (half is slow there)."""
    import torch

    names = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    if dtype != "auto" and dtype not in names:
        raise ModelLoadError(
            f'expected dtype "auto", "float16", "bfloat16" or "float32", got {dtype!r}'
        )
    if device == "cpu":
        note = None if dtype in ("auto", "float32") else f"dtype {dtype} ignored on CPU: float32"
        return torch.float32, note
    return (torch.float16 if dtype == "auto" else names[dtype]), None


def _check_model_dir(model_path: str | Path | None) -> Path:
    if model_path is None or str(model_path).strip() == "":
        raise ModelLoadError(
            "expected model_path to a local SpatialBot model directory "
            "(e.g. a download of RussRobin/SpatialBot-3B), got none"
        )
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"expected a model directory at {path}, got no such directory")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"expected config.json in the model directory {path}, got none")
    return path


def load_model(
    model_path: str | Path | None,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Load model + tokenizer from a local directory, put the vision tower on the model's device."""
    path = _check_model_dir(model_path)
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    torch_dtype, note = resolve_dtype(dtype, dev)
    notes = [note] if note else []
    # transformers renamed torch_dtype to dtype (4.56); the remote code works with either.
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    kwargs: dict[str, Any] = {dtype_kw: torch_dtype, "trust_remote_code": trust_remote_code}
    use_device_map = dev == "cuda" and importlib.util.find_spec("accelerate") is not None
    if use_device_map:
        kwargs["device_map"] = "auto"  # as the reference; needs accelerate
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except Exception as exc:  # transformers raises many kinds; the node needs one with the path
        hint = "" if trust_remote_code else " (SpatialBot needs trust_remote_code: true)"
        raise ModelLoadError(
            f"cannot load a model from {path}: {type(exc).__name__}: {exc}{hint}"
        ) from exc
    if dev == "cuda" and not use_device_map:
        model = model.to("cuda")
        notes.append("accelerate not installed: loaded without device_map, moved to cuda")
    model.eval()
    target = getattr(model, "device", None) or torch.device(dev)
    get_tower = getattr(model, "get_vision_tower", None)
    tower = get_tower() if callable(get_tower) else None
    if tower is not None:
        if getattr(tower, "is_loaded", True) is False and hasattr(tower, "load_model"):
            tower.load_model()
        # Known pitfall of the reference: the tower stays on CPU -> device mismatch.
        tower.to(device=target)
    return LoadedModel(model, tokenizer, dev, torch_dtype, notes)
