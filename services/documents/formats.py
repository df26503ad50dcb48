"""The file kinds the library reads, told apart by name and checked against their first bytes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from services import errors


class FileKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"


@dataclass(frozen=True)
class KindInfo:
    mime_type: str
    extensions: tuple[str, ...]
    magic: bytes | None  # what the file must start with, when the format has a signature


KINDS: dict[FileKind, KindInfo] = {
    FileKind.PDF: KindInfo("application/pdf", (".pdf",), b"%PDF-"),
    FileKind.DOCX: KindInfo("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            (".docx",), b"PK\x03\x04"),
    FileKind.PPTX: KindInfo("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                            (".pptx",), b"PK\x03\x04"),
    FileKind.XLSX: KindInfo("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            (".xlsx",), b"PK\x03\x04"),
    FileKind.HTML: KindInfo("text/html", (".html", ".htm"), None),
    FileKind.MARKDOWN: KindInfo("text/markdown", (".md", ".markdown"), None),
    FileKind.TEXT: KindInfo("text/plain", (".txt", ".text", ".csv", ".log"), None),
}
_BY_EXTENSION = {extension: kind for kind, info in KINDS.items() for extension in info.extensions}
_BY_MIME = {info.mime_type: kind for kind, info in KINDS.items()}
SUPPORTED_EXTENSIONS = tuple(sorted(_BY_EXTENSION))


def kind_of(filename: str) -> FileKind:
    """The kind a file's name announces; ``ValidationFailed`` for a kind the library does not read."""
    extension = PurePath(filename).suffix.lower()
    kind = _BY_EXTENSION.get(extension)
    if kind is None:
        raise errors.ValidationFailed(
            f"{filename!r} is not a file type the library reads; upload one of: {', '.join(SUPPORTED_EXTENSIONS)}.",
            details=[{"field": "files", "message": f"unsupported type {extension or '(no extension)'}"}])
    return kind


def kind_of_mime(mime_type: str) -> FileKind | None:
    return _BY_MIME.get(mime_type)


def signature_matches(kind: FileKind, data: bytes) -> bool:
    """Whether ``data`` starts the way a ``kind`` file must (always true for text kinds)."""
    magic = KINDS[kind].magic
    return magic is None or data.startswith(magic)
