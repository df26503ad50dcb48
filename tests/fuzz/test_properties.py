"""Property tests (Hypothesis): random graphs never crash the validator, random expressions never
crash the evaluator, and templates cannot reach Python internals or exhaust memory."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import errors
from services.workflows import expressions, templating
from services.workflows.graph import Graph
from services.workflows.nodes.registry import REGISTRY
from services.workflows.validation import validate_graph

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
node_ids = st.sampled_from(["in", "a", "b", "c", "out", "0bad", "", "x" * 70]) | st.text(max_size=8)
templates = st.sampled_from(["{{ in.topic }}", "{{ a.content }} and {{ params.x }}", "{{ missing.x }}",
                             "{% for i in item %}{{ i }}{% endfor %}", "{{ unclosed", "{{ ''.__class__ }}"])
expression_texts = st.sampled_from(["a.content == 'x'", "len(b.content) > 3", "c.value and (", "in.topic in ['x']",
                                    "unknown(1)", "1 / 0"])
configs = st.fixed_dictionaries({}, optional={
    "fields": st.lists(st.text(max_size=6), max_size=3) | json_values, "prompt": templates | json_values,
    "template": templates, "expression": expression_texts | json_values, "seconds": st.floats(-5, 5) | json_values,
    "url": st.sampled_from(["https://example.com", "http://127.0.0.1/x", "not a url"]), "items": templates,
    "method": st.sampled_from(["GET", "POST", "BREW"]), "format": st.sampled_from(["markdown", "json", "??"]),
}) | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
nodes = st.fixed_dictionaries({"id": node_ids, "type": st.sampled_from([*REGISTRY, "nope", ""]), "config": configs},
                              optional={"position": st.fixed_dictionaries({"x": st.floats(-1e6, 1e6),
                                                                           "y": st.floats(-1e6, 1e6)}),
                                        "label": st.text(max_size=20)})
edges = st.fixed_dictionaries({"source": node_ids, "target": node_ids},
                              optional={"condition": st.sampled_from(["true", "false", "", "maybe"]) | json_values})
graphs = st.fixed_dictionaries({"nodes": st.lists(nodes, max_size=7), "edges": st.lists(edges, max_size=10)})


@settings(FUZZ, max_examples=120)
@given(graphs)
def test_random_graphs_are_accepted_or_refused_with_problems_never_a_crash(raw: dict[str, Any]) -> None:
    try:
        graph = validate_graph(raw)
    except errors.ValidationFailed as exc:
        assert exc.details, "a refusal lists its problems"
        assert all(isinstance(problem.get("message"), str) and problem["message"] for problem in exc.details)
    else:
        assert isinstance(graph, Graph)


@FUZZ
@given(json_values)
def test_any_json_document_as_a_graph_is_refused_cleanly(raw: Any) -> None:
    try:
        validate_graph(raw if isinstance(raw, dict) else {"nodes": raw})
    except errors.ValidationFailed:
        pass


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ params.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ params.update({'x': 1}) }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ 'x' * 100000000 }}",
    "{{ [0] * 100000000 }}",
    "{{ 9 ** 999 ** 999 ** 999 }}",
    "{% for i in range(100000000) %}x{% endfor %}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused(source: str) -> None:
    with pytest.raises(errors.ExecutionFailed):
        templating.render(source, {"params": {"x": 1}, "draft": {"content": "text"}})


template_pieces = st.sampled_from([*"{}%#()[]._'\"|*+-/ ~,:=<>!", "__class__", "__globals__", "mro", "params",
                                   "x", "for", "in", "if", "range", "9", "**", "attr", "{{", "}}", "{%", "%}"])


@FUZZ
@given(st.lists(template_pieces, max_size=30).map("".join))
def test_random_templates_render_or_fail_cleanly(source: str) -> None:
    try:
        out = templating.render(source, {"params": {"x": 1}})
    except errors.ExecutionFailed:
        return
    assert "<class" not in out and "<built-in" not in out and "<function" not in out


expression_tokens = st.sampled_from([
    "a", "b", ".", "content", "[", "]", "(", ")", "0", "1", "2.5", "1e308", "'s'", '"t"', "==", "!=", "<", ">=",
    "and", "or", "not", "in", "+", "-", "*", "/", "%", "len", "min", "max", "round", "number", "string", ",",
    "true", "null", "__class__", "abs", "contains", " "])


@FUZZ
@given(st.lists(expression_tokens, max_size=25).map(" ".join))
def test_random_expressions_evaluate_or_raise_expression_error(source: str) -> None:
    context = {"a": {"content": "hello", "n": 3, "items": [1, 2, 3]}, "b": {"content": None}}
    try:
        expressions.evaluate(source, context)
    except expressions.ExpressionError:
        pass


@FUZZ
@given(st.text(max_size=60))
def test_arbitrary_text_as_an_expression_never_crashes(source: str) -> None:
    try:
        expressions.evaluate(source, {"a": {"x": 1}})
    except expressions.ExpressionError:
        pass
