"""Read what is readable of a truncated mcap file (a recorder killed mid-write has no footer).

rosbags needs the mcap summary at the end of the file; the mcap package's StreamReader reads
records front to back instead, so every message written before the damage can still be
replayed, and the error names where it stopped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["McapStreamSource", "SalvageConnection"]


@dataclass
class SalvageConnection:
    """The part of a rosbags Connection that replay uses."""

    id: int
    topic: str
    msgtype: str
    msgcount: int = 0


class McapStreamSource:
    """An AnyReader look-alike over one (possibly truncated) mcap file, read sequentially."""

    def __init__(self, path: Path, typestore: Any) -> None:
        """Scan the file once for channels, counts and the time span (up to the damage)."""
        self.path = path
        self.typestore = typestore
        self.connections: list[SalvageConnection] = []
        self.start_time = 0
        self.end_time = 0
        self.scan_error: Exception | None = None
        by_channel: dict[int, SalvageConnection] = {}
        try:
            for channel_id, log_ns, _ in self._records(by_channel):
                by_channel[channel_id].msgcount += 1
                self.start_time = log_ns if not self.start_time else min(self.start_time, log_ns)
                self.end_time = max(self.end_time, log_ns)
        except Exception as exc:  # the truncation point: keep what was found before it
            self.scan_error = exc
        self.connections = list(by_channel.values())

    def _records(self, channels: dict[int, SalvageConnection]) -> Iterator[tuple[int, int, bytes]]:
        from mcap.records import Channel, Message, Schema
        from mcap.stream_reader import StreamReader

        schemas: dict[int, str] = {}
        with self.path.open("rb") as f:
            for record in StreamReader(f, emit_chunks=False).records:
                if isinstance(record, Schema):
                    schemas[record.id] = record.name
                elif isinstance(record, Channel) and record.id not in channels:
                    channels[record.id] = SalvageConnection(
                        record.id, record.topic, schemas.get(record.schema_id, "")
                    )
                elif isinstance(record, Message) and record.channel_id in channels:
                    yield record.channel_id, int(record.log_time), record.data

    def messages(
        self, connections: Collection[SalvageConnection] = ()
    ) -> Iterator[tuple[SalvageConnection, int, bytes]]:
        """(connection, log time, raw CDR) in file order; raises where the file is damaged."""
        wanted = {c.id for c in connections} if connections else None
        by_id = {c.id: c for c in self.connections}
        channels = {c.id: SalvageConnection(c.id, c.topic, c.msgtype) for c in self.connections}
        for channel_id, log_ns, data in self._records(channels):
            if (wanted is None or channel_id in wanted) and channel_id in by_id:
                yield by_id[channel_id], log_ns, data

    def deserialize(self, raw: bytes, msgtype: str) -> Any:
        """CDR to a message of the typestore."""
        return self.typestore.deserialize_cdr(raw, msgtype)

    def close(self) -> None:
        """Nothing is held open between reads."""
