"""Check a workflow graph before it is saved: every problem is reported against its node id.

Checks: the JSON shape, duplicate or reserved node ids, unknown node types, configs that do not
match their type's schema, edges to missing nodes or from handles a node does not have, cycles,
and templates or expressions that read a node that is not upstream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from services import errors
from services.workflows import expressions, templating
from services.workflows.graph import Graph, NodeSpec
from services.workflows.nodes.base import NodeType
from services.workflows.nodes.registry import REGISTRY

Problem = dict[str, Any]
_MAP_NAMES = frozenset({"item", "index"})


def validate_graph(raw: Mapping[str, Any] | Graph) -> Graph:
    """The parsed graph, or ``ValidationFailed`` whose ``details`` list every problem."""
    try:
        graph = raw if isinstance(raw, Graph) else Graph.model_validate(raw)
    except ValidationError as exc:
        raise errors.ValidationFailed("The workflow graph is malformed.", details=_shape_problems(exc, raw)) from exc
    problems = graph_problems(graph)
    if problems:
        first = problems[0]
        where = f"node {first['node_id']!r}: " if first.get("node_id") else ""
        more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
        raise errors.ValidationFailed(f"The workflow graph is invalid: {where}{first['message']}{more}.",
                                      details=problems)
    return graph


def graph_problems(graph: Graph) -> list[Problem]:
    """Every problem of an already-parsed graph (empty when it is valid)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for node in graph.nodes:
        if node.id in seen:
            problems.append(_problem(node.id, "id", "two nodes have this id; ids must be unique"))
        if node.id in templating.RESERVED_NAMES:
            problems.append(_problem(node.id, "id", f"{node.id!r} is a reserved name; choose another id"))
        seen.add(node.id)
    problems.extend(_edge_problems(graph))
    if graph.topological_order() is None:
        problems.append({"node_id": None, "field": "edges", "message": "the edges form a cycle; workflows must be "
                         f"acyclic (nodes involved: {', '.join(sorted(_cycle_members(graph)))})",
                         "cycle_edges": _cycle_edges(graph)})
    for node in graph.nodes:
        node_type = REGISTRY.get(node.type)
        if node_type is None:
            problems.append(_problem(node.id, "type", f"unknown node type {node.type!r}; known types: "
                                     f"{', '.join(sorted(REGISTRY))}"))
            continue
        problems.extend(_config_problems(node, node_type, graph))
    return problems


def _edge_problems(graph: Graph) -> Iterable[Problem]:
    nodes = graph.nodes_by_id
    pairs: set[tuple[str, str, str | None]] = set()
    for index, edge in enumerate(graph.edges):
        where = {"edge": index, "source": edge.source, "target": edge.target}
        for end in (edge.source, edge.target):
            if end not in nodes:
                yield {"node_id": end, "field": "edges", **where,
                       "message": f"an edge refers to node {end!r}, which does not exist"}
        if edge.source == edge.target:
            yield {"node_id": edge.source, "field": "edges", **where, "message": "a node cannot feed itself"}
        key = (edge.source, edge.target, edge.source_handle)
        if key in pairs:
            yield {"node_id": edge.target, "field": "edges", **where, "message": "this edge is drawn twice"}
        pairs.add(key)
        source_type = REGISTRY.get(nodes[edge.source].type) if edge.source in nodes else None
        target_type = REGISTRY.get(nodes[edge.target].type) if edge.target in nodes else None
        if source_type is not None:
            if not source_type.output_handles:
                yield {"node_id": edge.source, "field": "edges", **where,
                       "message": f"a {source_type.display_name} node has no outputs to connect"}
            elif edge.source_handle is not None and edge.source_handle not in source_type.output_handles:
                yield {"node_id": edge.source, "field": "edges", **where,
                       "message": f"handle {edge.source_handle!r} does not exist; this node's handles: "
                                  f"{', '.join(source_type.output_handles)}"}
            elif edge.source_handle is None and len(source_type.output_handles) > 1:
                yield {"node_id": edge.source, "field": "edges", **where,
                       "message": f"say which branch this edge leaves from ({' or '.join(source_type.output_handles)})"}
        if target_type is not None and not target_type.accepts_input:
            yield {"node_id": edge.target, "field": "edges", **where,
                   "message": f"a {target_type.display_name} node takes no incoming edges"}


def _config_problems(node: NodeSpec, node_type: NodeType[Any], graph: Graph, *,
                     extra_names: frozenset[str] = frozenset()) -> list[Problem]:
    try:
        config = node_type.parse_config(node.config)
    except ValidationError as exc:
        return [_problem(node.id, "config." + ".".join(str(part) for part in error["loc"]), error["msg"])
                for error in exc.errors()]
    problems: list[Problem] = []
    # Only a reference to another node needs the ancestors; computing them for every node is O(n²).
    upstream = functools.cache(lambda: graph.ancestors(node.id))
    for field in node_type.template_fields:
        source = getattr(config, field)
        problem = templating.check_template(source) if isinstance(source, str) else None
        if problem:
            problems.append(_problem(node.id, f"config.{field}", problem))
            continue
        names = templating.referenced_names(source) if isinstance(source, str) else set()
        problems.extend(_reference_problems(node.id, f"config.{field}", names, upstream, graph, extra_names))
    for field in node_type.expression_fields:
        try:
            names = set(expressions.references(getattr(config, field)))
        except expressions.ExpressionError as exc:
            problems.append(_problem(node.id, f"config.{field}", exc.message))
            continue
        problems.extend(_reference_problems(node.id, f"config.{field}", names, upstream, graph, extra_names))
    if node.type == "map":
        problems.extend(_mapped_node_problems(node, config, graph))
    return problems


def _mapped_node_problems(node: NodeSpec, config: Any, graph: Graph) -> list[Problem]:
    inner = config.node
    inner_type = REGISTRY.get(inner.type)
    if inner_type is None or inner.type in {"map", "human_approval", "input", "output"}:
        return [_problem(node.id, "config.node.type", f"a map node cannot run {inner.type!r} nodes")]
    inner_spec = NodeSpec(id=node.id, type=inner.type, config=inner.config)
    return [{**problem, "field": problem["field"].replace("config.", "config.node.config.", 1)}
            for problem in _config_problems(inner_spec, inner_type, graph, extra_names=_MAP_NAMES)]


def _reference_problems(node_id: str, field: str, names: Iterable[str], upstream: Callable[[], set[str]],
                        graph: Graph, extra_names: frozenset[str]) -> Iterable[Problem]:
    for name in sorted(names):
        if name in extra_names or name in {"params", "run"} or (name in graph.nodes_by_id and name in upstream()):
            continue
        if name in graph.nodes_by_id:
            yield _problem(node_id, field, f"refers to node {name!r}, which is not upstream of this node; "
                                           "connect it first")
        elif name not in templating.RESERVED_NAMES:
            yield _problem(node_id, field, f"refers to {name!r}, which is not a node of this workflow")


def _cycle_members(graph: Graph) -> set[str]:
    return {node.id for node in graph.nodes if node.id in graph.ancestors(node.id)}


def _cycle_edges(graph: Graph) -> list[dict[str, str]]:
    """The edges that lie on a cycle: those whose target leads back to their source."""
    return [{"source": edge.source, "target": edge.target} for edge in graph.edges
            if edge.target in graph.ancestors(edge.source) or edge.source == edge.target]


def _problem(node_id: str | None, field: str, message: str) -> Problem:
    return {"node_id": node_id, "field": field, "message": message}


def _shape_problems(exc: ValidationError, raw: Any) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        loc = list(error["loc"])
        node_id = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            try:
                node_id = raw["nodes"][loc[1]].get("id")
            except (KeyError, IndexError, TypeError, AttributeError):
                node_id = None
        problems.append({"node_id": node_id, "field": ".".join(str(part) for part in loc), "message": error["msg"]})
    return problems
