"""The drop zone's file rows on /documents: each dropped file's own upload progress, then its own extraction.

The files stream in one request (``rx.upload_files_chunk``); the browser sends their names and sizes
first, so every file gets its row at once and its progress is the share of its own bytes received.
As soon as a file's last byte is in it becomes a library document and its extraction starts, while
the next file is still uploading; the row then follows that document until it is ready or failed.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

import reflex as rx

from models.document import Document, DocumentStatus
from services import errors
from services.db import open_session
from services.documents import service as documents
from services.documents.processing import schedule_extraction
from services.documents.service import UploadedFile
from services.settings import get_settings
from state.auth import AuthState
from state.documents import WATCH_SECONDS, DocumentsState
from state.errors import form_message
from state.upload_assembly import FileAssembler, ReceivedFile

PROGRESS_STEP = 5
"""Percent a file's upload moves before its row is sent again (each send is a state update)."""
STATUS_LABELS = {DocumentStatus.PENDING: "queued", DocumentStatus.PROCESSING: "extracting",
                 DocumentStatus.READY: "ready", DocumentStatus.FAILED: "failed"}


@dataclass
class UploadRowView:
    name: str
    size: str
    status: str
    """waiting, uploading, queued, extracting, ready or failed."""
    percent: int
    """Of the upload while uploading, of the extraction while extracting."""
    error: str = ""
    document_id: str = ""


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


class DocumentUploadsState(AuthState):
    uploads: list[UploadRowView] = []
    upload_error: str = ""

    @rx.var
    def uploads_active(self) -> bool:
        return any(row.status not in ("ready", "failed") for row in self.uploads)

    @rx.event(background=True)
    async def receive_files(self, chunks: rx.UploadChunkIterator, names: list[str], sizes: list[int]) -> None:
        """Store each streamed file as it completes, start its extraction, then follow every row to its end."""
        limit = get_settings().document_max_files_per_upload
        async with self:
            self.upload_error = ""
            self.uploads = [UploadRowView(str(name), _size(int(size)), "waiting", 0) for name, size in zip(
                names, sizes, strict=False)]
            if len(names) > limit:
                self.upload_error = f"{len(names)} files at once is too many; upload at most {limit}."
                self.uploads = []
        assembler = FileAssembler([int(size) for size in sizes], get_settings().document_max_bytes)
        sent = -PROGRESS_STEP
        async for chunk in chunks:
            if len(names) > limit:
                continue  # drain the request: the handler must read every chunk
            finished = assembler.add(chunk.filename, chunk.offset, chunk.data)
            if finished is not None:
                await self._store(finished)
                sent = -PROGRESS_STEP
            percent = assembler.percent()
            if percent - sent >= PROGRESS_STEP and assembler.current is not None:
                sent = percent
                async with self:
                    self._set_row(assembler.current.index, status="uploading", percent=percent)
        last = assembler.finish()
        if last is not None:
            await self._store(last)
        await self._follow_extraction()

    async def _store(self, received: ReceivedFile) -> None:
        """The received file becomes a library document (failed with the reason if it cannot be read)."""
        async with self:
            name = self.uploads[received.index].name if received.index < len(self.uploads) else received.name
            try:
                async with open_session() as session:
                    user = await self._signed_in_user(session)
                    created = await documents.upload(user, [UploadedFile(name, bytes(received.data),
                                                                         received.received)], session=session)
            except errors.DomainError as exc:
                self._set_row(received.index, status="failed", percent=0, error=form_message(exc))
                return
            document = created[0]
            if document.status is DocumentStatus.PENDING:
                schedule_extraction([document.id])
            self._set_row(received.index, document_id=str(document.id), **_progress(document))
            await (await self.get_state(DocumentsState))._show_first_page()

    async def _follow_extraction(self) -> None:
        for _ in range(WATCH_SECONDS):
            async with self:
                ids = [uuid.UUID(row.document_id) for row in self.uploads if row.document_id
                       and row.status not in ("ready", "failed")]
                if not ids:
                    break
                try:
                    async with open_session() as session:
                        user = await self._signed_in_user(session)
                        found = await documents.statuses(user, ids, session=session)
                except errors.DomainError as exc:
                    self.upload_error = form_message(exc)
                    return
                by_id = {str(document.id): document for document in found}
                before = self.uploads
                self.uploads = [replace(row, **_progress(by_id[row.document_id])) if row.document_id in by_id
                                else row for row in self.uploads]
                if self.uploads != before:  # the table shows the same status and progress: refresh its page
                    await (await self.get_state(DocumentsState))._reload()
            await asyncio.sleep(1)

    def _set_row(self, index: int, **changes: str | int) -> None:
        self.uploads = [replace(row, **changes) if at == index else row  # type: ignore[arg-type]
                        for at, row in enumerate(self.uploads)]

    @rx.event
    def clear_finished(self) -> None:
        self.uploads = [row for row in self.uploads if row.status not in ("ready", "failed")]


def _progress(document: Document) -> dict[str, str | int]:
    return {"status": STATUS_LABELS[document.status], "error": document.error or "",
            "percent": document.progress if document.status is DocumentStatus.PROCESSING else 0}
