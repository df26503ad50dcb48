"""Files the document tests make themselves: real PDF, DOCX, PPTX and XLSX built by their libraries."""

from __future__ import annotations

import io
import zipfile

import docx
from fpdf import FPDF
from openpyxl import Workbook
from pptx import Presentation
from pypdf import PdfReader, PdfWriter


def make_pdf(pages: list[str], *, title: str = "") -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_encrypted_pdf(text: str, password: str = "s3cret") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([text]))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(*, title: str, heading: str, paragraph_bold: str, table: list[list[str]]) -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(heading, level=1)
    paragraph = document.add_paragraph("Plain start, ")
    paragraph.add_run(paragraph_bold).bold = True
    document.add_paragraph("first point", style="List Bullet")
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx(slides: list[tuple[str, str]]) -> bytes:
    presentation = Presentation()
    for title, body in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def make_zip_bomb(inner_name: str = "word/document.xml", megabytes: int = 20) -> bytes:
    """A small zip whose one part inflates to ``megabytes`` of zeros, named like an Office file's part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(inner_name, b"\0" * (megabytes * 1024 * 1024))
    return out.getvalue()
