"""A thin, typed Reflex wrapper of the builder canvas (``@xyflow/react`` 12 in ``assets/flow/dwc_flow.jsx``).

The JS side keeps nodes and edges in React state (``applyNodeChanges``), so dragging is local;
it reports only finished gestures, as plain JSON:

* ``on_nodes_change(changes)`` / ``on_edges_change(changes)``: ``[{"type": "remove", "id": ...}]``
  (the Delete or Backspace key); moves are reported by ``on_node_drag_stop`` instead;
* ``on_node_drag_stop(positions)``: ``[{"id", "x", "y"}]`` for the nodes just dragged;
* ``on_connect(connection)``: ``{"source", "target", "source_handle"}``;
* ``on_node_click(node_id)``, ``on_pane_click()``;
* ``on_selection_change(selection)``: ``{"nodes": [ids], "edges": [ids]}`` whenever more than one
  element is selected, and once more when such a selection ends (a single click is ``on_node_click``
  alone, so selecting one node costs one event, not two);
* ``on_drop_node(drop)``: ``{"type", "x", "y"}`` when a palette item (``draggable`` with a
  ``data-palette-type`` attribute) is dropped on the canvas;
* ``on_undo()``, ``on_redo()``, ``on_save()``: ctrl/cmd+z, ctrl/cmd+shift+z or ctrl/cmd+y (both
  outside text fields, where the browser's own undo applies) and ctrl/cmd+s; none when read-only.

Run badges come separately in ``statuses`` (``{node_id: {"status", "text", "title"?}}``; ``title`` is
the badge's tooltip, a failed step's whole error), merged into the nodes on the JS side, so a step
event sends a few bytes rather than the whole graph.

Nodes are React Flow nodes of type ``"dwc"`` whose ``data`` carries ``type``, ``title``, ``icon``,
``colour``, ``handles`` (output handle ids), ``accepts_input``, ``status``, ``status_text``,
``status_title`` and ``errors``; ``flow_node`` builds one.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec

XYFLOW_VERSION = "12.12.1"

JsonList = list[dict[str, Any]]


class Flow(rx.Component):
    """The workflow canvas: nodes, edges, minimap, controls, dotted grid, snap to grid."""

    library = "$/public/flow/dwc_flow.jsx"
    tag = "DwcFlow"
    lib_dependencies: list[str] = [f"@xyflow/react@{XYFLOW_VERSION}"]

    nodes: rx.Var[JsonList]
    edges: rx.Var[JsonList]
    statuses: rx.Var[dict[str, dict[str, str]]]
    read_only: rx.Var[bool]
    snap_to_grid: rx.Var[bool]
    fit_view: rx.Var[bool]
    color_mode: rx.Var[str]  # "light" or "dark": the canvas, its controls and minimap follow the app's theme

    on_nodes_change: rx.EventHandler[passthrough_event_spec(JsonList)]
    on_edges_change: rx.EventHandler[passthrough_event_spec(JsonList)]
    on_node_drag_stop: rx.EventHandler[passthrough_event_spec(JsonList)]
    on_connect: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_drop_node: rx.EventHandler[passthrough_event_spec(dict[str, Any])]
    on_node_click: rx.EventHandler[passthrough_event_spec(str)]
    on_pane_click: rx.EventHandler[rx.event.no_args_event_spec]
    on_selection_change: rx.EventHandler[passthrough_event_spec(dict[str, list[str]])]
    on_undo: rx.EventHandler[rx.event.no_args_event_spec]
    on_redo: rx.EventHandler[rx.event.no_args_event_spec]
    on_save: rx.EventHandler[rx.event.no_args_event_spec]


flow = Flow.create


def flow_node(node_id: str, *, x: float, y: float, data: dict[str, Any]) -> dict[str, Any]:
    """One React Flow node of the custom ``dwc`` type."""
    return {"id": node_id, "type": "dwc", "position": {"x": x, "y": y}, "data": data}


def flow_edge(source: str, target: str, source_handle: str | None = None, *, invalid: bool = False) -> dict[str, Any]:
    """One React Flow edge; a condition branch is labelled with its handle, an invalid edge drawn red."""
    edge: dict[str, Any] = {"id": f"{source}:{source_handle or 'out'}->{target}", "source": source, "target": target,
                            "sourceHandle": source_handle, "targetHandle": "in"}
    if source_handle in ("true", "false"):
        edge["label"] = source_handle
    if invalid:
        edge["className"] = "dwc-edge-invalid"
        edge["style"] = {"stroke": "#dc2626", "strokeWidth": 2}
        edge["animated"] = True
    return edge
