"""The extraction child process: ``python -m services.documents.extraction.worker KIND PAGES UNPACKED MEMORY``.

Reads the file from stdin, caps its own address space, extracts, and writes JSON lines to
stdout: ``{"progress": 0.4}`` while working, then ``{"done": {...}}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from services.documents.extraction.base import ExtractionError, Limits
from services.documents.formats import FileKind


def _send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    kind, max_pages, max_unpacked, memory = FileKind(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    data = sys.stdin.buffer.read()
    from services.documents.extraction.registry import extractor_for

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    last_sent = [0.0]

    def progress(share: float) -> None:
        now = time.monotonic()
        if now - last_sent[0] >= 0.2 or share >= 1.0:
            last_sent[0] = now
            _send({"progress": max(0.0, min(1.0, share))})

    try:
        extracted = extractor_for(kind).extract(data, Limits(max_pages=max_pages, max_unpacked_bytes=max_unpacked),
                                                progress)
        _send({"done": {"markdown": extracted.markdown, "pages": extracted.pages, "title": extracted.title}})
    except ExtractionError as exc:
        _send({"error": str(exc)})
    except MemoryError:
        _send({"error": "Reading the file needed more memory than allowed; it was stopped."})
    except RecursionError:
        _send({"error": "The file is nested too deeply to read."})
    except Exception as exc:  # a parser bug on a strange file: a clear message, not a stuck row
        _send({"error": f"The file could not be read as {kind.value.upper()} ({type(exc).__name__})."})


if __name__ == "__main__":
    main(sys.argv[1:])
