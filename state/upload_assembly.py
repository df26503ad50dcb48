"""Streamed upload chunks put back together as files, one file at a time, with each file's share received.

A streamed multipart upload hands its files over in order, as chunks of (file name, offset, bytes); a
file's first chunk has offset 0 (an empty file sends one empty chunk). The browser tells the sizes
beforehand, so each file's progress is the share of its own bytes received. Bytes past ``cap`` are
counted but not kept: an oversized file is refused from its size without holding it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReceivedFile:
    index: int
    name: str
    received: int = 0
    chunks: int = 0
    data: bytearray = field(default_factory=bytearray)


class FileAssembler:
    def __init__(self, sizes: list[int], cap: int) -> None:
        self.sizes, self.cap = sizes, cap
        self.current: ReceivedFile | None = None

    def add(self, name: str, offset: int, data: bytes) -> ReceivedFile | None:
        """Take one chunk; the previous file, complete, when this chunk starts the next one."""
        finished = None
        if offset == 0 and self.current is not None and self._starts_next(self.current, name):
            finished, self.current = self.current, None
        if self.current is None:
            self.current = ReceivedFile(index=0 if finished is None else finished.index + 1, name=name)
        current = self.current
        current.chunks += 1
        current.received += len(data)
        room = self.cap + 1 - len(current.data)
        if room > 0:
            current.data += data[:room]
        return finished

    def finish(self) -> ReceivedFile | None:
        """The last file, once every chunk is in."""
        finished, self.current = self.current, None
        return finished

    def percent(self) -> int:
        """How much of the file being received has arrived (0-100)."""
        current = self.current
        if current is None:
            return 0
        expected = self.sizes[current.index] if current.index < len(self.sizes) else 0
        return 100 if expected <= 0 else min(100, int(100 * current.received / expected))

    def _starts_next(self, current: ReceivedFile, name: str) -> bool:
        expected = self.sizes[current.index] if current.index < len(self.sizes) else 0
        # A chunk at offset 0 after the current file's bytes began (or after an empty file's one chunk).
        return current.received > 0 or name != current.name or (expected == 0 and current.chunks > 0)
