"""DOCX through python-docx: headings, lists, bold and italic, and tables, in document order."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from services.documents.extraction.base import Extracted, ExtractionError, Extractor, Limits, Progress, markdown_table
from services.documents.extraction.zipguard import check_archive
from services.documents.formats import FileKind

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

_CHARS_PER_PAGE = 3000  # DOCX keeps no page count; an estimate lets the page cap apply


class DocxExtractor(Extractor):
    kind = FileKind.DOCX

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        check_archive(data, limits, "DOCX file")
        # Imported where used: the extraction process loads only the parser its file needs.
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table

        try:
            document: DocxDocument = docx.Document(io.BytesIO(data))
            blocks = list(document.iter_inner_content())
            parts: list[str] = []
            for index, block in enumerate(blocks, start=1):
                text = _table(block) if isinstance(block, Table) else _paragraph(block)
                if text:
                    parts.append(text)
                if index % 50 == 0:
                    progress(index / len(blocks))
            title = (document.core_properties.title or "").strip() or None
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
            raise ExtractionError("The DOCX file is damaged or not a Word document; it could not be read.") from None
        markdown = "\n\n".join(parts)
        pages = max(1, -(-len(markdown) // _CHARS_PER_PAGE))
        if pages > limits.max_pages:
            raise ExtractionError(f"The document is about {pages} pages long; the limit is {limits.max_pages} "
                                  "(DOCUMENT_MAX_PAGES). Split it and upload the parts.")
        return Extracted(markdown=markdown, pages=pages, title=title)


def _paragraph(paragraph: Paragraph) -> str:
    text = "".join(_run(run.text, bool(run.bold), bool(run.italic)) for run in paragraph.runs).strip()
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading "):
        level = style.removeprefix("Heading ").strip()
        return f"{'#' * min(int(level) if level.isdigit() else 2, 6)} {text}"
    if style.startswith("List Number"):
        return f"1. {text}"
    if style.startswith("List"):
        return f"- {text}"
    return text


def _run(text: str, bold: bool, italic: bool) -> str:
    if not text.strip():
        return text
    if bold:
        text = f"**{text}**"
    if italic:
        text = f"*{text}*"
    return text


def _table(table: Table) -> str:
    return markdown_table([[cell.text for cell in row.cells] for row in table.rows])
