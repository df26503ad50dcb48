"""PPTX through python-pptx: one section per slide with its title, text and tables."""

from __future__ import annotations

import io
import zipfile

from services.documents.extraction.base import (
    Extracted,
    ExtractionError,
    Extractor,
    Limits,
    Progress,
    check_pages,
    markdown_table,
)
from services.documents.extraction.zipguard import check_archive
from services.documents.formats import FileKind


class PptxExtractor(Extractor):
    kind = FileKind.PPTX

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        check_archive(data, limits, "PPTX file")
        # Imported where used: the extraction process loads only the parser its file needs.
        from pptx import Presentation
        from pptx.exc import PackageNotFoundError

        try:
            presentation = Presentation(io.BytesIO(data))
            slides = list(presentation.slides)
            check_pages(len(slides), limits, "slides")
            sections = []
            for number, slide in enumerate(slides, start=1):
                title_shape = slide.shapes.title
                title = title_shape.text_frame.text.strip() if title_shape is not None else ""
                lines = [f"## Slide {number}" + (f": {title}" if title else "")]
                for shape in slide.shapes:
                    if shape is title_shape:
                        continue
                    if shape.has_text_frame:
                        lines += [f"- {p.text.strip()}" for p in shape.text_frame.paragraphs if p.text.strip()]
                    if getattr(shape, "has_table", False) and shape.has_table:
                        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                        lines.append("\n" + markdown_table(rows) + "\n")
                sections.append("\n".join(lines))
                progress(number / len(slides))
            doc_title = (presentation.core_properties.title or "").strip() or None
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
            raise ExtractionError("The PPTX file is damaged or not a presentation; it could not be read.") from None
        return Extracted(markdown="\n\n".join(sections), pages=len(slides), title=doc_title)
