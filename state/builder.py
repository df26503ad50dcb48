"""The workflow builder (/workflows/[id]): the canvas's graph, the selected node's form, save and versions, runs.

The graph being edited lives in the backend-only ``_graph`` (the JSON ``service.save_graph``
takes); every change goes through ``_refresh``, which derives what the page shows from it: the
canvas's nodes and edges, the problems ``validate_graph`` finds (drawn on their nodes), and the
selected node's form. Saving sends ``_graph`` with the version it was loaded from, so a save over
someone else's newer version is a conflict, not an overwrite. Runs are watched live through the
run event bus by a background event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from components.flow import flow_edge, flow_node
from models.run import RunDetail, RunStatus
from models.user import Role
from models.workflow import GraphUpdate, WorkflowStatus
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_session
from services.documents.library_query import ready_documents
from services.workflows import runs
from services.workflows import service as workflows
from services.workflows.events import get_event_bus
from services.workflows.nodes.registry import catalogue
from services.workflows.validation import validate_graph
from state.auth import AuthState
from state.documents import DocumentChoice
from state.errors import form_message

_ROLES_THAT_EDIT = frozenset(r.value for r in Role if allows(r, Permission.EDIT_WORKFLOWS))
CATALOGUE: dict[str, dict[str, Any]] = {entry["type"]: entry for entry in catalogue()}
CATEGORY_COLOURS = {"Input / output": "#0891b2", "AI": "#7c3aed", "Transform": "#0d9488", "Logic": "#d97706",
                    "Integrations": "#2563eb"}
_COMMON_FIELDS = ("timeout_seconds", "retries", "retry_backoff_seconds")
_LONG_TEXT = frozenset({"prompt", "system", "template", "message", "body", "source", "instructions"})
_WATCH_POLL_SECONDS = 2.0
_WATCH_LIMIT_SECONDS = 15 * 60


@dataclass
class PaletteItem:
    type: str
    title: str
    description: str
    category: str
    icon: str


@dataclass
class PaletteGroup:
    category: str
    node_types: list[PaletteItem]


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, textarea, number, boolean, select, list, json
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    description: str = ""
    required: bool = False
    hint: str = ""


@dataclass
class VersionRow:
    number: int
    message: str
    created_at: str


@dataclass
class StepView:
    status: str
    content: str
    tokens: int
    cost: str
    attempts: int
    error: str
    duration: str


def field_kind(prop: dict[str, Any], name: str, node_type: dict[str, Any]) -> str:
    """The input that edits a config property, from its JSON Schema."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    kind = options[0] if options else prop
    if "enum" in kind:
        return "select"
    return {"boolean": "boolean", "integer": "number", "number": "number", "array": "list"}.get(
        str(kind.get("type")), "json" if kind.get("type") == "object" or "$ref" in kind else
        ("textarea" if name in _LONG_TEXT or name in node_type["template_fields"] else "text"))


def form_fields(node: dict[str, Any], upstream: list[str]) -> list[FormField]:
    """The selected node's form: one field per config property, the retry settings last."""
    node_type = CATALOGUE.get(node["type"])
    if node_type is None:
        return []
    schema = node_type["config_schema"]
    required = set(schema.get("required", []))
    names = sorted(schema.get("properties", {}), key=lambda n: (n in _COMMON_FIELDS, 0))
    reads = ("Insert an upstream result with " + ", ".join(f"{{{{ {n}.content }}}}" for n in upstream)
             if upstream else "No upstream node yet: connect one to use its result.")
    hint = reads + " · {{ params.name }} reads a run input."
    result = []
    for name in names:
        prop = schema["properties"][name]
        kind = field_kind(prop, name, node_type)
        value = node["config"].get(name, prop.get("default"))
        items = prop.get("items", {})
        description = str(prop.get("description", ""))
        if kind == "list" and "enum" in items:
            description = (description + " " if description else "") + "Choose from: " + ", ".join(items["enum"])
        result.append(FormField(
            name=name, label=str(prop.get("title", name)), kind=kind, checked=bool(value),
            value=(", ".join(map(str, value)) if kind == "list" and isinstance(value, list) else
                   json.dumps(value) if kind == "json" and value is not None else
                   "" if value is None else str(value)),
            options=[str(o) for o in prop.get("enum", [])], description=description, required=name in required,
            hint=hint if name in node_type["template_fields"] or name in node_type["expression_fields"] else ""))
    return result


def parse_field(prop: dict[str, Any], kind: str, raw: str | bool) -> tuple[bool, Any]:
    """(keep, value) for a form input: ``keep`` False drops the key so the type's default applies."""
    if kind == "boolean":
        return True, bool(raw)
    text = str(raw).strip() if kind != "textarea" else str(raw)
    if kind == "list":
        return True, [part.strip() for part in text.split(",") if part.strip()]
    if text == "":
        return False, None
    if kind == "number":
        try:
            number = float(text)
        except ValueError as exc:
            raise errors.ValidationFailed(f"{prop.get('title', 'This field')} must be a number.") from exc
        integer = any(p.get("type") == "integer" for p in prop.get("anyOf", [prop]))
        return True, int(number) if integer else number
    if kind == "json":
        try:
            return True, json.loads(text)
        except ValueError as exc:
            title = prop.get("title", "This field")
            raise errors.ValidationFailed(f'{title} must be JSON, like {{"a": 1}}.') from exc
    return True, text


class BuilderState(AuthState):
    """One workflow open in the builder."""

    workflow_name: str = ""
    version: int = 0
    archived: bool = False
    loaded: bool = False
    dirty: bool = False
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    selected_id: str = ""
    selected_type: str = ""
    selected_label: str = ""
    fields: list[FormField] = []
    node_errors: dict[str, list[str]] = {}
    graph_errors: list[str] = []
    error: str = ""
    notice: str = ""
    palette_query: str = ""
    versions: list[VersionRow] = []
    run_dialog_open: bool = False
    run_fields: list[str] = []
    run_document_fields: list[str] = []
    run_documents: list[DocumentChoice] = []
    run_values: dict[str, str] = {}
    run_error: str = ""
    run_id: str = ""
    run_status: str = ""
    step_status: dict[str, str] = {}
    step_text: dict[str, str] = {}
    steps: dict[str, StepView] = {}
    has_step: bool = False
    step_view: StepView = StepView("", "", 0, "", 0, "", "")
    _workflow_id: int = 0
    _graph: dict[str, Any] = {}

    @rx.var
    def can_edit(self) -> bool:
        return self.user_role in _ROLES_THAT_EDIT and not self.archived

    @rx.var
    def palette(self) -> list[PaletteGroup]:
        """The node types matching the search, grouped by category."""
        query = self.palette_query.strip().lower()
        groups: dict[str, list[PaletteItem]] = {}
        for e in sorted(CATALOGUE.values(), key=lambda e: (e["category"], e["display_name"])):
            if not query or query in f"{e['display_name']} {e['description']} {e['category']} {e['type']}".lower():
                groups.setdefault(e["category"], []).append(
                    PaletteItem(e["type"], e["display_name"], e["description"], e["category"], e["icon"]))
        return [PaletteGroup(category, items) for category, items in groups.items()]


    @rx.var
    def run_busy(self) -> bool:
        return self.run_status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value)

    # --- loading and deriving the page from the graph -------------------------------------------------

    @rx.event
    async def load(self) -> None:
        """on_load: the workflow's current graph and its version history."""
        self.error = self.notice = self.run_id = self.run_status = self.selected_id = ""
        self.loaded, self.dirty, self.steps, self.step_status, self.step_text = False, False, {}, {}, {}
        try:
            self._workflow_id = int(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
            async with open_session() as session:
                user = await self._signed_in_user(session)
                found = await workflows.detail(user, self._workflow_id, session=session)
                history = await workflows.list_versions(user, self._workflow_id, session=session)
        except ValueError:
            self.error = "This address does not name a workflow; open one from the workflow list."
            return
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.workflow_name, self.version, self._graph = found.name, found.current_version, found.graph
        self.archived = found.status is WorkflowStatus.ARCHIVED
        self.versions = [VersionRow(v.number, v.message, v.created_at.strftime("%Y-%m-%d %H:%M")) for v in history]
        self.loaded = True
        self._refresh()

    def _refresh(self) -> None:
        """Everything the page derives from ``_graph``, the selection and the live run."""
        try:
            validate_graph(self._plain_graph())
            problems: list[dict[str, Any]] = []
        except errors.ValidationFailed as exc:
            problems = list(exc.details or [])
        by_node: dict[str, list[str]] = {}
        for problem in problems:
            if problem.get("node_id"):
                field_name = str(problem.get("field", "")).removeprefix("config.")
                by_node.setdefault(str(problem["node_id"]), []).append(f"{field_name}: {problem['message']}")
        self.node_errors = by_node
        self.graph_errors = [str(p["message"]) for p in problems if not p.get("node_id")]
        self.nodes = [self._flow_node(node) for node in self._graph.get("nodes", [])]
        bad_edges = {(p.get("source"), p.get("target")) for p in problems if "edge" in p}
        self.edges = [flow_edge(e["source"], e["target"], e.get("source_handle"),
                                invalid=(e["source"], e["target"]) in bad_edges) for e in self._graph.get("edges", [])]
        self.has_step = self.selected_id in self.steps
        if self.has_step:
            self.step_view = self.steps[self.selected_id]
        node = self._node(self.selected_id)
        if node is None:
            self.selected_id, self.selected_type, self.selected_label, self.fields = "", "", "", []
            return
        upstream = sorted(self._upstream(node["id"]))
        self.selected_type = CATALOGUE.get(node["type"], {}).get("display_name", node["type"])
        self.selected_label = node.get("label", "")
        self.fields = form_fields(node, upstream)

    def _flow_node(self, node: dict[str, Any]) -> dict[str, Any]:
        entry = CATALOGUE.get(node["type"], {})
        position = node.get("position") or {}
        return flow_node(node["id"], x=position.get("x", 0), y=position.get("y", 0), data={
            "type": node["type"], "title": node.get("label") or entry.get("display_name", node["type"]),
            "icon": entry.get("icon", "box"), "colour": CATEGORY_COLOURS.get(entry.get("category", ""), "#64748b"),
            "handles": entry.get("output_handles", ["out"]), "accepts_input": entry.get("accepts_input", True),
            "status": self.step_status.get(node["id"], ""), "status_text": self.step_text.get(node["id"], ""),
            "errors": self.node_errors.get(node["id"], [])})

    def _plain_graph(self) -> dict[str, Any]:
        """``_graph`` as plain JSON data (state attributes come wrapped in Reflex's change-tracking proxies)."""
        return dict(json.loads(json.dumps(self._graph)))

    def _node(self, node_id: str) -> dict[str, Any] | None:
        return next((n for n in self._graph.get("nodes", []) if n["id"] == node_id), None)

    def _upstream(self, node_id: str) -> set[str]:
        seen: set[str] = set()
        stack = [e["source"] for e in self._graph.get("edges", []) if e["target"] == node_id]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(e["source"] for e in self._graph.get("edges", []) if e["target"] == current)
        return seen

    def _edit(self) -> bool:
        """Whether this tab may change the graph; says why not when it may not."""
        if not self.can_edit:
            self.error = ("This workflow is archived; restore it before editing." if self.archived else
                          "Your role can view workflows but not edit them. Ask an admin for editor access.")
            return False
        self.error, self.notice, self.dirty = "", "", True
        return True

    # --- canvas events -----------------------------------------------------------------------------------

    @rx.event
    def select_node(self, node_id: str) -> None:
        self.selected_id = node_id
        self._refresh()

    @rx.event
    def clear_selection(self) -> None:
        self.selected_id = ""
        self._refresh()

    @rx.event
    def set_palette_query(self, query: str) -> None:
        self.palette_query = query

    @rx.event
    def add_node(self, node_type: str) -> None:
        """Click on a palette item: the node goes right of the rightmost node."""
        nodes = self._graph.get("nodes", [])
        x = max(((n.get("position") or {}).get("x", 0) for n in nodes), default=-260) + 260
        self._add(node_type, x, 120)

    @rx.event
    def drop_node(self, drop: dict[str, Any]) -> None:
        self._add(str(drop.get("type", "")), float(drop.get("x", 0)), float(drop.get("y", 0)))

    def _add(self, node_type: str, x: float, y: float) -> None:
        if node_type not in CATALOGUE or not self._edit():
            return
        taken = {n["id"] for n in self._graph.get("nodes", [])}
        number = 1
        while f"{node_type}_{number}" in taken:
            number += 1
        node = {"id": f"{node_type}_{number}", "type": node_type, "config": {}, "position": {"x": x, "y": y}}
        self._graph = {**self._graph, "nodes": [*self._graph.get("nodes", []), node]}
        self.selected_id = node["id"]
        self._refresh()

    @rx.event
    def connect(self, connection: dict[str, Any]) -> None:
        source, target = str(connection.get("source", "")), str(connection.get("target", ""))
        handle = connection.get("source_handle")
        if not source or not target or not self._edit():
            return
        edge = {"source": source, "target": target, **({"source_handle": handle} if handle not in (None, "out")
                                                         else {})}
        self._graph = {**self._graph, "edges": [*self._graph.get("edges", []), edge]}
        self._refresh()

    @rx.event
    def nodes_changed(self, changes: list[dict[str, Any]]) -> None:
        """Delete key on nodes: they go, with every edge touching them."""
        removed = {str(c.get("id")) for c in changes if c.get("type") == "remove"}
        if not removed or not self._edit():
            self._refresh()  # puts back what the canvas removed locally
            return
        self._graph = {"nodes": [n for n in self._graph.get("nodes", []) if n["id"] not in removed],
                       "edges": [e for e in self._graph.get("edges", [])
                                 if e["source"] not in removed and e["target"] not in removed]}
        self._refresh()

    @rx.event
    def edges_changed(self, changes: list[dict[str, Any]]) -> None:
        removed = {str(c.get("id")) for c in changes if c.get("type") == "remove"}
        if not removed or not self._edit():
            self._refresh()
            return
        keep = [e for e in self._graph.get("edges", [])
                if flow_edge(e["source"], e["target"], e.get("source_handle"))["id"] not in removed]
        self._graph = {**self._graph, "edges": keep}
        self._refresh()

    @rx.event
    def nodes_moved(self, positions: list[dict[str, Any]]) -> None:
        """Drag end: store where the nodes now are (the canvas already shows it)."""
        moved = {str(p["id"]): {"x": float(p["x"]), "y": float(p["y"])} for p in positions if "id" in p}
        if not moved or not self._edit():
            return
        self._graph = {**self._graph, "nodes": [{**n, "position": moved.get(n["id"], n.get("position"))}
                                                 for n in self._graph.get("nodes", [])]}
        self._refresh()

    # --- the side panel's form ---------------------------------------------------------------------------

    @rx.event
    def set_field(self, name: str, raw: str | bool) -> None:
        node = self._node(self.selected_id)
        if node is None or not self._edit():
            return
        schema = CATALOGUE[node["type"]]["config_schema"]["properties"].get(name)
        if schema is None:
            return
        try:
            keep, value = parse_field(schema, field_kind(schema, name, CATALOGUE[node["type"]]), raw)
        except errors.ValidationFailed as exc:
            self.error = form_message(exc)
            return
        config = {k: v for k, v in node["config"].items() if k != name}
        if keep:
            config[name] = value
        self._replace(node, config=config)

    @rx.event
    def set_label(self, label: str) -> None:
        node = self._node(self.selected_id)
        if node is not None and self._edit():
            self._replace(node, label=label.strip()[:200])

    def _replace(self, node: dict[str, Any], **changes: Any) -> None:
        self._graph = {**self._graph, "nodes": [{**n, **changes} if n["id"] == node["id"] else n
                                                 for n in self._graph.get("nodes", [])]}
        self._refresh()

    # --- save and versions ---------------------------------------------------------------------------------

    @rx.event
    async def save(self) -> None:
        """Store the graph as the next version, from the version this tab loaded."""
        self.error = self.notice = ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                saved = await workflows.save_graph(user, self._workflow_id, GraphUpdate(
                    graph=self._plain_graph(), base_version=self.version, message="saved in the builder"),
                    session=session)
                history = await workflows.list_versions(user, self._workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            self._refresh()
            return
        self.version, self.dirty, self._graph = saved.version, False, saved.graph
        self.versions = [VersionRow(v.number, v.message, v.created_at.strftime("%Y-%m-%d %H:%M")) for v in history]
        self.notice = f"Saved as version {saved.version}."
        self._refresh()

    @rx.event
    async def restore(self, number: int) -> None:
        """Make an old version current again, as a new version."""
        self.error = self.notice = ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                old = await workflows.graph_of(user, self._workflow_id, session=session, version=number)
                saved = await workflows.save_graph(user, self._workflow_id, GraphUpdate(
                    graph=old.graph, base_version=self.version, message=f"restored version {number}"),
                    session=session)
                history = await workflows.list_versions(user, self._workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.version, self.dirty, self._graph, self.selected_id = saved.version, False, saved.graph, ""
        self.versions = [VersionRow(v.number, v.message, v.created_at.strftime("%Y-%m-%d %H:%M")) for v in history]
        self.notice = f"Version {number} restored as version {saved.version}."
        self._refresh()

    # --- runs ------------------------------------------------------------------------------------------------

    @rx.event
    async def open_run_dialog(self) -> None:
        if self.dirty:
            self.error = "Save your changes first: a run uses the saved version."
            return
        inputs = [n for n in self._graph.get("nodes", []) if n["type"] == "input"]
        names = [str(f) for n in inputs for key in ("fields", "optional_fields") for f in n["config"].get(key, [])]
        self.run_fields, self.run_error, self.run_dialog_open = list(dict.fromkeys(names)), "", True
        self.run_document_fields = list(dict.fromkeys(str(f) for n in inputs
                                                      for f in n["config"].get("document_fields", [])))
        if self.run_document_fields:  # the library's ready documents, to choose from
            async with open_session() as session:
                user = await self._signed_in_user(session)
                found = await ready_documents(user, session=session)
            self.run_documents = [DocumentChoice(str(document_id), title) for document_id, title in found]

    @rx.event
    def set_run_dialog_open(self, is_open: bool) -> None:
        self.run_dialog_open = is_open

    @rx.event
    async def start_run(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Run the saved version with the dialog's inputs, then watch it live."""
        allowed = {*self.run_fields, *self.run_document_fields}
        parameters = {name: str(value) for name, value in form.items() if name in allowed and str(value)}
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                accepted = await runs.execute(user, self._workflow_id, parameters, session=session)
        except errors.DomainError as exc:
            self.run_error = form_message(exc)
            return None
        self.run_id, self.run_status, self.run_dialog_open, self.steps = str(accepted.run_id), "queued", False, {}
        self.step_status = {n["id"]: "queued" for n in self._graph.get("nodes", [])}
        self.step_text = {}
        self._refresh()
        return BuilderState.watch_run

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
        status, text = dict(self.step_status), dict(self.step_text)
        for event in events:
            if event.get("type") == "step" and event.get("node_id"):
                node_id = str(event["node_id"])
                status[node_id] = str(event.get("status", ""))
                duration = event.get("duration_ms")
                text[node_id] = f"{duration / 1000:.1f} s" if isinstance(duration, int | float) and \
                    status[node_id] == "succeeded" else ""
            elif event.get("type") == "run":
                self.run_status = str(event.get("status", self.run_status))
        self.step_status, self.step_text = status, text
        self._refresh()

    async def _show_run(self, run_id: str) -> bool:
        """Take the run's steps from the database; True once it has ended or waits for a person."""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                detail = await runs.get_run(user, uuid.UUID(run_id), session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return True
        self._take_detail(detail)
        return detail.status.finished or detail.status is RunStatus.WAITING

    def _take_detail(self, detail: RunDetail) -> None:
        self.run_status = detail.status.value
        status, text, steps = dict(self.step_status), dict(self.step_text), dict(self.steps)
        for step in detail.steps:
            status[step.node_id] = step.status.value
            if step.duration_ms is not None and step.status.value == "succeeded":
                text[step.node_id] = f"{step.duration_ms / 1000:.1f} s"
            steps[step.node_id] = StepView(
                status=step.status.value, content=str((step.output or {}).get("content", "")), tokens=step.tokens,
                cost=f"${step.cost:.4f}", attempts=step.attempt, error=step.error or "",
                duration=f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "")
        self.step_status, self.step_text, self.steps = status, text, steps
        if detail.error and detail.status.finished:
            self.run_error = detail.error
        self._refresh()
