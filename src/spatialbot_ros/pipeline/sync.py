"""Approximate-time pairing of RGB, depth and camera_info streams, without ROS.

The ROS node uses message_filters.ApproximateTimeSynchronizer; replay, benchmarks and tests use
this class, which applies the same rule: emit one message per stream once a set exists whose
stamps lie within `slop_ns` of each other, preferring the newest such set, and drop everything
at or before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["ApproximateTimeSync", "pair_streams"]

DEFAULT_STREAMS = ("rgb", "depth", "info")


class ApproximateTimeSync:
    """Pairs messages from named streams whose stamps agree within `slop_ns`."""

    def __init__(
        self,
        slop_ns: int,
        streams: Sequence[str] = DEFAULT_STREAMS,
        queue_size: int = 10,
    ) -> None:
        """Streams by name; each keeps at most `queue_size` unmatched messages (oldest go)."""
        if slop_ns < 0:
            raise ValueError(f"slop_ns must be >= 0, got {slop_ns}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if len(set(streams)) != len(streams) or not streams:
            raise ValueError(f"streams must be distinct names, got {list(streams)}")
        self.slop_ns = int(slop_ns)
        self.streams = tuple(streams)
        self._queues: dict[str, deque[tuple[int, Any]]] = {
            s: deque(maxlen=queue_size) for s in self.streams
        }
        self.dropped = 0  # messages pushed out of a full queue unmatched

    def add(self, stream: str, stamp_ns: int, msg: Any) -> tuple[Any, ...] | None:
        """Add one message; returns a matched tuple in `streams` order, or None."""
        queue = self._queues.get(stream)
        if queue is None:
            raise KeyError(f"expected a stream in {list(self.streams)}, got {stream!r}")
        if len(queue) == queue.maxlen:
            self.dropped += 1
        queue.append((int(stamp_ns), msg))
        return self._match(stream, int(stamp_ns))

    def _match(self, pivot_stream: str, pivot_ns: int) -> tuple[Any, ...] | None:
        chosen: dict[str, int] = {}
        for name, queue in self._queues.items():
            if name == pivot_stream:
                chosen[name] = len(queue) - 1
                continue
            if not queue:
                return None
            gaps = [abs(stamp - pivot_ns) for stamp, _ in queue]
            chosen[name] = gaps.index(min(gaps))
        stamps = [self._queues[n][i][0] for n, i in chosen.items()]
        if max(stamps) - min(stamps) > self.slop_ns:
            return None
        out = tuple(self._queues[n][chosen[n]][1] for n in self.streams)
        for name, index in chosen.items():
            queue = self._queues[name]
            for _ in range(index + 1):
                queue.popleft()
        return out

    def clear(self) -> None:
        """Forget every pending message (e.g. after a clock jump in replay)."""
        for queue in self._queues.values():
            queue.clear()


def pair_streams(
    messages: Iterable[tuple[str, int, Any]],
    slop_ns: int,
    streams: Sequence[str] = DEFAULT_STREAMS,
    queue_size: int = 10,
) -> Iterator[tuple[Any, ...]]:
    """Matched tuples from a time-ordered iterable of (stream, stamp_ns, msg); others skipped."""
    sync = ApproximateTimeSync(slop_ns, streams, queue_size)
    wanted = set(streams)
    for stream, stamp_ns, msg in messages:
        if stream not in wanted:
            continue
        matched = sync.add(stream, stamp_ns, msg)
        if matched is not None:
            yield matched
