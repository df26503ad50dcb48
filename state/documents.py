"""The document library (/documents): search and page, preview, versions and diff,
export, and running a workflow over the selected documents. Each event resolves the user and calls one
service function, which checks access again."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import ClassVar

import reflex as rx

from models.document import BatchRunPublic, DocumentPublic
from services import errors
from services.db import open_read_session, open_session
from services.documents import batch, library_query
from services.documents import service as documents
from services.documents.export import ExportFormat
from services.workflows import listing
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList

WATCH_SECONDS = 180


@dataclass
class DocumentRowView:
    id: str
    title: str
    kind: str
    size: str
    pages: str
    tags: list[str]
    updated: str
    status: str
    progress: int
    error: str
    snippet: str


@dataclass
class VersionView:
    number: int
    label: str


@dataclass
class DiffRowView:
    kind: str
    left: str
    right: str


@dataclass
class DocumentChoice:
    """A library document offered as a run input (the builder's run dialog)."""

    id: str
    title: str


@dataclass
class BatchItemView:
    document_id: str
    status: str
    error: str


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB" if size else "—"


def _row(document: DocumentPublic) -> DocumentRowView:
    kind = (document.original_name or "").rsplit(".", 1)[-1].upper() if document.original_name else document.source
    return DocumentRowView(id=str(document.id), title=document.title, kind=kind, size=_size(document.size_bytes),
                           pages=str(document.pages) if document.pages else "—", tags=list(document.tags),
                           updated=document.updated_at.strftime("%Y-%m-%d %H:%M"), status=document.status.value,
                           progress=document.progress, error=document.error or "", snippet=document.snippet or "")


class DocumentsState(PagedList, AuthState):
    noun: ClassVar[tuple[str, str]] = ("document", "documents")

    rows: list[DocumentRowView] = []
    search: str = ""
    tag_filter: str = ""
    error: str = ""
    notice: str = ""
    loading: bool = False
    selected: list[str] = []
    preview_id: str = ""
    preview_title: str = ""
    preview_html: str = ""
    versions: list[VersionView] = []
    diff_from: str = ""
    diff_to: str = ""
    diff_rows: list[DiffRowView] = []
    workflow_choices: list[str] = []
    batch_workflow: str = ""
    batch_items: list[BatchItemView] = []
    batch_done: int = 0
    batch_total: int = 0
    _batch_id: str = ""

    @rx.var
    def batch_percent(self) -> int:
        return int(100 * self.batch_done / self.batch_total) if self.batch_total else 0

    @rx.event
    async def load(self) -> None:
        self.loading = True
        await self._reload()
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                found = await listing.list_with_runs(user, session=session, offset=0, limit=100)
            self.workflow_choices = [f"{row.workflow.id} · {row.workflow.name}" for row in found.rows]
        except errors.DomainError:
            self.workflow_choices = []
        self.loading = False

    async def _reload(self) -> None:
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                found = await library_query.list_documents(user, session=session, q=self.search, tag=self.tag_filter,
                                                           offset=self.offset, limit=self.page_size)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.total, self.rows = found.count, [_row(document) for document in found.data]

    async def _show_first_page(self) -> None:
        """Back to the first page (where new uploads land), refreshed: the uploads panel calls this."""
        self.page = 0
        await self._reload()

    @rx.event
    async def set_search(self, text: str) -> None:
        self.search, self.page = text, 0
        await self._reload()

    @rx.event
    async def filter_by_tag(self, tag: str) -> None:
        self.tag_filter, self.page = tag, 0
        await self._reload()

    @rx.event
    def toggle_selected(self, document_id: str, checked: bool) -> None:
        others = [selected for selected in self.selected if selected != document_id]
        self.selected = [*others, document_id] if checked else others

    @rx.event
    async def open_preview(self, document_id: str) -> None:
        self.error, self.diff_rows, self.diff_from, self.diff_to = "", [], "", ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                detail = await documents.detail(user, uuid.UUID(document_id), session=session)
                html = await documents.rendered(user, detail.id, session=session)
                versions = await documents.versions(user, detail.id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.preview_id, self.preview_title, self.preview_html = document_id, detail.title, html
        self.versions = [VersionView(v.number, f"v{v.number} · {v.created_at:%Y-%m-%d %H:%M}"
                                     + (" · run" if v.run_id else "")) for v in versions]

    @rx.event
    def close_preview(self) -> None:
        self.preview_id = self.preview_html = self.preview_title = ""
        self.versions, self.diff_rows = [], []

    @rx.event
    async def set_diff_from(self, value: str) -> None:
        self.diff_from = value
        await self._diff()

    @rx.event
    async def set_diff_to(self, value: str) -> None:
        self.diff_to = value
        await self._diff()

    async def _diff(self) -> None:
        if not (self.diff_from.isdigit() and self.diff_to.isdigit() and self.preview_id):
            return
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                diff = await documents.diff(user, uuid.UUID(self.preview_id), int(self.diff_from), int(self.diff_to),
                                            session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.diff_rows = [DiffRowView(row["kind"], row["left"] or "", row["right"] or "") for row in diff.rows]

    @rx.event
    async def export(self, fmt: str) -> rx.event.EventSpec | None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                exported = await documents.export(user, uuid.UUID(self.preview_id), ExportFormat(fmt), session=session)
        except (errors.DomainError, ValueError) as exc:
            self.error = form_message(exc)
            return None
        return rx.download(data=exported.data, filename=exported.filename)

    @rx.event
    async def delete(self, document_id: str) -> None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                await documents.delete(user, uuid.UUID(document_id), session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        if self.preview_id == document_id:
            self.close_preview()
        self.selected = [selected for selected in self.selected if selected != document_id]
        await self._reload()

    @rx.event
    def set_batch_workflow(self, choice: str) -> None:
        self.batch_workflow = choice

    @rx.event
    async def run_batch(self) -> rx.event.EventSpec | None:
        """Run the chosen workflow once per selected document."""
        self.error = ""
        workflow_id = self.batch_workflow.split(" · ", 1)[0]
        if not workflow_id.isdigit() or not self.selected:
            self.error = "Select documents and a workflow to run on them."
            return None
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                started = await batch.start_batch(user, int(workflow_id), [uuid.UUID(s) for s in self.selected],
                                                  session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return None
        self._batch_id = str(started.batch_id)
        self._show_batch(started, [BatchItemView(str(item.document_id), item.status, item.error or "")
                                   for item in started.items if item.status == "refused"])
        return DocumentsState.watch_batch

    def _show_batch(self, found: BatchRunPublic, refused: list[BatchItemView]) -> None:
        """Each document's line: the runs as the batch reports them, then the documents it refused."""
        running = [BatchItemView(str(item.document_id), item.status, item.error or "") for item in found.items
                   if item.status != "refused"]
        self.batch_items = [*running, *refused]
        self.batch_total = len(self.batch_items)
        self.batch_done = sum(item.status in ("succeeded", "failed", "cancelled") for item in running) + len(refused)

    @rx.event(background=True)
    async def watch_batch(self) -> None:
        """Follow the batch until every run has ended."""
        for _ in range(WATCH_SECONDS):
            await asyncio.sleep(1)
            async with self:
                if not self._batch_id:
                    return
                try:
                    async with open_session() as session:
                        user = await self._signed_in_user(session)
                        found = await batch.batch_status(user, uuid.UUID(self._batch_id), session=session)
                except errors.DomainError:
                    return  # every document was refused: nothing runs
                self._show_batch(found, [item for item in self.batch_items if item.status == "refused"])
                if self.batch_done >= self.batch_total:
                    await self._reload()
                    return
