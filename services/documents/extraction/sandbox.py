"""Running an extractor in a child process with a time limit and a memory ceiling.

A hostile file (a PDF whose content streams expand forever, a zip bomb the directory check
missed, a parser stuck in a loop) must not hang or exhaust the app: each extraction runs in a
fresh interpreter (``python -m services.documents.extraction.worker``) under ``RLIMIT_AS``, fed
the file on stdin, answering with JSON lines on stdout (progress, then the result or an error),
and is killed when its time is up. A fresh interpreter rather than a fork: nothing of the app's
threads, locks or connections is copied into the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from services.documents.extraction.base import Extracted, ExtractionError, Limits
from services.documents.formats import FileKind

MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024
_MAX_LINE_BYTES = 256 * 1024 * 1024
_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SandboxLimits:
    extraction: Limits
    timeout_seconds: float
    memory_bytes: int = MEMORY_LIMIT_BYTES


async def extract_in_sandbox(kind: FileKind, data: bytes, limits: SandboxLimits,
                             on_progress: Callable[[float], Awaitable[None]] | None = None) -> Extracted:
    """Markdown of ``data``; raises ``ExtractionError`` for an unreadable file, a time-out or a memory blow-up."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.documents.extraction.worker", kind.value,
        str(limits.extraction.max_pages), str(limits.extraction.max_unpacked_bytes), str(limits.memory_bytes),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        cwd=_ROOT, limit=_MAX_LINE_BYTES)
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            return await _converse(process, data, on_progress)
    except TimeoutError:
        raise ExtractionError(f"Reading the file took longer than {limits.timeout_seconds:g} seconds "
                              "(DOCUMENT_EXTRACT_TIMEOUT_SECONDS) and was stopped.") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()


async def _converse(process: asyncio.subprocess.Process, data: bytes,
                    on_progress: Callable[[float], Awaitable[None]] | None) -> Extracted:
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died early; its exit status says why
    while True:
        line = await process.stdout.readline()
        if not line:
            raise ExtractionError(_death_message(await process.wait()))
        message = json.loads(line)
        if "progress" in message:
            if on_progress is not None:
                await on_progress(float(message["progress"]))
        elif "error" in message:
            raise ExtractionError(str(message["error"]))
        elif "done" in message:
            done = message["done"]
            return Extracted(markdown=str(done["markdown"]), pages=done.get("pages"), title=done.get("title"))


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return "Reading the file was stopped: it needed more memory than allowed (or crashed the parser)."
    return "Reading the file failed: the parser stopped without an answer."
