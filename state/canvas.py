"""How the graph being edited appears on the canvas: nodes with their look and problems, edges (an
invalid one drawn red), and what lies upstream of a node and the fields it declares (for the side
panel's ``{{ }}`` hints)."""

from __future__ import annotations

from typing import Any

from components.flow import flow_edge, flow_node
from state.node_forms import CATALOGUE
from state.node_palette import CATEGORY_COLOURS


def canvas_node(node: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """A graph node as a React Flow node of the ``dwc`` type."""
    entry = CATALOGUE.get(node["type"], {})
    position = node.get("position") or {}
    return flow_node(node["id"], x=position.get("x", 0), y=position.get("y", 0), data={
        "type": node["type"], "title": node.get("label") or entry.get("display_name", node["type"]),
        "icon": entry.get("icon", "box"), "colour": CATEGORY_COLOURS.get(entry.get("category", ""), "#64748b"),
        "handles": entry.get("output_handles", ["out"]), "accepts_input": entry.get("accepts_input", True),
        "errors": errors})


def canvas_edges(graph: dict[str, Any], problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The graph's edges; those a validation problem names, or that lie on a cycle, are drawn as invalid."""
    bad = {(p.get("source"), p.get("target")) for p in problems if "edge" in p}
    bad |= {(e.get("source"), e.get("target")) for p in problems for e in p.get("cycle_edges", [])}
    return [flow_edge(e["source"], e["target"], e.get("source_handle"), invalid=(e["source"], e["target"]) in bad)
            for e in graph.get("edges", [])]


def problems_by_node(problems: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Validation problems as ``"field: message"`` lines per node id (graph-wide ones are left out)."""
    by_node: dict[str, list[str]] = {}
    for problem in problems:
        if problem.get("node_id"):
            field_name = str(problem.get("field", "")).removeprefix("config.")
            by_node.setdefault(str(problem["node_id"]), []).append(f"{field_name}: {problem['message']}")
    return by_node


def upstream_of(graph: dict[str, Any], node_id: str) -> set[str]:
    """Every node whose output can reach ``node_id``."""
    sources: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        sources.setdefault(edge["target"], []).append(edge["source"])
    seen: set[str] = set()
    stack = list(sources.get(node_id, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(sources.get(current, []))
    return seen


def declared_fields(graph: dict[str, Any], node_ids: set[str]) -> dict[str, list[str]]:
    """The fields ``node_ids`` say their output will carry: an input node's run parameters."""
    fields: dict[str, list[str]] = {}
    for node in graph.get("nodes", []):
        if node["id"] in node_ids and node["type"] == "input":
            config = node.get("config") or {}
            names = [str(name) for key in ("fields", "optional_fields", "document_fields")
                     for name in config.get(key, []) if isinstance(name, str) and name != "content"]
            fields[node["id"]] = list(dict.fromkeys(names))
    return fields
