"""Uploading a new file in the builder's run dialog: it becomes a library document, is extracted, and is then
chosen as the value of a ``document`` input (the first one still empty), ready for the run."""

from __future__ import annotations

import asyncio
import uuid

import reflex as rx

from models.document import DocumentStatus
from services import errors
from services.db import open_session
from services.documents import service as documents
from services.documents.library_query import ready_documents
from services.documents.processing import schedule_extraction
from services.documents.service import UploadedFile
from state.auth import AuthState
from state.builder_runs import BuilderRunState
from state.documents import WATCH_SECONDS, DocumentChoice
from state.errors import form_message


class RunDocumentUploadState(AuthState):
    run_upload_name: str = ""
    run_upload_status: str = ""
    """uploading n%, queued, extracting n%, ready, or failed."""
    run_upload_error: str = ""
    _run_upload_id: str = ""

    @rx.event
    def reset_upload(self) -> None:
        """A freshly opened run dialog shows no upload."""
        self.run_upload_name = self.run_upload_status = self.run_upload_error = self._run_upload_id = ""

    @rx.event
    def upload_progress(self, progress: dict[str, float]) -> None:
        self.run_upload_status = f"uploading {int(100 * float(progress.get('progress', 0)))}%"

    @rx.event
    async def upload(self, files: list[rx.UploadFile]) -> rx.event.EventSpec | None:
        """Store the file as a library document and start extracting it."""
        self.run_upload_error = ""
        try:
            uploaded = [UploadedFile(file.name or "untitled", await file.read()) for file in files[:1]]
            async with open_session() as session:
                user = await self._signed_in_user(session)
                created = (await documents.upload(user, uploaded, session=session))[0]
        except errors.DomainError as exc:
            self.run_upload_status, self.run_upload_error = "failed", form_message(exc)
            return None
        self.run_upload_name, self._run_upload_id = created.title, str(created.id)
        if created.status is not DocumentStatus.PENDING:
            self.run_upload_status, self.run_upload_error = "failed", created.error or ""
            return None
        schedule_extraction([created.id])
        self.run_upload_status = "queued"
        return RunDocumentUploadState.follow_extraction

    @rx.event(background=True)
    async def follow_extraction(self) -> None:
        """Follow the extraction; once ready, offer the document and choose it for an empty document input."""
        for _ in range(WATCH_SECONDS):
            await asyncio.sleep(1)
            async with self:
                if await self._settled():
                    return

    async def _settled(self) -> bool:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                found = await documents.statuses(user, [uuid.UUID(self._run_upload_id)], session=session)
                choices = await ready_documents(user, session=session)
        except errors.DomainError as exc:
            self.run_upload_status, self.run_upload_error = "failed", form_message(exc)
            return True
        if not found:
            return True
        document = found[0]
        if document.status is DocumentStatus.PROCESSING:
            self.run_upload_status = f"extracting {document.progress}%"
        if document.status is DocumentStatus.FAILED:
            self.run_upload_status, self.run_upload_error = "failed", document.error or ""
        if document.status is not DocumentStatus.READY:
            return document.status is DocumentStatus.FAILED
        runs = await self.get_state(BuilderRunState)
        runs.run_documents = [DocumentChoice(str(document_id), title) for document_id, title in choices]
        self.run_upload_status = f"ready: chosen for {runs._choose_uploaded(self._run_upload_id)}"
        return True
