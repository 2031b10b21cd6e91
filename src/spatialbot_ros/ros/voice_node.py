"""Voice node: speech from the default microphone or an audio topic -> task text on the task topic.

Audio topic type: std_msgs/Int16MultiArray, mono signed 16-bit PCM at the `sample_rate_hz`
parameter (the layout field is ignored). std_msgs keeps the package free of a dependency on
audio_common, whose message definitions differ between distributions. The microphone path
needs the optional `sounddevice` package. ASR runs on a worker thread, never in a callback.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from typing import Any

import numpy as np
import rclpy
from rclpy.node import Node
from std_msgs.msg import Int16MultiArray, String

from spatialbot_ros.pipeline.voice import (
    AudioSegmenter,
    VoiceTaskLogic,
    make_recognizer,
    pcm16_to_float,
)
from spatialbot_ros.ros.conversions import (
    declare_parameters,
    log_at,
    publish_if_ok,
    reliable_qos,
    run_node,
    status_qos,
)

__all__ = ["VoiceNode", "main"]

PARAMETERS = {
    "asr_engine": ("transformers", "speech recogniser: 'transformers' (local model directory)"),
    "model_path": ("", "local directory of a transformers ASR model (Whisper, wav2vec2, ...)"),
    "device": ("auto", "model device: auto, cpu, cuda, cuda:0, ..."),
    "dtype": ("auto", "model dtype: auto, float16, float32"),
    "language": ("", "spoken language for multilingual models (e.g. 'english'); empty = detect"),
    "source": ("microphone", "'microphone' (sounddevice, default input) or 'topic' (~/audio)"),
    "sample_rate_hz": (16000, "sample rate of the microphone / of the audio topic's PCM"),
    "energy_threshold": (0.02, "RMS level (full scale 1.0) above which audio counts as speech"),
    "silence_s": (0.8, "this much silence ends an utterance"),
    "max_utterance_s": (15.0, "longest utterance; longer speech is cut"),
    "wake_word": ("", "only utterances starting with this word become tasks (empty = all)"),
    "task_topic": ("/spatialbot/task", "where recognised tasks are published"),
}


class VoiceNode(Node):  # type: ignore[misc]
    """Publishes recognised speech as tasks; status (heard, ignored, failed) on ~/status."""

    def __init__(self) -> None:
        """Parameters, publishers, audio source; the model loads on the worker thread."""
        super().__init__("voice")
        p = declare_parameters(self, PARAMETERS)
        self.sample_rate_hz = int(p["sample_rate_hz"])
        recognizer = make_recognizer(
            str(p["asr_engine"]),
            {k: p[k] for k in ("model_path", "device", "dtype", "language")},
        )
        segmenter = AudioSegmenter(
            sample_rate_hz=self.sample_rate_hz,
            threshold_rms=float(p["energy_threshold"]),
            silence_s=float(p["silence_s"]),
            max_utterance_s=float(p["max_utterance_s"]),
        )
        self.logic = VoiceTaskLogic(recognizer, segmenter, wake_word=str(p["wake_word"]))
        self.pub_task = self.create_publisher(String, str(p["task_topic"]), reliable_qos())
        self.pub_status = self.create_publisher(String, "~/status", status_qos())
        self._audio: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=1000)
        self._stream: Any = None
        if str(p["source"]) == "topic":
            self.create_subscription(Int16MultiArray, "~/audio", self._on_audio_msg, 50)
        elif str(p["source"]) == "microphone":
            self._open_microphone()
        else:
            raise ValueError(f"source must be 'microphone' or 'topic', got {p['source']!r}")
        self._worker = threading.Thread(target=self._work, name="voice_worker", daemon=True)
        self._worker.start()

    def _status(self, text: str, error: bool = False) -> None:
        log_at(self.get_logger(), "error" if error else "info", text)
        publish_if_ok(self.pub_status, String(data=text))

    def _open_microphone(self) -> None:
        try:
            import sounddevice
        except ImportError as exc:
            raise RuntimeError(
                "source:=microphone needs the sounddevice package (pip install sounddevice), "
                "or use source:=topic"
            ) from exc

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            self._put(np.asarray(indata[:, 0], dtype=np.float32).copy())

        self._stream = sounddevice.InputStream(
            samplerate=self.sample_rate_hz, channels=1, dtype="float32", callback=callback
        )
        self._stream.start()

    def _on_audio_msg(self, msg: Any) -> None:
        self._put(pcm16_to_float(np.asarray(msg.data, dtype=np.int16)))

    def _put(self, chunk: np.ndarray) -> None:
        # ASR is behind when the queue is full; dropping audio beats unbounded memory.
        with contextlib.suppress(queue.Full):
            self._audio.put_nowait(chunk)

    def _work(self) -> None:
        load = getattr(self.logic.recognizer, "load", None)
        try:
            if load is not None:
                load()
        except Exception as exc:  # reported, node stays up so the status is visible
            self._status(f"load_failed: {exc}", error=True)
            return
        self._status("ready: listening")
        while rclpy.ok():
            try:
                chunk = self._audio.get(timeout=0.5)
            except queue.Empty:
                continue
            if chunk is None:
                return
            for event in self.logic.on_audio(chunk):
                if event.code == "task":
                    publish_if_ok(self.pub_task, String(data=event.text))
                    self._status(f"task: {event.text!r} ({event.asr_ms:.0f} ms ASR)")
                elif event.code == "ignored":
                    self._status(f"ignored: {event.text!r} (no wake word or empty)")
                else:
                    self._status(f"asr_failed: {event.text}", error=True)

    def close(self) -> None:
        """Stop the microphone and the worker."""
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
        self._audio.put(None)
        self._worker.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    """Entry point: `ros2 run spatialbot_ros voice_node --ros-args -p model_path:=...`."""
    return run_node(VoiceNode, args)


if __name__ == "__main__":
    sys.exit(main())
