"""Running an extractor in a child process with a time limit and a memory ceiling.

A hostile file (a PDF whose content streams expand forever, a zip bomb the directory check
missed, a parser stuck in a loop) must not hang or exhaust the app: each extraction runs in its
own process forked from a clean ``forkserver`` (started once, before any thread of ours, with the
parsers imported), under ``RLIMIT_AS``, and is killed when its time is up. Progress and the result
come back over a pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from services.documents.extraction.base import Extracted, ExtractionError, Limits
from services.documents.formats import FileKind

MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024
_PRELOAD = ["services.documents.extraction.registry"]
_context: Any = None


@dataclass(frozen=True)
class SandboxLimits:
    extraction: Limits
    timeout_seconds: float
    memory_bytes: int = MEMORY_LIMIT_BYTES


def _mp_context() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


async def extract_in_sandbox(kind: FileKind, data: bytes, limits: SandboxLimits,
                             on_progress: Callable[[float], Awaitable[None]] | None = None) -> Extracted:
    """Markdown of ``data``; raises ``ExtractionError`` for an unreadable file, a time-out or a memory blow-up."""
    parent, child = _mp_context().Pipe(duplex=True)
    process = _mp_context().Process(target=_child_main, args=(child, kind.value, limits.extraction,
                                                              limits.memory_bytes), daemon=True)
    await asyncio.to_thread(process.start)
    child.close()
    deadline = time.monotonic() + limits.timeout_seconds
    try:
        await asyncio.to_thread(parent.send_bytes, data)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ExtractionError(f"Reading the file took longer than {limits.timeout_seconds:g} seconds "
                                      "(DOCUMENT_EXTRACT_TIMEOUT_SECONDS) and was stopped.")
            if not await asyncio.to_thread(parent.poll, min(left, 0.25)):
                if not process.is_alive() and not parent.poll():
                    raise ExtractionError(_death_message(process.exitcode))
                continue
            try:
                kind_, payload = parent.recv()
            except EOFError:
                await asyncio.to_thread(process.join, 1.0)
                raise ExtractionError(_death_message(process.exitcode)) from None
            if kind_ == "progress" and on_progress is not None:
                await on_progress(float(payload))
            elif kind_ == "done":
                return Extracted(**payload)
            elif kind_ == "error":
                raise ExtractionError(str(payload))
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join, 5.0)


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return "Reading the file was stopped: it needed more memory than allowed (or crashed the parser)."
    return "Reading the file failed: the parser stopped without an answer."


def _child_main(conn: Connection, kind: str, limits: Limits, memory_bytes: int) -> None:
    """In the child: cap memory, read the bytes, extract, send progress and the result."""
    from services.documents.extraction.registry import extractor_for

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    last_sent = [0.0]

    def progress(share: float) -> None:
        now = time.monotonic()
        if now - last_sent[0] >= 0.2 or share >= 1.0:
            last_sent[0] = now
            conn.send(("progress", max(0.0, min(1.0, share))))

    try:
        data = conn.recv_bytes()
        extracted = extractor_for(FileKind(kind)).extract(data, limits, progress)
        conn.send(("done", {"markdown": extracted.markdown, "pages": extracted.pages, "title": extracted.title}))
    except ExtractionError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        conn.send(("error", "Reading the file needed more memory than allowed; it was stopped."))
    except RecursionError:
        conn.send(("error", "The file is nested too deeply to read."))
    except Exception as exc:  # a parser bug on a strange file: a clear message, not a stuck row
        conn.send(("error", f"The file could not be read as {kind.upper()} ({type(exc).__name__})."))
    finally:
        conn.close()
