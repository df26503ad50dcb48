"""Uploads extracted to Markdown in a sandboxed process: every kind, and every way a file can be refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from models.base import utcnow
from models.document import Document, DocumentStatus
from models.user import User
from services.db import get_engine, open_session
from services.documents import service
from services.documents.processing import extract_document, recover_documents, wait_for_extractions
from services.documents.service import UploadedFile
from services.settings import get_settings
from tests.settings_env import settings_env
from tests.unit.services.documents.files import (
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    make_pptx,
    make_xlsx,
    make_zip_bomb,
)


async def _upload_and_extract(owner: User, name: str, data: bytes) -> Document:
    async with open_session() as session:
        [document] = await service.upload(owner, [UploadedFile(name, data)], session=session)
    if document.status is DocumentStatus.PENDING:
        await extract_document(document.id)
    async with open_session() as session:
        fresh = await session.get(Document, document.id)
        assert fresh is not None
        return fresh


async def test_a_generated_pdf_becomes_its_pages_text(owner: User) -> None:
    data = make_pdf(["Quarterly revenue grew by twelve percent.", "Churn fell in the second half."],
                    title="Board report")
    document = await _upload_and_extract(owner, "report.pdf", data)

    assert document.status is DocumentStatus.READY, document.error
    assert "Quarterly revenue grew by twelve percent." in document.content
    assert "Churn fell in the second half." in document.content
    assert document.pages == 2 and document.progress == 100 and document.language == "en"
    assert document.meta["extracted_title"] == "Board report"
    assert document.mime_type == "application/pdf" and document.original_hash is not None
    async with open_session() as session:
        versions = await service.versions(owner, document.id, session=session)
    assert [v.number for v in versions] == [1]


async def test_a_generated_docx_keeps_headings_bold_lists_and_tables(owner: User) -> None:
    data = make_docx(title="Contract", heading="Payment terms", paragraph_bold="thirty days",
                     table=[["Item", "Price"], ["Audit", "1200"]])
    document = await _upload_and_extract(owner, "contract.docx", data)

    assert document.status is DocumentStatus.READY, document.error
    assert "# Payment terms" in document.content
    assert "**thirty days**" in document.content
    assert "- first point" in document.content
    assert "| Item | Price |" in document.content and "| Audit | 1200 |" in document.content


async def test_pptx_and_xlsx_become_sections_and_tables(owner: User) -> None:
    slides = await _upload_and_extract(owner, "deck.pptx", make_pptx([("Roadmap", "Ship search"), ("Risks", "Time")]))
    sheet = await _upload_and_extract(owner, "numbers.xlsx", make_xlsx({"Sales": [["Month", "Total"], ["Jan", 42]]}))

    assert slides.status is DocumentStatus.READY and slides.pages == 2, slides.error
    assert "## Slide 1: Roadmap" in slides.content and "- Ship search" in slides.content
    assert sheet.status is DocumentStatus.READY, sheet.error
    assert "## Sales" in sheet.content and "| Jan | 42 |" in sheet.content


async def test_html_loses_its_scripts_and_markdown_is_kept(owner: User) -> None:
    html = (b"<html><head><title>Release notes</title><script>alert('x')</script></head>"
            b"<body><h1>Version 2</h1><p>Faster <b>search</b>.</p><ul><li>one</li></ul></body></html>")
    page = await _upload_and_extract(owner, "notes.html", html)
    note = await _upload_and_extract(owner, "todo.md", b"# Todo\n\n- [ ] write tests\n")

    assert page.status is DocumentStatus.READY, page.error
    assert "# Version 2" in page.content and "**search**" in page.content and "alert" not in page.content
    assert page.meta["extracted_title"] == "Release notes"
    assert note.content == "# Todo\n\n- [ ] write tests"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("broken.pdf", b"%PDF-1.7\nthis is not a real pdf body", "damaged"),
    ("locked.pdf", make_encrypted_pdf("secret plans"), "encrypted"),
    ("bomb.docx", make_zip_bomb(), "zip bomb"),
    ("bomb.xlsx", make_zip_bomb("xl/workbook.xml"), "zip bomb"),
    ("fake.docx", b"this is plain text pretending", "not a DOCX"),
    ("notzip.xlsx", b"PK\x03\x04 but nothing else", "damaged"),
    ("empty.md", b"", "empty"),
    ("program.exe", b"MZ\x90\x00", "not a file type"),
])
async def test_unreadable_files_fail_with_a_clear_message(owner: User, name: str, data: bytes, message: str) -> None:
    document = await _upload_and_extract(owner, name, data)

    assert document.status is DocumentStatus.FAILED
    assert document.error is not None and message in document.error
    assert document.content == ""


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for configure in settings_env(monkeypatch, ("DOCUMENT_MAX_MB", "DOCUMENT_MAX_PAGES")):
        configure(DOCUMENT_MAX_MB="0.01", DOCUMENT_MAX_PAGES="3")
        yield


async def test_oversized_and_overlong_files_are_refused(owner: User, tight_limits: None) -> None:
    big = await _upload_and_extract(owner, "big.md", b"x" * 20_000)
    long = await _upload_and_extract(owner, "long.pdf", make_pdf(["page"] * 5))

    assert big.status is DocumentStatus.FAILED and "limit is 0.01 MB" in (big.error or "")
    assert big.original_hash is None  # nothing stored
    assert long.status is DocumentStatus.FAILED and "5 pages; the limit is 3" in (long.error or "")


async def test_an_extraction_over_its_time_limit_is_stopped(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    configure = next(settings_env(monkeypatch, ("DOCUMENT_EXTRACT_TIMEOUT_SECONDS",)))
    configure(DOCUMENT_EXTRACT_TIMEOUT_SECONDS="0.001")
    assert get_settings().document_extract_timeout_seconds == 0.001
    document = await _upload_and_extract(owner, "slow.pdf", make_pdf(["text"] * 3))
    assert document.status is DocumentStatus.FAILED and "longer than" in (document.error or "")


async def test_the_same_file_uploaded_twice_is_stored_once(owner: User) -> None:
    data = make_pdf(["identical"])
    first = await _upload_and_extract(owner, "a.pdf", data)
    second = await _upload_and_extract(owner, "b.pdf", data)
    assert first.original_hash == second.original_hash and first.id != second.id
    stored = list((get_settings().data_dir / "documents").rglob(first.original_hash or "-"))
    assert len(stored) == 1


async def test_maintenance_fails_a_stale_extraction_and_starts_a_forgotten_upload(owner: User) -> None:
    async with open_session() as session:
        stuck, forgotten = await service.upload(
            owner, [UploadedFile("stuck.md", b"# stuck"), UploadedFile("forgotten.md", b"# forgotten")],
            session=session)
    long_ago = utcnow() - timedelta(hours=1)
    async with get_engine().begin() as conn:
        await conn.execute(update(Document.__table__).where(Document.__table__.c.id == stuck.id)  # type: ignore[attr-defined]
                           .values(status="processing", processing_started_at=long_ago, updated_at=long_ago))
        await conn.execute(update(Document.__table__).where(Document.__table__.c.id == forgotten.id)  # type: ignore[attr-defined]
                           .values(updated_at=long_ago))

    assert await recover_documents() == 2
    await wait_for_extractions()

    async with open_session() as session:
        stuck_now, forgotten_now = await session.get(Document, stuck.id), await session.get(Document, forgotten.id)
    assert stuck_now is not None and stuck_now.status is DocumentStatus.FAILED
    assert "interrupted" in (stuck_now.error or "")
    assert forgotten_now is not None and forgotten_now.status is DocumentStatus.READY
    assert forgotten_now.content == "# forgotten"
