"""Voice tasks: segmentation, transcript cleaning, recognizer registry, a tiny real ASR model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatialbot_ros.pipeline.voice import (
    AudioSegmenter,
    TransformersRecognizer,
    VoiceError,
    VoiceTaskLogic,
    make_recognizer,
    pcm16_to_float,
    register_recognizer,
    resample,
    transcript_to_task,
)

SR = 16000


def tone(seconds: float, amplitude: float = 0.3, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def silence(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.002, int(seconds * SR))).astype(np.float32)


class ScriptedRecognizer:
    """Returns queued transcripts and records what it was given."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.calls: list[tuple[int, int]] = []

    def transcribe(self, audio, sample_rate_hz):
        self.calls.append((audio.size, sample_rate_hz))
        text = self.texts.pop(0)
        if text == "!raise":
            raise RuntimeError("decoder exploded")
        return text


register_recognizer("scripted_test")(lambda config: ScriptedRecognizer(config["texts"]))


def test_pcm16_conversion_and_range():
    out = pcm16_to_float(np.array([-32768, 0, 16384], np.int16))
    np.testing.assert_allclose(out, [-1.0, 0.0, 0.5])
    assert out.dtype == np.float32
    with pytest.raises(VoiceError, match="integer PCM16"):
        pcm16_to_float(np.array([0.5]))


def test_resample_keeps_a_tone():
    audio = tone(1.0, hz=440)
    out = resample(audio, SR, 8000)
    assert out.size == 8000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)
    with pytest.raises(VoiceError):
        resample(audio, 0, SR)


@pytest.mark.parametrize(
    ("text", "wake", "expected"),
    [
        (" Grasp the middle teacup. ", "", "Grasp the middle teacup"),
        ("robot, grasp the red cup", "robot", "grasp the red cup"),
        ("Hey Robot: grasp the red cup!", "robot", "grasp the red cup"),
        ("grasp the red cup", "robot", None),
        ("   ", "", None),
        ("robot", "robot", None),
    ],
)
def test_transcript_to_task(text, wake, expected):
    assert transcript_to_task(text, wake) == expected


def test_transcript_is_capped():
    assert len(transcript_to_task("a" * 900, max_chars=500)) == 500


def test_segmenter_cuts_two_utterances_in_arbitrary_chunks():
    seg = AudioSegmenter(sample_rate_hz=SR, silence_s=0.5)
    stream = np.concatenate([silence(0.5), tone(1.0), silence(1.0, 1), tone(0.6), silence(1.0, 2)])
    rng = np.random.default_rng(0)
    utterances = []
    start = 0
    while start < stream.size:
        n = int(rng.integers(100, 4000))
        utterances += seg.push(stream[start : start + n])
        start += n
    assert len(utterances) == 2
    # Each holds its speech plus the trailing silence that ended it.
    assert utterances[0].size / SR == pytest.approx(1.5, abs=0.1)
    assert utterances[1].size / SR == pytest.approx(1.1, abs=0.1)


def test_segmenter_ignores_clicks_and_caps_long_speech():
    seg = AudioSegmenter(sample_rate_hz=SR, silence_s=0.3, min_speech_s=0.3, max_utterance_s=2.0)
    assert seg.push(np.concatenate([tone(0.05), silence(1.0)])) == []
    long = seg.push(tone(5.0))
    assert len(long) == 2
    assert all(u.size / SR == pytest.approx(2.0, abs=0.05) for u in long)
    assert seg.flush() is not None  # the last second is still open


def test_voice_logic_publishes_tasks_only_with_wake_word():
    rec = make_recognizer(
        "scripted_test", {"texts": ["robot grasp the cup", "nice weather", "!raise"]}
    )
    logic = VoiceTaskLogic(rec, AudioSegmenter(sample_rate_hz=SR, silence_s=0.3), "robot")
    stream = np.concatenate([tone(0.5), silence(0.5), tone(0.5), silence(0.5), tone(0.5)])
    events = logic.on_audio(stream) + logic.flush()
    assert [e.code for e in events] == ["task", "ignored", "asr_failed"]
    assert events[0].text == "grasp the cup"
    assert "decoder exploded" in events[2].text
    assert rec.calls[0][1] == SR


def test_unknown_recognizer_and_missing_model_path():
    with pytest.raises(VoiceError, match="expected an ASR engine"):
        make_recognizer("nope")
    with pytest.raises(VoiceError, match="model_path"):
        make_recognizer("transformers", {})
    rec = make_recognizer("transformers", {"model_path": "/no/such/dir"})
    with pytest.raises(VoiceError, match="does not exist"):
        rec.transcribe(tone(0.1), SR)


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    """A randomly initialised 2-layer wav2vec2 CTC model with a character vocabulary."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    path = tmp_path_factory.mktemp("tiny_asr")
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefghij")}}
    (path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(path / "vocab.json"), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=SR, feature_size=1, padding_value=0.0)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(path)
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    Wav2Vec2ForCTC(config).save_pretrained(path)
    return path


def test_transformers_recognizer_runs_a_local_model(tiny_wav2vec2):
    rec = TransformersRecognizer(str(tiny_wav2vec2), device="cpu")
    assert rec._pipe is None  # nothing loaded until used
    text = rec.transcribe(tone(0.5, hz=300)[::2].copy(), SR // 2)  # 8 kHz input is resampled
    assert isinstance(text, str)
    assert set(text) <= set("abcdefghij ")
    assert rec.sample_rate_hz == SR
