"""Runs started from the builder: the run dialog, live badges from the run's step events, the selected
node's last output, and cancel, retry, retry from a node, approve and reject.

Badges go to the canvas as ``badges`` (``{node_id: {"status", "text"}}``), a prop of their own, so a
step event never resends the graph. The run is watched through the run event bus by a background
event; the database is read again when the run changes state, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import reflex as rx

from models.run import RunDetail, RunStatus
from models.user import Role
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_read_session, open_session
from services.documents.library_query import ready_documents
from services.workflows import runs
from services.workflows.events import get_event_bus
from state.auth import AuthState
from state.builder import BuilderState
from state.documents import DocumentChoice
from state.errors import form_message
from state.run_format import ACTIVE, CANCELLABLE, FINISHED, RETRYABLE, badge, started_nodes, step_view

_ROLES_THAT_RUN = frozenset(r.value for r in Role if allows(r, Permission.EDIT_WORKFLOWS))
_WATCH_POLL_SECONDS = 2.0
_WATCH_LIMIT_SECONDS = 15 * 60


class BuilderRunState(AuthState):
    """The run this builder tab started or acts on."""

    run_dialog_open: bool = False
    run_fields: list[str] = []
    run_document_fields: list[str] = []
    run_documents: list[DocumentChoice] = []
    run_document_values: list[str] = []
    """The document chosen for each of ``run_document_fields`` (same order; "" for none yet)."""
    run_error: str = ""
    run_notice: str = ""
    run_id: str = ""
    run_status: str = ""
    badges: dict[str, dict[str, str]] = {}
    steps: dict[str, dict[str, str]] = {}
    acting: bool = False

    @rx.var
    def can_run(self) -> bool:
        return self.user_role in _ROLES_THAT_RUN

    @rx.var
    def run_busy(self) -> bool:
        return self.run_status in ACTIVE

    @rx.var
    def can_cancel(self) -> bool:
        return self.can_run and self.run_status in CANCELLABLE

    @rx.var
    def can_retry(self) -> bool:
        return self.can_run and self.run_status in RETRYABLE

    @rx.var
    def can_retry_from_node(self) -> bool:
        return self.can_run and self.run_status in FINISHED

    @rx.var
    def can_decide(self) -> bool:
        return self.can_run and self.run_status == RunStatus.WAITING.value

    @rx.event
    def reset_run(self) -> None:
        """on_load: a freshly opened builder shows no run."""
        self.run_id = self.run_status = self.run_error = self.run_notice = ""
        self.badges, self.steps, self.run_dialog_open, self.acting = {}, {}, False, False

    # --- starting a run --------------------------------------------------------------------------------------

    @rx.event
    async def open_run_dialog(self) -> None:
        builder = await self.get_state(BuilderState)
        saved = builder.saved_graph()
        if saved is None:
            builder.error = "Save your changes first (ctrl+s): a run uses the saved version."
            return
        inputs = [n for n in saved[1].get("nodes", []) if n["type"] == "input"]
        names = [str(f) for n in inputs for key in ("fields", "optional_fields") for f in n["config"].get(key, [])]
        self.run_fields, self.run_error, self.run_dialog_open = list(dict.fromkeys(names)), "", True
        self.run_document_fields = list(dict.fromkeys(str(f) for n in inputs
                                                      for f in n["config"].get("document_fields", [])))
        self.run_document_values = ["" for _ in self.run_document_fields]
        if self.run_document_fields:  # the library's ready documents, to choose from
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                found = await ready_documents(user, session=session)
            self.run_documents = [DocumentChoice(str(document_id), title) for document_id, title in found]

    @rx.event
    def set_run_dialog_open(self, is_open: bool) -> None:
        self.run_dialog_open = is_open

    @rx.event
    def choose_run_document(self, index: int, document_id: str) -> None:
        self.run_document_values = [document_id if at == index else value
                                    for at, value in enumerate(self.run_document_values)]

    def _choose_uploaded(self, document_id: str) -> str:
        """Choose a document uploaded in the dialog for the first empty document input; that input's name."""
        if not self.run_document_fields:
            return "no document input"
        index = next((at for at, value in enumerate(self.run_document_values) if not value), 0)
        self.run_document_values = [document_id if at == index else value
                                    for at, value in enumerate(self.run_document_values)]
        return self.run_document_fields[index]

    @rx.event
    async def start_run(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Run the saved version with the dialog's inputs, then watch it live."""
        builder = await self.get_state(BuilderState)
        allowed = {*self.run_fields, *self.run_document_fields}
        parameters = {name: str(value) for name, value in form.items() if name in allowed and str(value)}
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                accepted = await runs.execute(user, builder.saved_graph_id(), parameters, session=session)
        except errors.DomainError as exc:
            self.run_error = form_message(exc)
            return None
        self.run_dialog_open = False
        return self._follow(str(accepted.run_id), {n["id"]: badge("queued", None) for n in builder.nodes})

    def _follow(self, run_id: str, badges: dict[str, dict[str, str]]) -> rx.event.EventSpec:
        self.run_id, self.run_status, self.run_error, self.steps, self.badges = run_id, "queued", "", {}, badges
        return BuilderRunState.watch_run

    # --- acting on the run -----------------------------------------------------------------------------------

    @rx.event
    async def cancel_run(self) -> None:
        async def act(user: Any, session: Any) -> None:
            await runs.cancel(user, uuid.UUID(self.run_id), session=session)
        if await self._act(act):
            self.run_notice = "Cancel requested: a running step stops at its next checkpoint."
            await self._show_run(self.run_id)

    @rx.event
    async def retry_run(self, from_node: str = "") -> rx.event.EventSpec | None:
        """A new run reusing what succeeded; with ``from_node``, that node and everything after it run again."""
        retried: list[str] = []

        async def act(user: Any, session: Any) -> None:
            run = await runs.retry(user, uuid.UUID(self.run_id), session=session, from_node=from_node or None)
            retried.append(str(run.id))
        if not await self._act(act):
            return None
        self.run_notice = f"Re-running from {from_node}." if from_node else "Retrying what did not succeed."
        return self._follow(retried[0], dict(self.badges))

    @rx.event
    async def decide(self, approve: bool) -> rx.event.EventSpec | None:
        async def act(user: Any, session: Any) -> None:
            await runs.decide(user, uuid.UUID(self.run_id), approve=approve, session=session)
        if not await self._act(act):
            return None
        self.run_notice = "Approved: the run continues." if approve else "Rejected: the run has failed."
        self.run_status = RunStatus.QUEUED.value if approve else RunStatus.FAILED.value
        return BuilderRunState.watch_run

    async def _act(self, action: Any) -> bool:
        """Run one service call as the signed-in user; an error becomes the run panel's message."""
        self.run_error = self.run_notice = ""
        if not self.run_id:
            return False
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                await action(user, session)
        except errors.DomainError as exc:
            self.run_error = form_message(exc)
            return False
        return True

    # --- watching it -----------------------------------------------------------------------------------------

    @rx.event(background=True)
    async def watch_run(self) -> None:
        """Follow the run's step events until it ends (or waits for approval); then show every step."""
        async with self:
            run_id = self.run_id
        if not run_id:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _WATCH_LIMIT_SECONDS
        async with get_event_bus().subscribe(run_id) as queue:
            async with self:
                settled = await self._show_run(run_id)  # catches up on what happened before subscribing
            while not settled and loop.time() < deadline:
                events: list[dict[str, Any]] = []
                with contextlib.suppress(TimeoutError):
                    events.append(await asyncio.wait_for(queue.get(), _WATCH_POLL_SECONDS))
                while not queue.empty():
                    events.append(queue.get_nowait())
                async with self:
                    if self.run_id != run_id:
                        return  # another run took over this tab
                    self._apply(events)
                    if not events or any(e.get("type") == "run" for e in events):
                        settled = await self._show_run(run_id)

    def _apply(self, events: list[dict[str, Any]]) -> None:
        badges = dict(self.badges)
        for event in events:
            if event.get("type") == "step" and event.get("node_id"):
                duration = event.get("duration_ms")
                error = event.get("error")
                badges[str(event["node_id"])] = badge(str(event.get("status", "")),
                                                      duration if isinstance(duration, int | float) else None,
                                                      error if isinstance(error, str) else None)
            elif event.get("type") == "run":
                self.run_status = str(event.get("status", self.run_status))
        self.badges = badges

    async def _show_run(self, run_id: str) -> bool:
        """Take the run's steps from the database; True once it has ended or waits for a person."""
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                detail = await runs.get_run(user, uuid.UUID(run_id), session=session)
        except errors.DomainError as exc:
            self.run_error = form_message(exc)
            return True
        self._take(detail, (await self.get_state(BuilderState)).saved_graph())
        return detail.status.finished or detail.status is RunStatus.WAITING

    def _take(self, detail: RunDetail, saved: tuple[int, dict[str, Any]] | None) -> None:
        self.run_status = detail.status.value
        badges, steps = dict(self.badges), dict(self.steps)
        for step in detail.steps:
            badges[step.node_id] = badge(step.status.value, step.duration_ms, step.error)
            steps[step.node_id] = step_view(step)
        if detail.status is RunStatus.RUNNING and saved is not None:
            settled = {step.node_id: step.status.value for step in detail.steps}
            for node_id in started_nodes(saved[1], settled):
                if badges.get(node_id, {}).get("status", "queued") == "queued":
                    badges[node_id] = badge("running", None)
        self.badges, self.steps = badges, steps
        if detail.error and detail.status.finished:
            self.run_error = detail.error
