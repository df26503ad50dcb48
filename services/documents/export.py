"""A document as a file: Markdown, standalone HTML, DOCX (python-docx) or PDF (fpdf2), all from its Markdown.

DOCX and PDF are built from the same sanitised rendering the pages show, so what a person
downloads is what they read. The PDF embeds DejaVu Sans when the system has it (Debian's
``fonts-dejavu-core``) so any script prints; without it, characters outside Latin-1 become ``?``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from fpdf import FPDF
from markdown_it import MarkdownIt
from markdown_it.token import Token

from services.documents.rendering import html_page, render_markdown


class ExportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    DOCX = "docx"
    PDF = "pdf"


@dataclass(frozen=True)
class ExportedFile:
    filename: str
    media_type: str
    data: bytes


_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def export_document(title: str, markdown: str, fmt: ExportFormat) -> ExportedFile:
    """``markdown`` as a file in ``fmt``, named after ``title``."""
    stem = re.sub(r"[^\w.-]+", "-", title).strip("-.")[:80] or "document"
    if fmt is ExportFormat.MD:
        return ExportedFile(f"{stem}.md", "text/markdown; charset=utf-8", markdown.encode())
    if fmt is ExportFormat.HTML:
        return ExportedFile(f"{stem}.html", "text/html; charset=utf-8",
                            html_page(title, render_markdown(markdown)).encode())
    if fmt is ExportFormat.DOCX:
        return ExportedFile(f"{stem}.docx",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            _docx(title, markdown))
    return ExportedFile(f"{stem}.pdf", "application/pdf", _pdf(title, markdown))


def _docx(title: str, markdown: str) -> bytes:
    document: DocxDocument = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    tokens = _parser.parse(markdown)
    list_styles: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            paragraph = document.add_heading("", level=min(int(token.tag[1]), 9))
            _inline(paragraph, tokens[index + 1])
            index += 3
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_styles.append("List Bullet" if token.type == "bullet_list_open" else "List Number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_styles.pop()
        elif token.type == "paragraph_open":
            style = list_styles[-1] if list_styles and token.hidden else None
            paragraph = document.add_paragraph(style=style)
            _inline(paragraph, tokens[index + 1])
            index += 3
            continue
        elif token.type in ("fence", "code_block"):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(token.content.rstrip("\n"))
            run.font.name = "Courier New"
        elif token.type == "table_open":
            index = _table(document, tokens, index)
            continue
        elif token.type == "hr":
            document.add_paragraph("―" * 20)
        index += 1
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _inline(paragraph: object, token: Token) -> None:
    bold = italic = code = False
    for child in token.children or []:
        if child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type in ("text", "code_inline"):
            run = paragraph.add_run(child.content)  # type: ignore[attr-defined]
            run.bold, run.italic = bold or None, italic or None
            code = child.type == "code_inline"
            if code:
                run.font.name = "Courier New"
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run(" " if child.type == "softbreak" else "\n")  # type: ignore[attr-defined]


def _table(document: DocxDocument, tokens: list[Token], index: int) -> int:
    rows: list[list[str]] = []
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token.content)
        index += 1
    if rows:
        width = max(len(row) for row in rows)
        table = document.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    return index + 1


def _pdf(title: str, markdown: str) -> bytes:
    pdf = FPDF()
    pdf.set_title(title)
    family = _font(pdf)
    pdf.set_font(family, size=11)
    pdf.add_page()
    body = f"<h1>{_escape(title)}</h1>" + render_markdown(markdown)
    if family == "helvetica":
        body = body.encode("latin-1", "replace").decode("latin-1")
    pdf.write_html(_pdf_safe(body), font_family=family)
    return bytes(pdf.output())


def _font(pdf: FPDF) -> str:
    regular, bold = _FONT_DIR / "DejaVuSans.ttf", _FONT_DIR / "DejaVuSans-Bold.ttf"
    if not regular.exists():
        return "helvetica"
    pdf.add_font("dejavu", "", str(regular))
    pdf.add_font("dejavu", "B", str(bold if bold.exists() else regular))
    pdf.add_font("dejavu", "I", str(regular))
    pdf.add_font("dejavu", "BI", str(bold if bold.exists() else regular))
    return "dejavu"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_UNSUPPORTED = re.compile(r"</?(?:input|details|summary|span|div|del|s|mark|kbd|abbr|sub|sup)\b[^>]*>")


def _pdf_safe(body: str) -> str:
    """fpdf2's HTML subset: drop tags it does not lay out (their text stays) and images (no fetching)."""
    body = re.sub(r"<img\b[^>]*>", "", body)
    return _UNSUPPORTED.sub("", body)
