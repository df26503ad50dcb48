"""The canvas's view of the graph being edited: node look, invalid edges, problems per node, upstream."""

from __future__ import annotations

from services import errors
from services.workflows.validation import validate_graph
from state.canvas import canvas_edges, canvas_node, declared_fields, problems_by_node, upstream_of

GRAPH = {"nodes": [{"id": "a", "type": "input", "config": {"fields": ["x"]}},
                   {"id": "b", "type": "template", "config": {"template": "{{ a.content }}"}},
                   {"id": "c", "type": "template", "config": {"template": "{{ b.content }}"}},
                   {"id": "d", "type": "template", "config": {"template": "{{ zz.content }}"}}],
         "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}, {"source": "c", "target": "a"}]}


def _problems() -> list[dict[str, object]]:
    try:
        validate_graph(GRAPH)
    except errors.ValidationFailed as exc:
        return list(exc.details or [])
    raise AssertionError("the graph has problems")


def test_upstream_follows_edges_backwards_and_survives_a_cycle() -> None:
    assert upstream_of(GRAPH, "c") == {"a", "b", "c"}
    assert upstream_of(GRAPH, "d") == set()


def test_problems_land_on_their_nodes_and_the_bad_edge_is_drawn_red() -> None:
    problems = _problems()
    by_node = problems_by_node(problems)
    assert any("zz" in line for line in by_node["d"])
    edges = {e["id"]: e for e in canvas_edges(GRAPH, problems)}
    assert edges["c:out->a"].get("animated") is True  # an input node takes no incoming edge
    assert edges["c:out->a"]["className"] == "dwc-edge-invalid"
    assert edges["a:out->b"]["className"] == "dwc-edge-invalid"  # a -> b -> c -> a is a cycle
    acyclic = {**GRAPH, "edges": GRAPH["edges"][:2]}
    assert all("className" not in e for e in canvas_edges(acyclic, []))


def test_node_carries_its_type_look_and_errors() -> None:
    node = canvas_node({"id": "b", "type": "template", "config": {}, "position": {"x": 5, "y": 7}}, ["template: x"])
    assert node["position"] == {"x": 5, "y": 7} and node["type"] == "dwc"
    assert node["data"]["title"] == "Template" and node["data"]["handles"] == ["out"]
    assert node["data"]["errors"] == ["template: x"] and node["data"]["accepts_input"] is True


def test_input_nodes_declare_their_run_parameters_as_fields() -> None:
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"], "optional_fields": ["tone"],
                                                                 "document_fields": ["brief"]}},
                       {"id": "b", "type": "template", "config": {"template": "x"}}], "edges": []}
    assert declared_fields(graph, {"in", "b"}) == {"in": ["topic", "tone", "brief"]}
    assert declared_fields(graph, {"b"}) == {}
