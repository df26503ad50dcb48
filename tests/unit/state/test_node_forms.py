"""The builder's side panel: a node type's JSON Schema becomes form fields, and typed text becomes config."""

from __future__ import annotations

from typing import Any

import pytest

from services import errors
from state.node_forms import CATALOGUE, field_kind, form_fields, parse_field
from state.node_palette import palette_groups


def _prop(node_type: str, name: str) -> dict[str, Any]:
    return dict(CATALOGUE[node_type]["config_schema"]["properties"][name])


@pytest.mark.parametrize(("node_type", "name", "kind"), [
    ("http_request", "method", "select"), ("http_request", "fail_on_error_status", "boolean"),
    ("http_request", "retries", "number"), ("http_request", "timeout_seconds", "number"),
    ("http_request", "headers", "json"), ("merge", "separator", "text"), ("http_request", "url", "textarea"),
    ("template", "template", "textarea"),
    ("input", "fields", "list"),
])
def test_each_schema_type_gets_its_input(node_type: str, name: str, kind: str) -> None:
    assert field_kind(_prop(node_type, name), name, CATALOGUE[node_type]) == kind


def test_form_lists_config_first_retry_settings_last_and_hints_upstream_results() -> None:
    node = {"id": "t", "type": "template", "config": {"template": "Hi {{ a.content }}"}}
    fields = form_fields(node, ["a", "b"])
    assert [f.name for f in fields] == ["template", "timeout_seconds", "retries", "retry_backoff_seconds"]
    template = fields[0]
    assert template.required and template.value == "Hi {{ a.content }}" and template.kind == "textarea"
    assert "{{ a.content }}, {{ b.content }}" in template.hint
    assert fields[2].value == "0"  # the schema's default shows when the config leaves it out
    many = form_fields(node, [f"n{i:02}" for i in range(20)])[0].hint
    assert "{{ n07.content }} (and 12 more upstream nodes)" in many and "n08" not in many
    with_fields = form_fields(node, ["a", "in"], {"in": ["topic", "outline"]})[0].hint
    assert "{{ a.content }}, {{ in.content }}, {{ in.topic }}, {{ in.outline }}" in with_fields
    lonely = form_fields({"id": "t", "type": "template", "config": {}}, [])[0]
    assert "No upstream node yet" in lonely.hint


def test_unknown_node_type_has_no_form() -> None:
    assert form_fields({"id": "x", "type": "gone", "config": {}}, []) == []


def test_typed_text_becomes_the_schema_type() -> None:
    assert parse_field(_prop("http_request", "retries"), "number", "3") == (True, 3)
    assert parse_field(_prop("http_request", "retry_backoff_seconds"), "number", "1.5") == (True, 1.5)
    assert parse_field(_prop("input", "fields"), "list", " topic, outline ,, ") == (True, ["topic", "outline"])
    assert parse_field(_prop("http_request", "headers"), "json", '{"X-A": "1"}') == (True, {"X-A": "1"})
    assert parse_field(_prop("http_request", "fail_on_error_status"), "boolean", False) == (True, False)
    assert parse_field(_prop("template", "template"), "textarea", "  keep spaces ") == (True, "  keep spaces ")
    assert parse_field(_prop("merge", "separator"), "text", "   ") == (False, None)  # empty: the default applies


def test_bad_number_or_json_is_refused_with_a_sentence_naming_the_field() -> None:
    with pytest.raises(errors.ValidationFailed, match="Retries must be a number"):
        parse_field(_prop("http_request", "retries"), "number", "three")
    with pytest.raises(errors.ValidationFailed, match="Headers must be JSON"):
        parse_field(_prop("http_request", "headers"), "json", "{oops")


def test_palette_search_matches_name_description_and_category() -> None:
    everything = palette_groups("")
    assert sum(len(g.node_types) for g in everything) == len(CATALOGUE)
    assert [i.type for g in palette_groups("merge") for i in g.node_types] == ["merge"]
    assert {g.category for g in palette_groups("ai")} >= {"AI"}
    assert palette_groups("no node is called this") == []
