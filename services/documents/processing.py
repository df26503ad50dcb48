"""Extraction in the background: claim a pending upload, read its original in the sandbox, save the Markdown.

Any process may extract any pending document: a claim is a compare-and-set on the row's status,
so two processes never read the same upload twice. The maintenance loop (every process runs one)
picks up uploads no process is working on, and fails extractions whose process died, so no row
stays ``processing``. Each step commits on its own: progress must be visible while extraction runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, insert, select, update

from models.base import utcnow
from models.document import Document, DocumentStatus, DocumentVersion
from services import errors
from services.ai.text.language import UNDETERMINED, detect_language
from services.db import get_engine
from services.documents.extraction.base import Extracted, ExtractionError, Limits
from services.documents.extraction.sandbox import SandboxLimits, extract_in_sandbox
from services.documents.formats import kind_of_mime
from services.documents.storage.registry import get_storage
from services.settings import get_settings

log = logging.getLogger(__name__)
DOCUMENTS: Table = Document.__table__  # type: ignore[attr-defined]
VERSIONS: Table = DocumentVersion.__table__  # type: ignore[attr-defined]
CONCURRENT_EXTRACTIONS = 2
PENDING_GRACE_SECONDS = 10.0
"""An upload still pending after this long has no process working on it: maintenance starts it."""
STALE_MARGIN_SECONDS = 30.0
_tasks: set[asyncio.Task[DocumentStatus | None]] = set()
_semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def schedule_extraction(document_ids: list[uuid.UUID]) -> None:
    """Start extracting ``document_ids`` in this process's background (returns at once)."""
    loop = asyncio.get_running_loop()
    for document_id in document_ids:
        task = loop.create_task(extract_document(document_id))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


async def wait_for_extractions() -> None:
    """Wait until this process's background extractions have finished (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _semaphores:
        _semaphores[loop] = asyncio.Semaphore(CONCURRENT_EXTRACTIONS)
    return _semaphores[loop]


async def extract_document(document_id: uuid.UUID) -> DocumentStatus | None:
    """Claim and extract one pending document; its final status, or None if another process has it."""
    async with _semaphore():
        claimed_at = utcnow()
        row = await _claim(document_id, claimed_at)
        if row is None:
            return None
        try:
            data = await get_storage().get(row.original_hash)
            kind = kind_of_mime(row.mime_type)
            if kind is None:
                raise ExtractionError(f"Files of type {row.mime_type} cannot be read.")
            extracted = await extract_in_sandbox(kind, data, _limits(), _progress_saver(document_id, claimed_at))
        except ExtractionError as exc:
            await _fail(document_id, claimed_at, str(exc))
            return DocumentStatus.FAILED
        except errors.DomainError as exc:  # the store is down or lost the file
            await _fail(document_id, claimed_at, exc.message)
            return DocumentStatus.FAILED
        except Exception:
            log.exception("extracting document %s failed unexpectedly", document_id)
            await _fail(document_id, claimed_at, "Reading the file failed unexpectedly; try uploading it again.")
            return DocumentStatus.FAILED
        await _save(document_id, claimed_at, row.owner_id, extracted)
        return DocumentStatus.READY


def _limits() -> SandboxLimits:
    settings = get_settings()
    return SandboxLimits(
        extraction=Limits(max_pages=settings.document_max_pages,
                          max_unpacked_bytes=int(settings.document_max_unpacked_mb * 1024 * 1024)),
        timeout_seconds=settings.document_extract_timeout_seconds)


async def _claim(document_id: uuid.UUID, now: datetime) -> _Claimed | None:
    async with get_engine().begin() as conn:
        row = (await conn.execute(
            update(DOCUMENTS).where(DOCUMENTS.c.id == document_id, DOCUMENTS.c.status == DocumentStatus.PENDING.value)
            .values(status=DocumentStatus.PROCESSING.value, progress=0, error=None, processing_started_at=now)
            .returning(DOCUMENTS.c.original_hash, DOCUMENTS.c.mime_type, DOCUMENTS.c.owner_id))).first()
    if row is None or row.original_hash is None:
        return None
    return _Claimed(original_hash=row.original_hash, mime_type=row.mime_type, owner_id=row.owner_id)


@dataclass(frozen=True)
class _Claimed:
    original_hash: str
    mime_type: str
    owner_id: uuid.UUID | None


def _ours(document_id: uuid.UUID, claimed_at: datetime) -> list[ColumnElement[bool]]:
    return [DOCUMENTS.c.id == document_id, DOCUMENTS.c.status == DocumentStatus.PROCESSING.value,
            DOCUMENTS.c.processing_started_at == claimed_at]


def _progress_saver(document_id: uuid.UUID, claimed_at: datetime) -> Callable[[float], Awaitable[None]]:
    last = [0]

    async def save(share: float) -> None:
        percent = int(share * 100)
        if percent - last[0] < 10 and percent < 100:
            return
        last[0] = percent
        async with get_engine().begin() as conn:
            await conn.execute(update(DOCUMENTS).where(*_ours(document_id, claimed_at))
                               .values(progress=min(percent, 99)))

    return save


async def _save(document_id: uuid.UUID, claimed_at: datetime, owner_id: uuid.UUID | None, extracted: Extracted) -> None:
    markdown = extracted.markdown
    language = detect_language(markdown[:20_000]).code
    now = utcnow()
    async with get_engine().begin() as conn:
        meta = (await conn.execute(select(DOCUMENTS.c.metadata).where(DOCUMENTS.c.id == document_id))).scalar_one()
        result = await conn.execute(
            update(DOCUMENTS).where(*_ours(document_id, claimed_at))
            .values(status=DocumentStatus.READY.value, progress=100, content=markdown, pages=extracted.pages,
                    words=len(markdown.split()), language=None if language == UNDETERMINED else language,
                    metadata={**(meta or {}), "extracted_title": extracted.title}, current_version=1, updated_at=now))
        if result.rowcount == 1:
            await conn.execute(insert(VERSIONS).values(document_id=document_id, number=1, content=markdown,
                                                       author_id=owner_id, created_at=now))


async def _fail(document_id: uuid.UUID, claimed_at: datetime, message: str) -> None:
    async with get_engine().begin() as conn:
        await conn.execute(update(DOCUMENTS).where(*_ours(document_id, claimed_at))
                           .values(status=DocumentStatus.FAILED.value, error=message[:2000], progress=0,
                                   updated_at=utcnow()))


async def recover_documents() -> int:
    """Fail extractions whose process died and start uploads nobody picked up; how many rows it touched."""
    now = utcnow()
    stale_before = now - timedelta(seconds=get_settings().document_extract_timeout_seconds + STALE_MARGIN_SECONDS)
    async with get_engine().begin() as conn:
        failed = await conn.execute(
            update(DOCUMENTS).where(DOCUMENTS.c.status == DocumentStatus.PROCESSING.value,
                                    DOCUMENTS.c.processing_started_at < stale_before)
            .values(status=DocumentStatus.FAILED.value, progress=0, updated_at=now,
                    error="Extraction was interrupted (the process reading the file stopped); "
                          "retry it or upload the file again."))
        waiting = (await conn.execute(
            select(DOCUMENTS.c.id).where(DOCUMENTS.c.status == DocumentStatus.PENDING.value,
                                         DOCUMENTS.c.updated_at < now - timedelta(seconds=PENDING_GRACE_SECONDS))
            .limit(20))).scalars().all()
    if waiting:
        schedule_extraction(list(waiting))
    return int(failed.rowcount or 0) + len(waiting)
