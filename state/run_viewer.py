"""The run viewer (/runs/[id]) and a workflow's run list (/workflows/[id]/runs).

The viewer shows one ``run_report.report``: a Gantt-style timeline of the steps, each step's
input, output, tokens, cost, attempts and error, the output documents (copy, download), and the
output's diff against the previous successful run. While the run is still going it follows the
run's events (``services.workflows.events``: in-process, and over Redis pub/sub from whichever worker
or replica runs it), so a step shows ``running`` as it starts, which only the events tell: the
database records a step once it has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import plotly.graph_objects as go
import reflex as rx

from models.run import RunStatus
from models.run_report import RunReport
from services import errors
from services.db import open_read_session
from services.workflows import run_report, runs
from services.workflows import service as workflows
from services.workflows.events import get_event_bus
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList
from state.run_format import ACTIVE, duration_text, step_view

_QUIET_SECONDS = 2.0  # with no event for this long, the report is read again (a message lost in transit)
_WATCH_LIMIT_SECONDS = 15 * 60
_IN_FLIGHT = frozenset({"running", "retrying"})  # step statuses that only events carry
STATUS_COLOURS = {"succeeded": "#16a34a", "failed": "#dc2626", "running": "#2563eb", "waiting": "#9333ea",
                  "skipped": "#94a3b8", "cancelled": "#94a3b8", "queued": "#64748b", "retrying": "#d97706"}


@dataclass
class DocumentView:
    id: str
    title: str
    node_id: str
    content: str


@dataclass
class DiffRow:
    kind: str
    text: str


@dataclass
class RunRow:
    id: str
    status: str
    trigger: str
    created_at: str
    duration: str
    tokens: int
    cost: str
    note: str


def timeline(report: RunReport) -> go.Figure:
    """One horizontal bar per step, from its start to its end, coloured by status (times relative to the run)."""
    steps = [s for s in report.run.steps if s.started_at is not None]
    origin = min([s.started_at for s in steps if s.started_at] + ([report.run.started_at]
                                                                     if report.run.started_at else []), default=None)
    figure = go.Figure()
    for step in steps:
        assert step.started_at is not None and origin is not None
        start = (step.started_at - origin).total_seconds() * 1000
        duration = step.duration_ms if step.duration_ms is not None else (
            ((step.finished_at - step.started_at).total_seconds() * 1000) if step.finished_at else 0.0)
        figure.add_trace(go.Bar(
            y=[step.node_id], x=[max(duration, 1.0)], base=[start], orientation="h", name=step.status.value,
            marker_color=STATUS_COLOURS.get(step.status.value, "#64748b"), showlegend=False,
            hovertemplate=f"{step.node_id} ({step.node_type})<br>{step.status.value}<br>"
                          f"start +{start:.0f} ms<br>{duration:.0f} ms<extra></extra>"))
    figure.update_layout(barmode="overlay", height=max(180, 44 * len(steps) + 80), autosize=True,
                         margin={"l": 10, "r": 10, "t": 10, "b": 40}, xaxis_title="milliseconds since the run started",
                         yaxis={"autorange": "reversed", "automargin": True}, paper_bgcolor="rgba(0,0,0,0)",
                         plot_bgcolor="rgba(0,0,0,0)")
    return figure


def _in_flight_row(node_id: str) -> dict[str, str]:
    """A step the events say has started, before the database has a row for it."""
    return {"node_id": node_id, "node_type": "", "status": "running", "content": "", "tokens": "0",
            "cost": "", "attempts": "1", "error": "", "duration": "", "input": "", "started": ""}


class RunViewerState(AuthState):
    """One run, as the viewer shows it."""

    loaded: bool = False
    error: str = ""
    run_id: str = ""
    workflow_id: int = 0
    status: str = ""
    trigger: str = ""
    summary: str = ""
    run_error: str = ""
    steps: list[dict[str, str]] = []
    chart: go.Figure = go.Figure()
    documents: list[DocumentView] = []
    output: str = ""
    previous_run_id: str = ""
    diff: list[DiffRow] = []
    diff_truncated: bool = False
    selected_step: str = ""
    _in_flight: dict[str, dict[str, str]] = {}  # steps started but not yet recorded, by node id

    @rx.var
    def has_changes(self) -> bool:
        return any(row.kind != "same" for row in self.diff)

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        """on_load: the report of the run named in the address; followed live while it is still going."""
        self.loaded, self.error, self.selected_step, self._in_flight = False, "", "", {}
        try:
            self.run_id = str(uuid.UUID(self.router.url.path.rstrip("/").rsplit("/", 1)[-1]))
        except ValueError:
            self.error = "This address does not name a run; open one from a workflow's run list."
            return None
        await self._fetch()
        return RunViewerState.follow_run if self._going() else None

    def _going(self) -> bool:
        return not self.error and self.status in ACTIVE | {RunStatus.WAITING.value}

    async def _fetch(self) -> None:
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                found = await run_report.report(user, uuid.UUID(self.run_id), session=session)
        except errors.NotFound:
            self.error = "There is no such run, or it was deleted. Open one from a workflow's run list."
            return
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        run = found.run
        self.workflow_id, self.status, self.trigger = run.workflow_id, run.status.value, run.trigger.value
        self.run_error = run.error or ""
        self.summary = (f"version {run.version} · {duration_text(run.duration_ms) or 'not finished'} · "
                        f"{run.total_tokens} tokens · ${run.total_cost:.4f}"
                        + (f" · re-run from {run.from_node}" if run.from_node else ""))
        recorded = {step.node_id for step in run.steps}
        self._in_flight = {node_id: row for node_id, row in self._in_flight.items() if node_id not in recorded}
        self.steps = [step_view(step) for step in run.steps] + list(self._in_flight.values())
        self.chart = timeline(found)
        self.documents = [DocumentView(str(d.id), d.title, d.node_id or "", d.content) for d in found.documents]
        self.output = found.output
        self.previous_run_id = str(found.previous_run_id or "")
        self.diff = [DiffRow(line.kind, line.text) for line in found.diff]
        self.diff_truncated = found.diff_truncated
        self.loaded = True

    @rx.event(background=True)
    async def follow_run(self) -> None:
        """Until the run ends: apply its step events as they come; read the report again when the run
        changes state, a step finishes, or nothing was heard for a while."""
        async with self:
            run_id = self.run_id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _WATCH_LIMIT_SECONDS
        async with get_event_bus().subscribe(run_id) as queue:
            async with self:
                await self._fetch()  # catches up on what happened before subscribing
                going = self._going()
            while going and loop.time() < deadline:
                events: list[dict[str, Any]] = []
                with contextlib.suppress(TimeoutError):
                    events.append(await asyncio.wait_for(queue.get(), _QUIET_SECONDS))
                events += [queue.get_nowait() for _ in range(queue.qsize())]
                async with self:
                    if self.run_id != run_id:
                        return  # the tab moved on to another run
                    applied = [self._apply_in_flight(event) for event in events]
                    if not all(applied) or not events:
                        await self._fetch()
                    going = self._going()

    def _apply_in_flight(self, event: dict[str, Any]) -> bool:
        """Show a step that started (or waits to retry); False for events the database tells better."""
        if event.get("type") != "step" or event.get("status") not in _IN_FLIGHT:
            return False
        node_id = str(event.get("node_id", ""))
        row = next((step for step in self.steps if step["node_id"] == node_id), None)
        if row is not None and row["status"] not in _IN_FLIGHT:
            return True  # already recorded as finished: a late event changes nothing
        row = {**(row or _in_flight_row(node_id)), "status": str(event["status"]),
               "attempts": str(event.get("attempt", (row or {}).get("attempts", "1"))),
               "error": str(event.get("error") or "")}
        self._in_flight = {**self._in_flight, node_id: row}
        self.steps = [step for step in self.steps if step["node_id"] != node_id] + [row]
        return True

    @rx.event
    def toggle_step(self, node_id: str) -> None:
        self.selected_step = "" if self.selected_step == node_id else node_id

    @rx.event
    def download_document(self, index: int) -> rx.event.EventSpec | None:
        if not 0 <= index < len(self.documents):
            return None
        document = self.documents[index]
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in document.title)[:80] or "document"
        return rx.download(data=document.content, filename=f"{name}.md")


class RunListState(PagedList, AuthState):
    """A workflow's runs, newest first, a page at a time."""

    noun: ClassVar[tuple[str, str]] = ("run", "runs")

    workflow_id: int = 0
    workflow_name: str = ""
    rows: list[RunRow] = []
    error: str = ""
    loaded: bool = False

    @rx.event
    async def load(self) -> None:
        self.page, self.loaded, self.error = 0, False, ""
        try:
            self.workflow_id = int(self.router.url.path.rstrip("/").split("/")[-2])
        except (ValueError, IndexError):
            self.error = "This address does not name a workflow; open one from the workflow list."
            return
        await self._reload()

    async def _reload(self) -> None:
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                workflow = await workflows.detail(user, self.workflow_id, session=session)
                found = await runs.list_runs(user, self.workflow_id, session=session, offset=self.offset,
                                             limit=self.page_size)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.workflow_name, self.total, self.loaded = workflow.name, found.count, True
        self.rows = [RunRow(id=str(r.id), status=r.status.value, trigger=r.trigger.value,
                            created_at=r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                            duration=duration_text(r.duration_ms),
                            tokens=r.total_tokens, cost=f"${r.total_cost:.4f}",
                            note=f"from {r.from_node}" if r.from_node else ("retry" if r.retry_of else ""))
                     for r in found.data]
