"""The workflow builder (/workflows/[id]): the canvas's graph, the selected node's form, undo and redo,
save, autosave and versions (runs started from the builder live in ``state/builder_runs.py``).

The graph being edited lives in the backend-only ``_graph`` (the JSON ``service.save_graph``
takes); every edit goes through ``_change``, which keeps the previous graph for undo, and then
``_refresh``, which derives what the page shows: the canvas's nodes and edges, the problems
``validate_graph`` finds (drawn on their nodes), and the selected node's form. Saving sends
``_graph`` with the version it was loaded from, so a save over someone else's newer version is a
conflict, not an overwrite.

Autosave: an edit starts (at most one) background timer; once the graph has been left alone for
``builder_autosave_seconds`` and it validates, it is saved as a version noted "autosaved". So a
burst of edits makes one version, not one per keystroke; an invalid graph waits, shown as unsaved.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import reflex as rx

from components.flow import flow_edge
from models.user import Role
from models.workflow import GraphUpdate, VersionPublic, WorkflowStatus
from services import errors
from services.auth.permissions import Permission, allows
from services.db import open_read_session, open_session
from services.settings import get_settings
from services.workflows import service as workflows
from services.workflows.validation import validate_graph
from state.auth import AuthState
from state.canvas import canvas_edges, canvas_node, declared_fields, problems_by_node, upstream_of
from state.errors import form_message
from state.node_forms import CATALOGUE, FormField, field_kind, form_fields, parse_field

_ROLES_THAT_EDIT = frozenset(r.value for r in Role if allows(r, Permission.EDIT_WORKFLOWS))
HISTORY_LIMIT = 100
SAVED_BY_HAND = "saved in the builder"
SAVED_BY_AUTOSAVE = "autosaved"


@dataclass
class VersionRow:
    number: int
    message: str
    created_at: str


class BuilderState(AuthState):
    """One workflow open in the builder."""

    workflow_name: str = ""
    version: int = 0
    archived: bool = False
    loaded: bool = False
    dirty: bool = False
    saving: bool = False
    last_saved: str = ""  # "saved" / "autosaved as version 4" once something was stored from this tab
    can_undo: bool = False
    can_redo: bool = False
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
    versions: list[VersionRow] = []
    viewing_version: int = 0  # an old version shown read-only on the canvas (0: the graph being edited)
    multi_selected: list[str] = []  # node ids while more than one node is selected
    _workflow_id: int = 0
    _preview: dict[str, Any] = {}
    _graph: dict[str, Any] = {}
    _undo: list[dict[str, Any]] = []
    _redo: list[dict[str, Any]] = []
    _saved: dict[str, Any] = {}
    _last_edit: float = 0.0
    _autosave_pending: bool = False

    @rx.var
    def may_edit(self) -> bool:
        """The user's role may change this workflow (it is not archived)."""
        return self.user_role in _ROLES_THAT_EDIT and not self.archived

    @rx.var
    def can_edit(self) -> bool:
        """The canvas is editable now: the user may edit and is not looking at an old version."""
        return self.may_edit and self.viewing_version == 0

    @rx.var
    def save_status(self) -> str:
        """The toolbar's saved/unsaved badge."""
        if self.saving:
            return "saving…"
        if self.dirty:
            return "unsaved changes" + (" (fix the errors to autosave)" if self.node_errors or self.graph_errors
                                        else "")
        return self.last_saved or "saved"

    # --- loading and deriving the page from the graph -------------------------------------------------

    @rx.event
    async def load(self) -> None:
        """on_load: the workflow's current graph and its version history."""
        self.error = self.notice = self.selected_id = self.last_saved = ""
        self.loaded, self.dirty, self.saving, self._undo, self._redo = False, False, False, [], []
        self.viewing_version, self._preview, self.multi_selected = 0, {}, []
        try:
            self._workflow_id = int(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
            async with open_read_session() as session:
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
        self._saved = self._plain_graph()
        self.archived = found.status is WorkflowStatus.ARCHIVED
        self._show_versions(history)
        self.loaded = True
        self._refresh()

    def _refresh(self, *, resend: bool = False) -> None:
        """Everything the page derives from ``_graph``; a list that did not change is not resent (unless
        ``resend``: the canvas changed itself and must be put back)."""
        shown = self._shown()
        try:
            validate_graph(json.loads(json.dumps(shown)))  # plain data, not Reflex's change-tracking proxies
            problems: list[dict[str, Any]] = []
        except errors.ValidationFailed as exc:
            problems = list(exc.details or [])
        by_node = problems_by_node(problems)
        self.node_errors = by_node
        self.graph_errors = [str(p["message"]) for p in problems if not p.get("node_id")]
        nodes = [canvas_node(node, by_node.get(node["id"], [])) for node in shown.get("nodes", [])]
        if resend or nodes != self.nodes:
            self.nodes = nodes
        edges = canvas_edges(shown, problems)
        if resend or edges != self.edges:
            self.edges = edges
        self.can_undo, self.can_redo = bool(self._undo), bool(self._redo)
        self._refresh_selection()

    def _refresh_selection(self) -> None:
        """The side panel: the selected node's type, label and form (selecting never touches the canvas)."""
        shown = self._shown()
        node = next((n for n in shown.get("nodes", []) if n["id"] == self.selected_id), None)
        if node is None:
            self.selected_id, self.selected_type, self.selected_label, self.fields = "", "", "", []
            return
        upstream = upstream_of(shown, node["id"])
        self.selected_type = CATALOGUE.get(node["type"], {}).get("display_name", node["type"])
        self.selected_label = node.get("label", "")
        self.fields = form_fields(node, sorted(upstream), declared_fields(shown, upstream))

    def _shown(self) -> dict[str, Any]:
        """The graph on the canvas: an old version being viewed, or the one being edited."""
        return self._preview if self.viewing_version else self._graph

    def _plain_graph(self) -> dict[str, Any]:
        """``_graph`` as plain JSON data (state attributes come wrapped in Reflex's change-tracking proxies)."""
        return dict(json.loads(json.dumps(self._graph)))

    def _node(self, node_id: str) -> dict[str, Any] | None:
        return next((n for n in self._graph.get("nodes", []) if n["id"] == node_id), None)

    def _show_versions(self, history: list[VersionPublic]) -> None:
        self.versions = [VersionRow(v.number, v.message, v.created_at.strftime("%Y-%m-%d %H:%M")) for v in history]

    # --- edits, undo and redo ------------------------------------------------------------------------------

    def _may_edit(self) -> bool:
        """Whether this tab may change the graph; says why not when it may not."""
        if not self.can_edit:
            self.error = ("This workflow is archived; restore it before editing." if self.archived else
                          "Your role can view workflows but not edit them. Ask an admin for editor access."
                          if not self.may_edit else
                          f"You are viewing version {self.viewing_version}: go back to editing to change the graph.")
            return False
        return True

    def _change(self, graph: dict[str, Any]) -> rx.event.EventSpec | None:
        """Make ``graph`` the one being edited, keeping the previous one for undo; starts the autosave timer."""
        self._undo = [*self._undo[-(HISTORY_LIMIT - 1):], self._plain_graph()]
        self._redo = []
        self._graph = graph
        return self._edited()

    def _edited(self) -> rx.event.EventSpec | None:
        """After any edit: unsaved unless it went back to what is saved; the autosave timer restarts."""
        self.error, self.notice, self._last_edit = "", "", time.time()
        self.dirty = self._plain_graph() != self._saved
        self._refresh()
        if self._autosave_pending or not self.dirty:
            return None
        self._autosave_pending = True
        return BuilderState.autosave_when_idle

    @rx.event
    def undo(self) -> rx.event.EventSpec | None:
        if not self._undo or not self._may_edit():
            return None
        self._redo = [*self._redo, self._plain_graph()]
        self._graph, self._undo = self._undo[-1], self._undo[:-1]
        return self._edited()

    @rx.event
    def redo(self) -> rx.event.EventSpec | None:
        if not self._redo or not self._may_edit():
            return None
        self._undo = [*self._undo, self._plain_graph()]
        self._graph, self._redo = self._redo[-1], self._redo[:-1]
        return self._edited()

    # --- canvas events -----------------------------------------------------------------------------------

    @rx.event
    def select_node(self, node_id: str) -> None:
        self.selected_id = node_id
        self._refresh_selection()

    @rx.event
    def clear_selection(self) -> None:
        self.selected_id, self.multi_selected = "", []
        self._refresh_selection()

    @rx.event
    def selection_changed(self, selection: dict[str, list[str]]) -> None:
        """More than one node selected (ctrl+click, shift+drag): the side panel offers to delete them together."""
        nodes = [str(node_id) for node_id in selection.get("nodes", [])]
        self.multi_selected = nodes if len(nodes) > 1 else []

    @rx.event
    def delete_selected(self) -> rx.event.EventSpec | None:
        """The side panel's "Delete selected": the selected nodes go, with every edge touching them."""
        removed, self.multi_selected = set(self.multi_selected), []
        return self._remove_nodes(removed)

    @rx.event
    def add_node(self, node_type: str) -> rx.event.EventSpec | None:
        """Click on a palette item: the node goes right of the rightmost node."""
        nodes = self._graph.get("nodes", [])
        x = max(((n.get("position") or {}).get("x", 0) for n in nodes), default=-260) + 260
        return self._add(node_type, x, 120)

    @rx.event
    def drop_node(self, drop: dict[str, Any]) -> rx.event.EventSpec | None:
        return self._add(str(drop.get("type", "")), float(drop.get("x", 0)), float(drop.get("y", 0)))

    def _add(self, node_type: str, x: float, y: float) -> rx.event.EventSpec | None:
        if node_type not in CATALOGUE or not self._may_edit():
            return None
        taken = {n["id"] for n in self._graph.get("nodes", [])}
        number = 1
        while f"{node_type}_{number}" in taken:
            number += 1
        node = {"id": f"{node_type}_{number}", "type": node_type, "config": {}, "position": {"x": x, "y": y}}
        self.selected_id = node["id"]
        return self._change({**self._graph, "nodes": [*self._graph.get("nodes", []), node]})

    @rx.event
    def connect(self, connection: dict[str, Any]) -> rx.event.EventSpec | None:
        source, target = str(connection.get("source", "")), str(connection.get("target", ""))
        handle = connection.get("source_handle")
        if not source or not target or not self._may_edit():
            return None
        edge = {"source": source, "target": target, **({"source_handle": handle} if handle not in (None, "out")
                                                         else {})}
        return self._change({**self._graph, "edges": [*self._graph.get("edges", []), edge]})

    @rx.event
    def nodes_changed(self, changes: list[dict[str, Any]]) -> rx.event.EventSpec | None:
        """Delete key on nodes: they go, with every edge touching them."""
        return self._remove_nodes({str(c.get("id")) for c in changes if c.get("type") == "remove"})

    def _remove_nodes(self, removed: set[str]) -> rx.event.EventSpec | None:
        if not removed or not self._may_edit():
            self._refresh(resend=True)  # puts back what the canvas removed locally
            return None
        return self._change({"nodes": [n for n in self._graph.get("nodes", []) if n["id"] not in removed],
                             "edges": [e for e in self._graph.get("edges", [])
                                       if e["source"] not in removed and e["target"] not in removed]})

    @rx.event
    def edges_changed(self, changes: list[dict[str, Any]]) -> rx.event.EventSpec | None:
        removed = {str(c.get("id")) for c in changes if c.get("type") == "remove"}
        if not removed or not self._may_edit():
            self._refresh(resend=True)
            return None
        keep = [e for e in self._graph.get("edges", [])
                if flow_edge(e["source"], e["target"], e.get("source_handle"))["id"] not in removed]
        return self._change({**self._graph, "edges": keep})

    @rx.event
    def nodes_moved(self, positions: list[dict[str, Any]]) -> rx.event.EventSpec | None:
        """Drag end: store where the nodes now are (the canvas already shows it)."""
        moved = {str(p["id"]): {"x": float(p["x"]), "y": float(p["y"])} for p in positions if "id" in p}
        if not moved or not self._may_edit():
            return None
        return self._change({**self._graph, "nodes": [{**n, "position": moved.get(n["id"], n.get("position"))}
                                                       for n in self._graph.get("nodes", [])]})

    # --- the side panel's form ---------------------------------------------------------------------------

    @rx.event
    def set_field(self, name: str, raw: str | bool) -> rx.event.EventSpec | None:
        node = self._node(self.selected_id)
        if node is None or not self._may_edit():
            return None
        schema = CATALOGUE[node["type"]]["config_schema"]["properties"].get(name)
        if schema is None:
            return None
        try:
            keep, value = parse_field(schema, field_kind(schema, name, CATALOGUE[node["type"]]), raw)
        except errors.ValidationFailed as exc:
            self.error = form_message(exc)
            return None
        config = {k: v for k, v in node["config"].items() if k != name}
        if keep:
            config[name] = value
        if config == node["config"]:
            return None  # leaving a field unchanged is not an edit (nothing to undo or autosave)
        return self._replace(node, config=config)

    @rx.event
    def set_label(self, label: str) -> rx.event.EventSpec | None:
        node = self._node(self.selected_id)
        if node is None or not self._may_edit() or label.strip()[:200] == node.get("label", ""):
            return None
        return self._replace(node, label=label.strip()[:200])

    def _replace(self, node: dict[str, Any], **changes: Any) -> rx.event.EventSpec | None:
        return self._change({**self._graph, "nodes": [{**n, **changes} if n["id"] == node["id"] else n
                                                       for n in self._graph.get("nodes", [])]})

    # --- save, autosave and versions -----------------------------------------------------------------------

    @rx.event
    async def save(self) -> None:
        """Save button or ctrl+s: store the graph as the next version, from the version this tab loaded."""
        if not self._may_edit():
            return
        if not self.dirty:
            self.notice = f"Nothing to save: version {self.version} is what you see."
            return
        await self._store(SAVED_BY_HAND)

    @rx.event(background=True)
    async def autosave_when_idle(self) -> None:
        """Wait until the graph has been left alone long enough, then save it if it is valid."""
        idle = get_settings().builder_autosave_seconds
        while True:
            async with self:
                wait = self._last_edit + idle - time.time()
                if wait <= 0 or not self.dirty:
                    self._autosave_pending = False
                    if self.dirty and self.can_edit and not self.node_errors and not self.graph_errors:
                        await self._store(SAVED_BY_AUTOSAVE)
                    return
            await asyncio.sleep(wait)

    async def _store(self, message: str) -> None:
        self.error, self.notice, self.saving = "", "", True
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                saved = await workflows.save_graph(user, self._workflow_id, GraphUpdate(
                    graph=self._plain_graph(), base_version=self.version, message=message), session=session)
                history = await workflows.list_versions(user, self._workflow_id, session=session)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        finally:
            self.saving = False
        self.version, self.dirty, self._graph = saved.version, False, saved.graph
        self._saved = self._plain_graph()
        self._show_versions(history)
        self.last_saved = f"{'autosaved' if message == SAVED_BY_AUTOSAVE else 'saved'} as version {saved.version}"
        if message == SAVED_BY_HAND:
            self.notice = f"Saved as version {saved.version}."
        self._refresh()

    @rx.event
    async def restore(self, number: int) -> None:
        """Make an old version current again, as a new version (undo brings back what was on the canvas)."""
        self.error = self.notice = ""
        self.viewing_version, self._preview = 0, {}
        if not self._may_edit():
            self._refresh(resend=True)
            return
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
            self._refresh(resend=True)
            return
        self._undo = [*self._undo[-(HISTORY_LIMIT - 1):], self._plain_graph()]
        self.version, self.dirty, self._graph, self.selected_id = saved.version, False, saved.graph, ""
        self._saved = self._plain_graph()
        self._show_versions(history)
        self.notice = f"Version {number} restored as version {saved.version}."
        self._refresh()

    @rx.event
    async def view_version(self, number: int) -> None:
        """Show an old version read-only on the canvas; the graph being edited waits, unsaved edits and all."""
        self.error = self.notice = ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                old = await workflows.graph_of(user, self._workflow_id, session=session, version=number)
        except errors.DomainError as exc:
            self.error = form_message(exc)
            return
        self.viewing_version, self._preview, self.selected_id, self.multi_selected = number, old.graph, "", []
        self._refresh(resend=True)

    @rx.event
    def close_version(self) -> rx.event.EventSpec | None:
        """Back from an old version to the graph being edited (whose autosave resumes)."""
        self.viewing_version, self._preview, self.selected_id = 0, {}, ""
        self._refresh(resend=True)
        if not self.dirty or self._autosave_pending:
            return None
        self._autosave_pending = True
        return BuilderState.autosave_when_idle

    def saved_graph(self) -> tuple[int, dict[str, Any]] | None:
        """(workflow id, graph) when what is on the canvas is saved, so a run uses what the user sees."""
        return None if self.dirty or not self.loaded else (self._workflow_id, self._plain_graph())

    def saved_graph_id(self) -> int:
        return self._workflow_id
