"""A process using the file cache backend on one directory, driven line by line (the two-process test).

    python -m tests.unit.services.cache.file_client DIRECTORY

Prints ``ready``, then answers each stdin line with one JSON line:
``set <prefix> <count> <tag>`` writes ``<prefix>0..<count-1>`` in namespace ``docs`` concurrently, all
filed under ``<tag>`` (answers how many were stored); ``invalidate <tag>`` answers how many entries it
removed; ``present <prefix> <count>`` answers how many of those keys this process still reads.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from services.cache.cache import Cache
from services.cache.file import FileBackend, FileConfig


async def serve(directory: str) -> None:
    cache = Cache(FileBackend(FileConfig(directory=Path(directory))), max_value_bytes=64 * 1024)
    print("ready", flush=True)
    while line := (await asyncio.to_thread(sys.stdin.readline)).split():
        if line[0] == "set":
            prefix, count, tag = line[1], int(line[2]), line[3]
            stored = await asyncio.gather(*(cache.set("docs", f"{prefix}{n}", {"n": n}, tags=[tag])
                                            for n in range(count)))
            answer: int = sum(stored)
        elif line[0] == "invalidate":
            answer = await cache.invalidate_tag("docs", line[1])
        else:
            prefix, count = line[1], int(line[2])
            answer = sum([await cache.get("docs", f"{prefix}{n}") is not None for n in range(count)])
        print(json.dumps(answer), flush=True)
    await cache.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
