# mypy: ignore-errors
# (remote code in the style of Hugging Face modelling files: typed loosely like them)
"""Remote code of a tiny Bunny-style VLM, copied into test model directories.

It mimics the interface SpatialBot-3B's remote code offers (Bunny: Phi-2 + SigLIP):
`process_images(images, config)` pads to a square with the mean colour and resizes,
`get_vision_tower()`, and `forward(input_ids, images=..., past_key_values=..., use_cache=...)`
splicing each image's features in place of the ids -201, -202, ... (in order of appearance),
plus `generate(input_ids, images=...)`. Weights are random.

Scripted variant (for the tool-loop tests): when `config.script_segments` is set, the logits
of the last position are overridden so the model emits segment k of the script after it has
seen k API turns (`config.script_api_ids`), starting after the last `config.script_start_ids`
("ASSISTANT:"), then EOS.  The choice is a function of the token history only, so a run with
the KV cache and a run re-prompted from scratch emit the same tokens.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, LlamaModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast

# transformers renamed past_key_values -> cache (5.2x); speak whichever this version uses.
_CACHE_KW = (
    "cache" if "cache" in inspect.signature(LlamaModel.forward).parameters else "past_key_values"
)
_OUT_CACHE = (
    "cache"
    if "cache" in {f.name for f in dataclasses.fields(CausalLMOutputWithPast)}
    else "past_key_values"
)

IMAGE_TOKEN_IDS = (-200, -201, -202, -203, -204, -205, -206, -207, -208)


class TinyBunnyConfig(LlamaConfig):
    """Llama config plus the vision tower's geometry and the optional token script."""

    model_type = "tiny_bunny"

    def __init__(  # noqa: PLR0917 - HF config signature
        self,
        image_size: int = 32,
        patch_size: int = 8,
        vision_hidden_size: int = 16,
        image_aspect_ratio: str = "pad",
        image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        image_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
        script_segments: list[list[int]] | None = None,
        script_start_ids: list[int] | None = None,
        script_api_ids: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.image_size = image_size
        self.patch_size = patch_size
        self.vision_hidden_size = vision_hidden_size
        self.image_aspect_ratio = image_aspect_ratio
        self.image_mean = list(image_mean)
        self.image_std = list(image_std)
        self.script_segments = script_segments
        self.script_start_ids = script_start_ids
        self.script_api_ids = script_api_ids
        super().__init__(**kwargs)


class TinyImageProcessor:
    """SigLIP-like preprocessing without torchvision: resize, rescale, normalise."""

    def __init__(self, size: int, mean: list[float], std: list[float]) -> None:
        self.size = size
        self.image_mean = mean
        self.image_std = std

    def preprocess(self, image: Image.Image, return_tensors: str = "pt") -> dict[str, Any]:
        img = image.convert("RGB").resize((self.size, self.size), Image.BICUBIC)
        arr = np.asarray(img, dtype=np.float32) / 255.0
        arr = (arr - np.asarray(self.image_mean, np.float32)) / np.asarray(
            self.image_std, np.float32
        )
        return {"pixel_values": torch.from_numpy(arr.transpose(2, 0, 1).copy()).unsqueeze(0)}


class TinyVisionTower(nn.Module):
    """Patch embedding + one MLP: (N, 3, S, S) -> (N, patches, vision_hidden)."""

    def __init__(self, config: TinyBunnyConfig) -> None:
        super().__init__()
        self.is_loaded = True
        self.image_processor = TinyImageProcessor(
            config.image_size, config.image_mean, config.image_std
        )
        self.patch = nn.Conv2d(3, config.vision_hidden_size, config.patch_size, config.patch_size)
        self.mlp = nn.Linear(config.vision_hidden_size, config.vision_hidden_size)

    def load_model(self) -> None:
        self.is_loaded = True

    @property
    def device(self) -> torch.device:
        return self.patch.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.patch.weight.dtype

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # The real tower runs on its own device/dtype: a tower left on CPU fails here like Bunny's.
        x = self.patch(images.to(device=self.device, dtype=self.dtype))
        x = x.flatten(2).transpose(1, 2)
        return self.mlp(torch.nn.functional.gelu(x))


class TinyBunnyModel(LlamaModel):
    """Llama decoder with a vision tower and an mlp2x_gelu projector, as BunnyMetaModel."""

    config_class = TinyBunnyConfig

    def __init__(self, config: TinyBunnyConfig) -> None:
        super().__init__(config)
        self.vision_tower = TinyVisionTower(config)
        self.mm_projector = nn.Sequential(
            nn.Linear(config.vision_hidden_size, config.hidden_size),
            nn.GELU(),
            nn.Linear(config.hidden_size, config.hidden_size),
        )

    def get_vision_tower(self) -> TinyVisionTower:
        return self.vision_tower


class TinyBunnyForCausalLM(LlamaForCausalLM):
    """Causal LM with Bunny's multimodal input splicing and process_images."""

    config_class = TinyBunnyConfig

    def __init__(self, config: TinyBunnyConfig) -> None:
        super().__init__(config)
        self.model = TinyBunnyModel(config)
        self._script_history: list[int] = []
        self.post_init()

    def get_model(self) -> TinyBunnyModel:
        return self.model

    def get_vision_tower(self) -> TinyVisionTower:
        return self.model.get_vision_tower()

    # -- images ------------------------------------------------------------------------------
    @staticmethod
    def expand2square(pil_img: Image.Image, background_color: tuple[int, ...]) -> Image.Image:
        width, height = pil_img.size
        if width == height:
            return pil_img
        side = max(width, height)
        result = Image.new(pil_img.mode, (side, side), background_color)
        result.paste(pil_img, ((side - width) // 2, (side - height) // 2))
        return result

    def process_images(self, images: list[Image.Image], model_cfg: Any) -> torch.Tensor:
        processor = self.get_vision_tower().image_processor
        if getattr(model_cfg, "image_aspect_ratio", None) == "pad":
            mean = tuple(int(x * 255) for x in processor.image_mean)
            images = [self.expand2square(img, mean) for img in images]
        return torch.cat([processor.preprocess(img)["pixel_values"] for img in images], dim=0)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        features = self.get_vision_tower()(images)
        return self.model.mm_projector(features.to(self.model.mm_projector[0].weight.dtype))

    def _splice(self, input_ids: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Embeddings of `input_ids` (batch 1) with image features in place of -20x ids."""
        if input_ids.shape[0] != 1:
            raise ValueError(f"tiny bunny supports batch 1, got {input_ids.shape[0]}")
        ids = input_ids[0]
        features = self.encode_images(images)
        pieces: list[torch.Tensor] = []
        start = 0
        image_idx = 0
        for pos in range(ids.shape[0]):
            if int(ids[pos]) in IMAGE_TOKEN_IDS:
                if start < pos:
                    pieces.append(self.model.embed_tokens(ids[start:pos]))
                if image_idx >= features.shape[0]:
                    raise ValueError("more image tokens than images")
                pieces.append(features[image_idx].to(self.model.embed_tokens.weight.dtype))
                image_idx += 1
                start = pos + 1
        if start < ids.shape[0]:
            pieces.append(self.model.embed_tokens(ids[start:]))
        return torch.cat(pieces, dim=0).unsqueeze(0)

    # -- forward -----------------------------------------------------------------------------
    def forward(  # noqa: PLR0917 - the Bunny/HF forward signature
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        images: torch.Tensor | None = None,
        cache: Cache | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        if past_key_values is None:
            past_key_values = cache
        past_len = past_key_values.get_seq_length() if past_key_values is not None else 0
        if inputs_embeds is None:
            if input_ids is None:
                raise ValueError("need input_ids or inputs_embeds")
            if images is not None and bool((input_ids < 0).any()):
                inputs_embeds = self._splice(input_ids, images)
            else:
                inputs_embeds = self.model.embed_tokens(input_ids)
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache()
        # Positions come from the cache, never from id counts: each image id stands for many
        # positions, so generate()'s id-based positions and masks do not apply (as in Bunny).
        length = inputs_embeds.shape[1]
        positions = torch.arange(past_len, past_len + length, device=inputs_embeds.device)
        out = self.model(
            inputs_embeds=inputs_embeds,
            position_ids=positions.unsqueeze(0),
            use_cache=use_cache,
            **{_CACHE_KW: past_key_values},
        )
        logits = self.lm_head(out.last_hidden_state).float()
        if self.config.script_segments is not None and input_ids is not None:
            logits = self._scripted(input_ids, past_len, logits)
        return CausalLMOutputWithPast(logits=logits, **{_OUT_CACHE: out[_OUT_CACHE]})

    def _scripted(
        self, input_ids: torch.Tensor, past_len: int, logits: torch.Tensor
    ) -> torch.Tensor:
        if past_len == 0:
            self._script_history = []
        self._script_history.extend(int(t) for t in input_ids[0])
        token = self._script_next(self._script_history)
        forced = torch.full_like(logits[:, -1, :], -1e4)
        forced[:, token] = 1e4
        logits = logits.clone()
        logits[:, -1, :] = forced
        return logits

    def _script_next(self, history: list[int]) -> int:
        start = list(self.config.script_start_ids or [])
        api = list(self.config.script_api_ids or [])
        eos = int(self.config.eos_token_id)

        def occurrences(pattern: list[int]) -> list[int]:
            n = len(pattern)
            return [i for i in range(len(history) - n + 1) if history[i : i + n] == pattern]

        starts = occurrences(start)
        if not starts:
            return eos
        segment_idx = len(occurrences(api)) if api else 0
        segments = self.config.script_segments or []
        if segment_idx >= len(segments):
            return eos
        offset = len(history) - (starts[-1] + len(start))
        segment = segments[segment_idx]
        return int(segment[offset]) if 0 <= offset < len(segment) else eos

    def prepare_inputs_for_generation(
        self, input_ids: torch.Tensor, **kwargs: Any
    ) -> dict[str, Any]:
        images = kwargs.pop("images", None)
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        if cache is not None and cache.get_seq_length() > 0:
            model_inputs = {"input_ids": input_ids[:, -1:], "past_key_values": cache}
        else:
            model_inputs = {"input_ids": input_ids, "images": images}
        model_inputs["use_cache"] = kwargs.get("use_cache", True)
        return model_inputs
