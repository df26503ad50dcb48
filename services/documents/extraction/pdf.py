"""PDF through pypdf: the text of each page, pages separated by a rule."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from services.documents.extraction.base import Extracted, ExtractionError, Extractor, Limits, Progress, check_pages
from services.documents.formats import FileKind

if TYPE_CHECKING:
    from pypdf import PdfReader


class PdfExtractor(Extractor):
    kind = FileKind.PDF

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        # Parsers are imported where used: the extraction process loads only the one its file needs.
        from pypdf import PdfReader
        from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not _opens_without_password(reader):
                raise ExtractionError("The PDF is encrypted with a password; remove the password and upload it again.")
            count = len(reader.pages)
            check_pages(count, limits)
            parts = []
            for number, page in enumerate(reader.pages, start=1):
                text = (page.extract_text() or "").strip()
                if text:
                    parts.append(_paragraphs(text))
                progress(number / max(count, 1))
            title = _title(reader)
        except ExtractionError:
            raise
        except FileNotDecryptedError:
            raise ExtractionError("The PDF is encrypted with a password; remove the password and upload it again.") \
                from None
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError):
            raise ExtractionError("The PDF is damaged or not a PDF; pypdf could not read it.") from None
        return Extracted(markdown="\n\n---\n\n".join(parts), pages=count, title=title)


def _opens_without_password(reader: PdfReader) -> bool:
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        return bool(reader.decrypt(""))  # an owner password alone still lets anyone read
    except (PdfReadError, PyPdfError, NotImplementedError, ValueError):
        return False


def _title(reader: PdfReader) -> str | None:
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError):
        return None
    return str(title).strip() or None if title else None


def _paragraphs(text: str) -> str:
    """Lines as pypdf gives them, with blank lines kept as paragraph breaks and Markdown syntax escaped."""
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(_escape(line) for line in lines).strip()


def _escape(line: str) -> str:
    stripped = line.lstrip()
    if stripped[:1] in {"#", ">", "-", "*", "+", "|", "<"}:
        return "\\" + stripped
    return line
