"""Saving refuses broken graphs and says which node is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from services import errors
from services.workflows.validation import validate_graph


def _problems(graph: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(errors.ValidationFailed) as caught:
        validate_graph(graph)
    return list(caught.value.details)


def test_the_contract_example_is_valid() -> None:
    graph = validate_graph({
        "nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}, "position": {"x": 0, "y": 0}},
                  {"id": "draft", "type": "ai_generate",
                   "config": {"prompt": "Write about {{ in.topic }}", "provider": "builtin"}},
                  {"id": "out", "type": "output", "config": {"format": "markdown"}}],
        "edges": [{"source": "in", "target": "draft"}, {"source": "draft", "target": "out"}]})
    assert [node.id for node in graph.nodes] == ["in", "draft", "out"]


def test_unknown_node_type_is_reported_on_its_node() -> None:
    problems = _problems({"nodes": [{"id": "x", "type": "teleport"}], "edges": []})
    assert problems[0]["node_id"] == "x" and "unknown node type" in problems[0]["message"]


def test_config_not_matching_the_schema_names_the_field() -> None:
    problems = _problems({"nodes": [{"id": "wait", "type": "delay", "config": {"seconds": -1}}], "edges": []})
    assert problems[0]["node_id"] == "wait" and problems[0]["field"] == "config.seconds"


def test_dangling_edge_is_refused() -> None:
    problems = _problems({"nodes": [{"id": "a", "type": "template", "config": {"template": "x"}}],
                          "edges": [{"source": "a", "target": "ghost"}]})
    assert any(p["node_id"] == "ghost" and "does not exist" in p["message"] for p in problems)


def test_cycle_is_refused_naming_the_edges_on_it() -> None:
    nodes = [{"id": name, "type": "template", "config": {"template": "x"}} for name in ("a", "b", "c", "d")]
    edges = [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}, {"source": "c", "target": "a"},
             {"source": "c", "target": "d"}]
    problems = _problems({"nodes": nodes, "edges": edges})
    cycle = next(p for p in problems if "cycle" in p["message"])
    assert cycle["cycle_edges"] == edges[:3]  # c -> d leaves the cycle


def test_template_reading_a_node_that_is_not_upstream_is_refused() -> None:
    graph = {"nodes": [{"id": "a", "type": "template", "config": {"template": "{{ b.content }}"}},
                       {"id": "b", "type": "template", "config": {"template": "x"}}], "edges": []}
    problems = _problems(graph)
    assert problems[0]["node_id"] == "a" and "not upstream" in problems[0]["message"]


def test_condition_expression_reading_an_unknown_name_is_refused() -> None:
    graph = {"nodes": [{"id": "in", "type": "input"},
                       {"id": "check", "type": "condition", "config": {"expression": "nope.score > 1"}}],
             "edges": [{"source": "in", "target": "check"}]}
    assert "not a node" in _problems(graph)[0]["message"]


def test_edge_from_a_condition_must_name_its_branch() -> None:
    graph = {"nodes": [{"id": "in", "type": "input"},
                       {"id": "check", "type": "condition", "config": {"expression": "true"}},
                       {"id": "t", "type": "template", "config": {"template": "x"}}],
             "edges": [{"source": "in", "target": "check"}, {"source": "check", "target": "t"}]}
    assert "which branch" in _problems(graph)[0]["message"]


def test_reserved_node_id_is_refused() -> None:
    problems = _problems({"nodes": [{"id": "params", "type": "template", "config": {"template": "x"}}], "edges": []})
    assert "reserved" in problems[0]["message"]


def test_malformed_graph_reports_the_path() -> None:
    problems = _problems({"nodes": [{"id": "bad id!", "type": "input"}], "edges": []})
    assert problems[0]["field"].startswith("nodes.0.id")
