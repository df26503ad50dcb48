"""What every extractor is: bytes in, Markdown and page count out, under limits, reporting progress."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from services.documents.formats import FileKind

Progress = Callable[[float], None]
"""Called with the share done so far, 0.0 to 1.0."""


@dataclass(frozen=True)
class Limits:
    max_pages: int
    max_unpacked_bytes: int


@dataclass(frozen=True)
class Extracted:
    markdown: str
    pages: int | None = None
    title: str | None = None


class ExtractionError(Exception):
    """The file cannot be read; ``str()`` is a sentence for the person who uploaded it."""


class Extractor(ABC):
    kind: ClassVar[FileKind]

    @abstractmethod
    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        """Markdown of ``data``; raises ``ExtractionError`` for a file it cannot or must not read."""


def check_pages(count: int, limits: Limits, unit: str = "pages") -> None:
    if count > limits.max_pages:
        raise ExtractionError(f"The file has {count} {unit}; the limit is {limits.max_pages} "
                              "(DOCUMENT_MAX_PAGES). Split it and upload the parts.")


def markdown_table(rows: list[list[str]]) -> str:
    """``rows`` (the first one the header) as a GitHub-style Markdown table."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    cells = [[_cell(value) for value in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")
