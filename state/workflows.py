"""The workflow list (/workflows): search, filter, page; create blank or from the gallery; duplicate,
archive, export and import. Each event resolves the user and calls one service function, which
checks the role again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from pydantic import ValidationError

from models.user import Role
from models.workflow import WorkflowCreate, WorkflowExport, WorkflowStatus, WorkflowUpdate, WorkflowVisibility
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_read_session, open_session
from services.workflows import gallery, listing
from services.workflows import service as workflows
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList

_ROLES_THAT_EDIT = frozenset(r.value for r in Role if allows(r, Permission.EDIT_WORKFLOWS))
STATUS_CHOICES = ("all", *(s.value for s in WorkflowStatus))


@dataclass
class WorkflowRowView:
    id: int
    name: str
    tags: list[str]
    status: str
    version: int
    last_run: str
    last_run_at: str
    success_rate: str
    private: bool


@dataclass
class TemplateCard:
    key: str
    name: str
    description: str
    icon: str
    tags: list[str]


class WorkflowsState(PagedList, AuthState):
    """What the workflow list shows and the dialogs that create workflows."""

    page_size: ClassVar[int] = 10
    noun: ClassVar[tuple[str, str]] = ("workflow", "workflows")

    rows: list[WorkflowRowView] = []
    search: str = ""
    status_filter: str = "all"
    tag_filter: str = ""
    error: str = ""
    notice: str = ""
    created_id: str = ""
    templates: list[TemplateCard] = [TemplateCard(t.key, t.name, t.description, t.icon, list(t.tags))
                                     for t in gallery.TEMPLATES]

    @rx.var
    def can_edit(self) -> bool:
        return self.user_role in _ROLES_THAT_EDIT

    @rx.event
    async def load(self) -> None:
        """on_load: the first page (and the notice for a workflow just saved elsewhere)."""
        self.created_id = self.router.url.query_parameters.get("created", "")
        await self._reload()

    async def _reload(self) -> None:
        self.error = ""
        status = None if self.status_filter == "all" else WorkflowStatus(self.status_filter)
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                found = await listing.list_with_runs(user, session=session, offset=self.offset,
                                                     limit=self.page_size, search=self.search, status=status,
                                                     tag=self.tag_filter)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.total = found.count
        self.rows = [WorkflowRowView(
            id=row.workflow.id, name=row.workflow.name, tags=row.workflow.tags, status=row.workflow.status.value,
            version=row.workflow.current_version, last_run=row.runs.last_status or "never run",
            last_run_at=row.runs.last_at.strftime("%Y-%m-%d %H:%M") if row.runs.last_at else "",
            success_rate=f"{row.runs.success_rate:.0%}" if row.runs.success_rate is not None else "—",
            private=row.workflow.visibility is WorkflowVisibility.PRIVATE)
            for row in found.rows]

    @rx.event
    async def set_search(self, text: str) -> None:
        self.search, self.page = text, 0
        await self._reload()

    @rx.event
    async def set_status_filter(self, status: str) -> None:
        self.status_filter, self.page = (status if status in STATUS_CHOICES else "all"), 0
        await self._reload()

    @rx.event
    async def filter_by_tag(self, tag: str) -> None:
        self.tag_filter, self.page = tag, 0
        await self._reload()

    @rx.event
    async def create_blank(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """A new, empty workflow; opens it in the builder."""
        try:
            data = WorkflowCreate(name=str(form.get("name", "")).strip() or "Untitled workflow",
                                  visibility=WorkflowVisibility.PRIVATE if form.get("private") else
                                  WorkflowVisibility.WORKSPACE)
            async with open_session() as session:
                user = await self._signed_in_user(session)
                workflow = await workflows.create(user, data, session=session)
        except (errors.DomainError, ValidationError) as exc:
            self.error = form_message(exc)
            return None
        return rx.redirect(f"/workflows/{workflow.id}")

    @rx.event
    async def create_from_template(self, key: str) -> rx.event.EventSpec | None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                workflow = await gallery.create_from_template(user, key, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return None
        return rx.redirect(f"/workflows/{workflow.id}")

    @rx.event
    async def duplicate(self, workflow_id: int) -> None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                copy = await listing.duplicate(user, workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.notice = f"Duplicated as “{copy.name}”."
        await self._reload()

    @rx.event
    async def set_private(self, workflow_id: int, private: bool) -> None:
        """Keep a workflow to its owner (and admins), or share it with the workspace again."""
        visibility = WorkflowVisibility.PRIVATE if private else WorkflowVisibility.WORKSPACE
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                changed = await workflows.update_workflow(user, workflow_id, WorkflowUpdate(visibility=visibility),
                                                          session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.notice = (f"“{changed.name}” is private: only you and the admins see it." if private
                       else f"“{changed.name}” is shared with the workspace.")
        await self._reload()

    @rx.event
    async def archive(self, workflow_id: int) -> None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                archived = await workflows.archive(user, workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.notice = f"“{archived.name}” is archived; filter by status “archived” to see it."
        await self._reload()

    @rx.event
    async def export(self, workflow_id: int) -> rx.event.EventSpec | None:
        """Download the workflow's portable JSON."""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                exported = await workflows.export(user, workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return None
        return rx.download(data=exported.model_dump_json(indent=2), filename=f"workflow-{workflow_id}.json")

    @rx.event
    async def import_files(self, files: list[rx.UploadFile]) -> rx.event.EventSpec | None:
        """Store an uploaded export as a new draft, then open it."""
        self.error = self.notice = ""
        if not files:
            self.error = "Choose a workflow JSON file exported from this app."
            return None
        try:
            data = WorkflowExport.model_validate(json.loads(await files[0].read()))
            async with open_session() as session:
                user = await self._signed_in_user(session)
                workflow = await workflows.import_workflow(user, data, session=session)
        except ValueError:  # bad JSON or a file that is not an export (pydantic's error is a ValueError)
            self.error = "That file is not a workflow export: expected JSON with a name and a graph."
            return None
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return None
        return rx.redirect(f"/workflows/{workflow.id}")
