"""XLSX through openpyxl (read-only, cached values): one table per sheet."""

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

MAX_ROWS_PER_SHEET = 5000


class XlsxExtractor(Extractor):
    kind = FileKind.XLSX

    def extract(self, data: bytes, limits: Limits, progress: Progress) -> Extracted:
        check_archive(data, limits, "XLSX file")
        # Imported where used: the extraction process loads only the parser its file needs.
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise ExtractionError("The XLSX file is damaged or not a workbook; it could not be read.") from None
        try:
            sheets = list(workbook.worksheets)
            check_pages(len(sheets), limits, "sheets")
            sections = []
            for number, sheet in enumerate(sheets, start=1):
                rows: list[list[str]] = []
                truncated = False
                for row in sheet.iter_rows(values_only=True):
                    if len(rows) >= MAX_ROWS_PER_SHEET:
                        truncated = True
                        break
                    values = ["" if value is None else str(value) for value in row]
                    if any(values):
                        rows.append(values)
                section = f"## {sheet.title}\n\n" + (markdown_table(rows) if rows else "_(empty sheet)_")
                if truncated:
                    section += f"\n\n_(only the first {MAX_ROWS_PER_SHEET} rows are shown)_"
                sections.append(section)
                progress(number / len(sheets))
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile):
            raise ExtractionError("The XLSX file is damaged; a sheet could not be read.") from None
        finally:
            workbook.close()
        return Extracted(markdown="\n\n".join(sections), pages=len(sheets))
