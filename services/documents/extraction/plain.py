"""Markdown and plain text: decoded, kept as they are."""

from __future__ import annotations

from services.documents.extraction.base import Extracted, ExtractionError, Extractor, Limits, Progress
from services.documents.formats import FileKind


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else UTF-16 with a BOM, else Latin-1; refuses binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise ExtractionError("The file holds binary data, not text; upload it in its own format (PDF, DOCX...).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class MarkdownExtractor(Extractor):
    kind = FileKind.MARKDOWN

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        text = decode_text(data).replace("\r\n", "\n")
        progress(1.0)
        first = next((line for line in text.splitlines() if line.startswith("# ")), "")
        return Extracted(markdown=text.strip(), title=first[2:].strip() or None)


class TextExtractor(Extractor):
    kind = FileKind.TEXT

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        text = decode_text(data).replace("\r\n", "\n")
        progress(1.0)
        # Plain text is shown as written: fenced, so Markdown characters in it stay characters.
        fence = "````" if "```" in text else "```"
        return Extracted(markdown=f"{fence}text\n{text.strip()}\n{fence}" if text.strip() else "")
