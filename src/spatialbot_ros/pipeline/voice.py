"""Speech to task text: utterance segmentation and an ASR engine behind one interface.

The voice node feeds audio chunks (microphone or an audio topic) to `VoiceTaskLogic`, which cuts
utterances by energy, transcribes each with a `SpeechRecognizer` and returns task text. The
default recognizer is a transformers automatic-speech-recognition pipeline loaded from a local
model directory (Whisper, wav2vec2, ...); torch/transformers are imported only when it loads.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = [
    "AudioSegmenter",
    "SpeechRecognizer",
    "TransformersRecognizer",
    "VoiceError",
    "VoiceTaskLogic",
    "available_recognizers",
    "make_recognizer",
    "pcm16_to_float",
    "register_recognizer",
    "resample",
    "transcript_to_task",
]

FloatAudio = npt.NDArray[np.float32]


class VoiceError(SpatialBotRosError):
    """Audio or ASR problems: bad samples, a model that cannot load or run."""


@runtime_checkable
class SpeechRecognizer(Protocol):
    """Turns mono float32 audio in [-1, 1] at `sample_rate_hz` into text."""

    name: str

    def transcribe(self, audio: FloatAudio, sample_rate_hz: int) -> str:
        """Text spoken in `audio` ('' for nothing)."""
        ...


RecognizerFactory = Callable[[Mapping[str, Any]], SpeechRecognizer]
_REGISTRY: dict[str, RecognizerFactory] = {}


def register_recognizer(name: str) -> Callable[[RecognizerFactory], RecognizerFactory]:
    """Decorator: register a recognizer factory under the name used in YAML."""

    def wrap(factory: RecognizerFactory) -> RecognizerFactory:
        _REGISTRY[name] = factory
        return factory

    return wrap


def available_recognizers() -> list[str]:
    """Names of the registered recognizers."""
    return sorted(_REGISTRY)


def make_recognizer(name: str, config: Mapping[str, Any] | None = None) -> SpeechRecognizer:
    """Build the recognizer registered as `name`."""
    if name not in _REGISTRY:
        raise VoiceError(f"expected an ASR engine in {available_recognizers()}, got {name!r}")
    return _REGISTRY[name](dict(config or {}))


# --- audio helpers ----------------------------------------------------------------------------


def pcm16_to_float(samples: Any) -> FloatAudio:
    """Signed 16-bit PCM (sequence or array) to float32 in [-1, 1]."""
    array = np.asarray(samples)
    if array.dtype.kind not in "iu" and array.size:
        raise VoiceError(f"expected integer PCM16 samples, got {array.dtype}")
    return (array.astype(np.float32) / 32768.0).reshape(-1)


def resample(audio: FloatAudio, from_hz: int, to_hz: int) -> FloatAudio:
    """Polyphase resampling (scipy) from `from_hz` to `to_hz`."""
    if from_hz <= 0 or to_hz <= 0:
        raise VoiceError(f"sample rates must be > 0, got {from_hz} and {to_hz}")
    if from_hz == to_hz or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(int(from_hz), int(to_hz))
    out: FloatAudio = np.asarray(resample_poly(audio, to_hz // g, from_hz // g), np.float32)
    return out


_WORD_RE = re.compile(r"[^\w\s',.?-]", re.UNICODE)


def transcript_to_task(text: str, wake_word: str = "", max_chars: int = 500) -> str | None:
    """Clean ASR output into task text; None when empty or the wake word is missing.

    With a wake word ("robot"), only speech starting with it counts, and it is removed.
    """
    cleaned = " ".join(_WORD_RE.sub(" ", text).split()).strip(" ,.")
    if wake_word:
        pattern = re.compile(rf"^\s*(hey\s+)?{re.escape(wake_word)}\b[\s,.:!]*", re.IGNORECASE)
        match = pattern.match(cleaned)
        if match is None:
            return None
        cleaned = cleaned[match.end() :].strip(" ,.")
    if not cleaned:
        return None
    return cleaned[:max_chars]


@dataclass
class AudioSegmenter:
    """Energy-based utterance cutter: speech starts above `threshold` RMS, ends after silence.

    Works on chunks of any length; returns finished utterances (float32 mono).
    """

    sample_rate_hz: int = 16000
    threshold_rms: float = 0.02
    silence_s: float = 0.8
    min_speech_s: float = 0.3
    max_utterance_s: float = 15.0
    frame_s: float = 0.03

    def __post_init__(self) -> None:
        """Validate and set up the running state."""
        if self.sample_rate_hz <= 0 or self.threshold_rms <= 0 or self.silence_s <= 0:
            raise VoiceError(
                "sample_rate_hz, threshold_rms and silence_s must be > 0, got "
                f"{self.sample_rate_hz}, {self.threshold_rms}, {self.silence_s}"
            )
        self._frame = max(1, round(self.frame_s * self.sample_rate_hz))
        self._pending = np.zeros(0, np.float32)
        self._speech: list[FloatAudio] = []
        self._speech_frames = 0
        self._silent_frames = 0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is being collected."""
        return bool(self._speech)

    def push(self, chunk: FloatAudio) -> list[FloatAudio]:
        """Add samples; return the utterances that ended within them."""
        data = np.concatenate((self._pending, np.asarray(chunk, np.float32).reshape(-1)))
        n_frames = data.size // self._frame
        self._pending = data[n_frames * self._frame :]
        done: list[FloatAudio] = []
        silence_frames = math.ceil(self.silence_s / self.frame_s)
        max_frames = math.ceil(self.max_utterance_s / self.frame_s)
        for k in range(n_frames):
            frame = data[k * self._frame : (k + 1) * self._frame]
            loud = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) >= self.threshold_rms
            if not self._speech and not loud:
                continue
            self._speech.append(frame)
            if loud:
                self._speech_frames += 1
                self._silent_frames = 0
            else:
                self._silent_frames += 1
            if self._silent_frames >= silence_frames or len(self._speech) >= max_frames:
                utterance = self._finish()
                if utterance is not None:
                    done.append(utterance)
        return done

    def flush(self) -> FloatAudio | None:
        """End the current utterance now (e.g. at the end of a recording)."""
        return self._finish()

    def _finish(self) -> FloatAudio | None:
        speech_s = self._speech_frames * self._frame / self.sample_rate_hz
        audio = np.concatenate(self._speech) if self._speech else None
        self._speech, self._speech_frames, self._silent_frames = [], 0, 0
        if audio is None or speech_s < self.min_speech_s:
            return None  # a click or a cough, not a command
        return audio


# --- the transformers recognizer ----------------------------------------------------------------


class TransformersRecognizer:
    """transformers `automatic-speech-recognition` pipeline from a local model directory."""

    name = "transformers"

    def __init__(
        self, model_path: str, device: str = "auto", dtype: str = "auto", language: str = ""
    ) -> None:
        """Remember the settings; the model loads on first use (or by calling load())."""
        if not model_path:
            raise VoiceError("expected model_path: a local ASR model directory, got ''")
        self.model_path = model_path
        self.device = device
        self.dtype = dtype
        self.language = language
        self._pipe: Any = None

    def load(self) -> None:
        """Load the model (slow; call it off any callback path)."""
        if self._pipe is not None:
            return
        from pathlib import Path

        if not Path(self.model_path).is_dir():
            raise VoiceError(f"ASR model directory {self.model_path!r} does not exist")
        try:
            import torch
            from transformers import pipeline
        except ImportError as exc:
            raise VoiceError(
                "the voice node needs torch and transformers (pip install '.[voice]')"
            ) from exc
        device = self.device
        if device == "auto":
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        dtype: Any = None
        if self.dtype != "auto":
            dtype = getattr(torch, self.dtype, None)
            if not isinstance(dtype, torch.dtype):
                raise VoiceError(f"expected a torch dtype name, got {self.dtype!r}")
        import transformers

        kwargs: dict[str, Any] = {}
        if dtype is not None:
            # transformers 5 renamed torch_dtype to dtype; Humble-era installs have 4.x.
            major = int(transformers.__version__.split(".")[0])
            kwargs["dtype" if major >= 5 else "torch_dtype"] = dtype
        try:
            self._pipe = pipeline(
                "automatic-speech-recognition", model=self.model_path, device=device, **kwargs
            )
        except Exception as exc:  # transformers raises many types for a bad model directory
            raise VoiceError(f"cannot load ASR model from {self.model_path!r}: {exc}") from exc

    @property
    def sample_rate_hz(self) -> int:
        """What the model's feature extractor expects (16 kHz for Whisper and wav2vec2)."""
        self.load()
        return int(getattr(self._pipe.feature_extractor, "sampling_rate", 16000))

    def transcribe(self, audio: FloatAudio, sample_rate_hz: int) -> str:
        """Resample to the model's rate and transcribe."""
        self.load()
        target = self.sample_rate_hz
        samples = resample(np.asarray(audio, np.float32).reshape(-1), sample_rate_hz, target)
        kwargs: dict[str, Any] = {}
        if self.language and getattr(self._pipe.model.config, "model_type", "") == "whisper":
            kwargs["generate_kwargs"] = {"language": self.language, "task": "transcribe"}
        out = self._pipe({"raw": samples, "sampling_rate": target}, **kwargs)
        return str(out.get("text", "") if isinstance(out, dict) else out).strip()


@register_recognizer("transformers")
def _transformers_factory(config: Mapping[str, Any]) -> SpeechRecognizer:
    return TransformersRecognizer(
        model_path=str(config.get("model_path", "")),
        device=str(config.get("device", "auto")),
        dtype=str(config.get("dtype", "auto")),
        language=str(config.get("language", "")),
    )


# --- node logic -----------------------------------------------------------------------------------


@dataclass
class VoiceEvent:
    """What happened to one utterance: a task, or why not."""

    code: str  # "task" | "ignored" | "asr_failed"
    text: str
    duration_s: float
    asr_ms: float


class VoiceTaskLogic:
    """Audio chunks in, task texts out (the voice node publishes them to the task topic)."""

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        segmenter: AudioSegmenter,
        wake_word: str = "",
        max_task_chars: int = 500,
    ) -> None:
        """Hold a recognizer and a segmenter working at the input sample rate."""
        self.recognizer = recognizer
        self.segmenter = segmenter
        self.wake_word = wake_word
        self.max_task_chars = max_task_chars

    def on_audio(self, chunk: FloatAudio) -> list[VoiceEvent]:
        """Feed samples at segmenter.sample_rate_hz; transcribe every finished utterance."""
        return [self._transcribe(u) for u in self.segmenter.push(chunk)]

    def flush(self) -> list[VoiceEvent]:
        """Transcribe what is left (end of stream)."""
        utterance = self.segmenter.flush()
        return [] if utterance is None else [self._transcribe(utterance)]

    def _transcribe(self, utterance: FloatAudio) -> VoiceEvent:
        duration = utterance.size / self.segmenter.sample_rate_hz
        t0 = time.perf_counter()
        try:
            text = self.recognizer.transcribe(utterance, self.segmenter.sample_rate_hz)
        except Exception as exc:  # a failing model must not take the node down
            return VoiceEvent("asr_failed", f"{type(exc).__name__}: {exc}", duration, 0.0)
        asr_ms = (time.perf_counter() - t0) * 1e3
        task = transcript_to_task(text, self.wake_word, self.max_task_chars)
        if task is None:
            return VoiceEvent("ignored", text, duration, asr_ms)
        return VoiceEvent("task", task, duration, asr_ms)
